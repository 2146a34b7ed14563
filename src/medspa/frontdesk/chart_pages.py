"""The chart of a visit for clinical staff: notes, injectables on the face diagram, device
settings, photos, aftercare, signing and addenda; and the chart's lazy sections on the
appointment panel and the client record. Every write goes through clinical.charting."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from medspa.clients.models import MEDICAL_FLAGS, Client
from medspa.clients.services import view_medical_history
from medspa.clinical import charting, face_sites
from medspa.clinical.models import Chart, DoseUnit, InjectableKind, PhotoKind
from medspa.core.errors import DomainError, Invalid
from medspa.core.permissions import can
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.views import page_staff
from medspa.scheduling.models import Appointment, Resource, ResourceKind

ENTRY_FIELDS = ("kind", "product", "quantity", "unit", "lot_number", "expiry")
DEVICE_FIELDS = ("device", "area", "fluence", "pulse_width_ms", "spot_size_mm", "passes")


def _appointment(who: Staff, pk: int) -> Appointment:
    try:
        return charting.appointment_for_chart(who.organization, pk)
    except DomainError:
        raise Http404("No such appointment.") from None


def _chart_or_404(who: Staff, appointment: Appointment) -> Chart:
    chart = Chart.objects.filter(organization=who.organization, appointment=appointment).first()
    if chart is None:
        raise Http404("This visit has no chart yet.")
    return chart


def _errors(refusal: DomainError, fallback: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in refusal.errors:
        found.setdefault(item.field.split(".")[0], item.reason)
    return found or {fallback: refusal.detail}


def _sites_posted(post: Any) -> list[dict[str, str]]:
    """The ticked sites of the diagram's list, with the amount typed beside each."""
    return [
        {"site": name, "quantity": post.get(f"units_{name}", "").strip()}
        for name in post.getlist("site")
        if name in face_sites.BY_NAME
    ][: len(face_sites.SITES)]


def _devices(who: Staff, appointment: Appointment) -> list[Resource]:
    return list(
        Resource.objects.filter(
            organization=who.organization,
            kind=ResourceKind.DEVICE,
            location=appointment.location,
            is_active=True,
        ).order_by("name")
    )


def _page(
    request: HttpRequest,
    who: Staff,
    appointment: Appointment,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    chart = charting.view_chart(
        organization=who.organization, actor=who.user, appointment=appointment
    )
    history, _ = view_medical_history(
        organization=who.organization, actor=who.user, client=appointment.client
    )
    if chart is not None:
        for entry in chart.injectables.all():
            entry.site_text = ", ".join(  # type: ignore[attr-defined]
                face_sites.BY_NAME[s["site"]].label
                + (f" {s['quantity']}" if "quantity" in s else "")
                for s in entry.sites
                if s.get("site") in face_sites.BY_NAME
            )
    zone = appointment.location.zone
    values = values or {}
    ticked = {s["site"]: s["quantity"] for s in values.get("sites", [])}
    locked = chart is not None and chart.is_locked
    may_write = can(who.user, "chart.write") and not locked
    templates = charting.templates_for(who.organization, appointment) if chart else []
    previews = [(t, *charting.render_aftercare(chart, appointment, t)) for t in templates if chart]
    context = {
        "nav": "calendar",
        "appointment": appointment,
        "client": appointment.client,
        "local_start": appointment.start.astimezone(zone),
        "lines": list(appointment.lines.all()),
        "chart": chart,
        "locked": locked,
        "may_write": may_write,
        "may_open": can(who.user, "chart.write"),
        "may_sign": chart is not None and not locked and can(who.user, "chart.sign"),
        "may_addendum": locked and can(who.user, "chart.addendum"),
        "may_send": chart is not None and can(who.user, "aftercare.send"),
        "history": history,
        "history_flags": [MEDICAL_FLAGS.get(f, f) for f in history.medical_flags]
        if history
        else [],
        "sites": [
            {
                "name": s.name,
                "label": s.label,
                "cx": round(s.x * 300, 1),
                "cy": round(s.y * 390, 1),
                "on": s.name in ticked,
                "units": ticked.get(s.name, ""),
            }
            for s in face_sites.SITES
        ],
        "products": charting.PRODUCTS,
        "kinds": InjectableKind.choices,
        "units": DoseUnit.choices,
        "photo_kinds": PhotoKind.choices,
        "devices": _devices(who, appointment) if may_write else [],
        "previews": previews,
        "form": form,
        "errors": errors or {},
        "values": values,
    }
    return render(request, "frontdesk/chart/page.html", context, status=status)


def _refused(
    request: HttpRequest,
    who: Staff,
    appointment: Appointment,
    refusal: DomainError,
    form: str,
    values: dict[str, Any],
    fallback: str,
) -> HttpResponse:
    return _page(
        request,
        who,
        appointment,
        form=form,
        errors=_errors(refusal, fallback),
        values=values,
        status=refusal.status if refusal.status in (409, 422) else 422,
    )


def _done(request: HttpRequest, appointment: Appointment, notice: str, anchor: str) -> HttpResponse:
    messages.success(request, notice)
    return redirect(f"/appointments/{appointment.pk}/chart/#{anchor}")


@login_required
@require_GET
def chart_page(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.view")
    return _page(request, who, _appointment(who, pk))


@login_required
@require_POST
def open_chart(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    try:
        charting.open_chart(appointment=appointment, actor=who.user)
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "open", {}, "appointment")
    return _done(request, appointment, "Chart started.", "notes")


@login_required
@require_POST
def save_notes(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    notes = request.POST.get("notes", "")
    try:
        charting.update_chart_notes(
            chart=_chart_or_404(who, appointment), actor=who.user, notes=notes
        )
    except DomainError as refusal:
        values = {"notes": notes}
        return _refused(request, who, appointment, refusal, "notes", values, "notes")
    return _done(request, appointment, "Notes saved.", "notes")


@login_required
@require_POST
def add_entry(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    values: dict[str, Any] = {name: request.POST.get(name, "").strip() for name in ENTRY_FIELDS}
    values["sites"] = _sites_posted(request.POST)
    try:
        try:
            expiry = date.fromisoformat(values["expiry"]) if values["expiry"] else None
        except ValueError:
            raise Invalid.on("expiry", "Give the expiry as a date.") from None
        charting.add_injectable(
            chart=_chart_or_404(who, appointment),
            actor=who.user,
            kind=values["kind"],
            product=values["product"],
            quantity=values["quantity"],
            unit=values["unit"],
            lot_number=values["lot_number"],
            expiry=expiry,
            sites=values["sites"],
        )
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "entry", values, "product")
    return _done(request, appointment, f"{values['product']} charted.", "injectables")


@login_required
@require_POST
def remove_entry(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    try:
        charting.remove_injectable(
            chart=_chart_or_404(who, appointment), actor=who.user, entry_id=entry_id
        )
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "entry", {}, "product")
    return _done(request, appointment, "Entry removed.", "injectables")


@login_required
@require_POST
def add_device(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    values = {name: request.POST.get(name, "").strip() for name in DEVICE_FIELDS}
    try:
        charting.add_device_setting(
            chart=_chart_or_404(who, appointment),
            actor=who.user,
            device_id=values["device"],
            area=values["area"],
            fluence=values["fluence"],
            pulse_width_ms=values["pulse_width_ms"],
            spot_size_mm=values["spot_size_mm"],
            passes=values["passes"],
        )
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "device", values, "device")
    return _done(request, appointment, "Device settings charted.", "devices")


@login_required
@require_POST
def remove_device(request: HttpRequest, pk: int, setting_id: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    try:
        charting.remove_device_setting(
            chart=_chart_or_404(who, appointment), actor=who.user, setting_id=setting_id
        )
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "device", {}, "device")
    return _done(request, appointment, "Device settings removed.", "devices")


@login_required
@require_POST
def add_photo(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.write")
    appointment = _appointment(who, pk)
    values = {"kind": request.POST.get("kind", ""), "area": request.POST.get("area", "")[:100]}
    upload = request.FILES.get("photo")
    try:
        if upload is None:
            raise Invalid.on("photo", "Choose a photo to upload.")
        charting.add_photo(
            chart=_chart_or_404(who, appointment),
            actor=who.user,
            upload=upload,
            kind=values["kind"],
            area=values["area"],
        )
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "photo", values, "photo")
    return _done(request, appointment, "Photo added.", "photos")


@login_required
@require_POST
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.sign")
    appointment = _appointment(who, pk)
    try:
        charting.sign_chart(chart=_chart_or_404(who, appointment), actor=who.user)
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "sign", {}, "chart")
    return _done(request, appointment, "Chart signed and locked.", "chart-status")


@login_required
@require_POST
def add_addendum(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "chart.addendum")
    appointment = _appointment(who, pk)
    text = request.POST.get("text", "")
    try:
        charting.add_addendum(chart=_chart_or_404(who, appointment), actor=who.user, text=text)
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "addendum", {"text": text}, "text")
    return _done(request, appointment, "Addendum added.", "addenda")


@login_required
@require_POST
def send_aftercare(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "aftercare.send")
    appointment = _appointment(who, pk)
    try:
        sent = charting.send_aftercare(
            chart=_chart_or_404(who, appointment),
            actor=who.user,
            template_id=request.POST.get("template", ""),
        )
    except DomainError as refusal:
        return _refused(request, who, appointment, refusal, "aftercare", {}, "template")
    return _done(request, appointment, f"Aftercare sent to {sent.sent_to}.", "aftercare")


def _photo(request: HttpRequest, photo_id: int, *, thumbnail: bool) -> HttpResponse:
    who = page_staff(request, "chart.view")
    try:
        data, content_type = charting.read_photo(
            organization=who.organization, actor=who.user, photo_id=photo_id, thumbnail=thumbnail
        )
    except DomainError:
        raise Http404("No such photo.") from None
    response = HttpResponse(data, content_type=content_type)
    # Clinical images never sit in a shared or disk cache.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    return _photo(request, photo_id, thumbnail=False)


@login_required
@require_GET
def thumbnail(request: HttpRequest, photo_id: int) -> HttpResponse:
    return _photo(request, photo_id, thumbnail=True)


@login_required
@require_GET
def panel_section(request: HttpRequest, pk: int) -> HttpResponse:
    """The appointment panel's chart line: status and a link, or billing's charges."""
    who = page_staff(request, "schedule.view")
    appointment = _appointment(who, pk)
    context: dict[str, Any] = {"appointment": appointment}
    if can(who.user, "chart.view"):
        context["chart"] = (
            Chart.objects.filter(organization=who.organization, appointment=appointment)
            .select_related("signed_by")
            .only("id", "status", "signed_at", "signed_by__full_name", "signed_by__email")
            .first()
        )
        context["zone"] = appointment.location.time_zone
        context["may_view"] = True
    elif can(who.user, "chart.charges"):
        context["charges"] = charting.chart_charges(
            organization=who.organization, actor=who.user, appointment=appointment
        )
    else:
        return HttpResponse("")
    return render(request, "frontdesk/chart/_panel.html", context)


@login_required
@require_GET
def client_section(request: HttpRequest, client_id: int) -> HttpResponse:
    """The client record's card of charts and photos, for clinical roles."""
    who = page_staff(request, "chart.view")
    try:
        client = get_owned(Client, organization=who.organization, pk=client_id, field="client")
    except DomainError:
        raise Http404("No such client.") from None
    found = charting.client_charts(organization=who.organization, actor=who.user, client=client)
    # Hundreds of photos: two reversals, then string formatting, instead of a {% url %} each.
    image = reverse("frontdesk:chart_photo_image", args=[_PHOTO_ID])
    thumbnail = reverse("frontdesk:chart_photo_thumbnail", args=[_PHOTO_ID])
    charts = [
        {
            "chart": chart,
            "photos": [
                (
                    image.replace(str(_PHOTO_ID), str(pid)),
                    thumbnail.replace(str(_PHOTO_ID), str(pid)),
                    f"Photo {n} of {day.day} {day:%b %Y}",
                )
                for n, pid in enumerate(chart.photo_ids, start=1)
                for day in [timezone.localtime(chart.start)]
            ],
        }
        for chart in found
    ]
    return render(request, "frontdesk/chart/_client.html", {"client": client, "charts": charts})


_PHOTO_ID = 987654321


urlpatterns: list[URLPattern] = [
    path("appointments/<int:pk>/chart/", chart_page, name="chart"),
    path("appointments/<int:pk>/chart/open", open_chart, name="chart_open"),
    path("appointments/<int:pk>/chart/notes", save_notes, name="chart_notes"),
    path("appointments/<int:pk>/chart/injectables", add_entry, name="chart_entry"),
    path(
        "appointments/<int:pk>/chart/injectables/<int:entry_id>/remove",
        remove_entry,
        name="chart_entry_remove",
    ),
    path("appointments/<int:pk>/chart/devices", add_device, name="chart_device"),
    path(
        "appointments/<int:pk>/chart/devices/<int:setting_id>/remove",
        remove_device,
        name="chart_device_remove",
    ),
    path("appointments/<int:pk>/chart/photos", add_photo, name="chart_photo"),
    path("appointments/<int:pk>/chart/sign", sign, name="chart_sign"),
    path("appointments/<int:pk>/chart/addenda", add_addendum, name="chart_addendum"),
    path("appointments/<int:pk>/chart/aftercare", send_aftercare, name="chart_aftercare"),
    path("appointments/<int:pk>/chart/summary", panel_section, name="chart_panel"),
    path("charts/photos/<int:photo_id>/", photo, name="chart_photo_image"),
    path("charts/photos/<int:photo_id>/thumbnail", thumbnail, name="chart_photo_thumbnail"),
    path("clients/<int:client_id>/charts", client_section, name="client_charts"),
]
