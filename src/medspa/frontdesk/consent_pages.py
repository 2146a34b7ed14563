"""Staff side of consent: the appointment panel's Consents section, a signed consent's PDF,
and the Consents page where managers write, version and publish consent texts.

The section shows states and who signed when, never the drawn signature; each load is an
audited read. The signing itself happens on the client's visit page (`portal`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medspa.catalog.models import Service
from medspa.clinical import consent
from medspa.clinical.consent_pdf import pdf_filename, view_signature_pdf
from medspa.clinical.links import visit_path
from medspa.clinical.models import ConsentTemplate, ConsentTemplateVersion
from medspa.core.errors import DomainError
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.views import page_staff
from medspa.scheduling.models import Appointment, AppointmentStatus

CLOSED = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW})
BODY_ROWS = 14


def _appointment(who: Staff, pk: int) -> Appointment:
    try:
        return get_owned(
            Appointment.objects.select_related("location", "organization"),
            organization=who.organization,
            pk=pk,
            field="appointment",
        )
    except DomainError:
        raise Http404("No such appointment.") from None


# --- The appointment panel's section ---------------------------------------------------------


@login_required
@require_GET
def section(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel's Consents section, loaded lazily by the appointment panel."""
    who = page_staff(request, "consent.view")
    appointment = _appointment(who, pk)
    statuses = consent.view_consent_statuses(appointment=appointment, actor=who.user)
    closed = appointment.status in CLOSED
    context = {
        "appointment": appointment,
        "statuses": statuses,
        "unsigned": sum(1 for s in statuses if not s.need.satisfied),
        "tablet_url": visit_path(appointment) if statuses and not closed else "",
        "closed": closed,
    }
    return render(request, "frontdesk/consent/section.html", context)


@login_required
@require_GET
def signature_pdf(request: HttpRequest, signature_id: int) -> HttpResponse:
    """A signed consent as a PDF, opened from the panel; an audited read."""
    who = page_staff(request, "consent.view")
    try:
        signature, pdf = view_signature_pdf(who.organization, signature_id, actor=who.user)
    except DomainError:
        raise Http404("No such signed consent.") from None
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(signature)}"'
    response["Cache-Control"] = "no-store"
    return response


# --- The Consents page (managers) -------------------------------------------------------------


def _services(who: Staff) -> list[Service]:
    return list(Service.objects.filter(organization=who.organization).only("id", "name"))


def _ids(values: Iterable[str]) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        return [-1]  # not a service of anyone's: the service answers "no such service"


def _valid_days(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return 0  # out of range: the service explains the allowed range


def _errors(refusal: DomainError) -> dict[str, str]:
    return {e.field: e.reason for e in refusal.errors} or {"general": refusal.detail}


@login_required
@require_http_methods(["GET", "POST"])
def templates(request: HttpRequest) -> HttpResponse:
    """Every consent with its current version; a form to start a new one."""
    who = page_staff(request, "consent.manage")
    errors: dict[str, str] = {}
    given: dict[str, Any] = {"name": "", "valid_days": "", "services": []}
    status = 200
    if request.method == "POST":
        given = {
            "name": request.POST.get("name", "")[:300],
            "valid_days": request.POST.get("valid_days", "")[:10],
            "services": request.POST.getlist("services")[:200],
        }
        try:
            created = consent.create_template(
                organization=who.organization,
                actor=who.user,
                name=given["name"],
                valid_days=_valid_days(given["valid_days"]),
                service_ids=_ids(given["services"]),
            )
        except DomainError as refusal:
            errors, status = _errors(refusal), refusal.status if refusal.status != 404 else 422
        else:
            return redirect("frontdesk:consent_template", created.pk)
    rows = []
    for template in consent.template_list(who.organization):
        versions = list(template.versions.all())
        published = [v for v in versions if v.published_at is not None]
        rows.append(
            {
                "template": template,
                "current": published[-1] if published else None,
                "draft": next((v for v in versions if v.published_at is None), None),
                "services": list(template.services.all()),
            }
        )
    context = {
        "nav": "consents",
        "rows": rows,
        "services": _services(who),
        "given": given,
        "chosen": {str(s) for s in given["services"]},
        "errors": errors,
    }
    return render(request, "frontdesk/consent/list.html", context, status=status)


def _template(who: Staff, pk: int) -> ConsentTemplate:
    try:
        return consent.template_detail(who.organization, pk)
    except DomainError:
        raise Http404("No such consent.") from None


def _detail(
    request: HttpRequest,
    who: Staff,
    template: ConsentTemplate,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    draft_given: dict[str, Any] | None = None,
    settings_given: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    versions = list(template.versions.all())
    published = [v for v in versions if v.published_at is not None]
    draft = next((v for v in versions if v.published_at is None), None)
    attached = [s.pk for s in template.services.all()]
    context = {
        "nav": "consents",
        "template": template,
        "history": list(reversed(published)),
        "current": published[-1] if published else None,
        "draft": draft,
        "draft_given": draft_given
        or (
            {
                "title": draft.title,
                "body": draft.body,
                "requires_resignature": draft.requires_resignature,
            }
            if draft
            else {}
        ),
        "settings_given": settings_given
        or {
            "valid_days": "" if template.valid_days is None else str(template.valid_days),
            "services": [str(pk) for pk in attached],
            "is_active": template.is_active,
        },
        "services": _services(who),
        "notice": notice or request.GET.get("notice", "")[:200],
        "errors": errors or {},
        "body_rows": BODY_ROWS,
        "first_version": not published,
    }
    return render(request, "frontdesk/consent/detail.html", context, status=status)


NOTICES = {
    "saved": "Draft saved.",
    "published": "Published. Clients sign this text from now on.",
    "started": "New draft started from the current text.",
    "settings": "Settings saved.",
}


def _back(template: ConsentTemplate, notice: str) -> HttpResponse:
    url = reverse("frontdesk:consent_template", args=[template.pk])
    return redirect(f"{url}?notice={notice}")


@login_required
@require_GET
def template_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One consent: its published versions, its draft, and its settings."""
    who = page_staff(request, "consent.manage")
    template = _template(who, pk)
    notice = NOTICES.get(request.GET.get("notice", ""), "")
    return _detail(request, who, template, notice=notice)


@login_required
@require_POST
def start_version(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the next version as a draft holding the current text."""
    who = page_staff(request, "consent.manage")
    template = _template(who, pk)
    try:
        consent.start_draft(organization=who.organization, actor=who.user, template=template)
    except DomainError as refusal:
        return _detail(
            request,
            who,
            _template(who, pk),
            errors=_errors(refusal),
            status=refusal.status,
        )
    return _back(template, "started")


@login_required
@require_POST
def save_draft(request: HttpRequest, pk: int, version_id: int) -> HttpResponse:
    """Save the draft's text; with "publish", publish it too (both or nothing)."""
    who = page_staff(request, "consent.manage")
    template = _template(who, pk)
    try:
        version = consent.version_detail(who.organization, version_id)
    except DomainError:
        raise Http404("No such version.") from None
    if version.template_id != template.pk:
        raise Http404("No such version.")
    given: dict[str, Any] = {
        "title": request.POST.get("title", "")[:300],
        "body": request.POST.get("body", "")[: consent.MAX_BODY + 1],
        "requires_resignature": request.POST.get("requires_resignature") == "on",
    }
    publish = request.POST.get("action") == "publish"
    try:
        _save_and_maybe_publish(who, version, given, publish=publish)
    except DomainError as refusal:
        return _detail(
            request,
            who,
            _template(who, pk),
            errors=_errors(refusal),
            draft_given=given,
            status=refusal.status,
        )
    return _back(template, "published" if publish else "saved")


def _save_and_maybe_publish(
    who: Staff, version: ConsentTemplateVersion, given: dict[str, Any], *, publish: bool
) -> None:
    # One form, one outcome: a refused publish leaves the draft as it was before the click.
    with transaction.atomic():
        consent.edit_draft(organization=who.organization, actor=who.user, version=version, **given)
        if publish:
            consent.publish_version(organization=who.organization, actor=who.user, version=version)


@login_required
@require_POST
def save_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """How long a signature counts, which services ask for the consent, whether it is in use."""
    who = page_staff(request, "consent.manage")
    template = _template(who, pk)
    given: dict[str, Any] = {
        "valid_days": request.POST.get("valid_days", "")[:10],
        "services": request.POST.getlist("services")[:200],
        "is_active": request.POST.get("is_active") == "on",
    }
    wanted = set(_ids(given["services"]))
    attached = {s.pk for s in template.services.all()}
    try:
        _save_settings(who, template, given, wanted=wanted, attached=attached)
    except DomainError as refusal:
        return _detail(
            request,
            who,
            _template(who, pk),
            errors=_errors(refusal),
            settings_given=given,
            status=422 if refusal.status == 404 else refusal.status,
        )
    return _back(template, "settings")


def _save_settings(
    who: Staff,
    template: ConsentTemplate,
    given: dict[str, Any],
    *,
    wanted: set[int],
    attached: set[int],
) -> None:
    days = _valid_days(given["valid_days"])
    with transaction.atomic():
        consent.update_template(
            organization=who.organization,
            actor=who.user,
            template=template,
            valid_days=days,
            clear_valid_days=days is None,
            is_active=given["is_active"],
        )
        if wanted - attached:
            consent.attach_services(
                organization=who.organization,
                actor=who.user,
                template=template,
                service_ids=wanted - attached,
            )
        if attached - wanted:
            consent.detach_services(
                organization=who.organization,
                actor=who.user,
                template=template,
                service_ids=attached - wanted,
            )


urlpatterns: list[URLPattern] = [
    path("calendar/appointments/<int:pk>/consent", section, name="visit_consent"),
    path("consents/signatures/<int:signature_id>.pdf", signature_pdf, name="consent_pdf"),
    path("consents/", templates, name="consents"),
    path("consents/<int:pk>/", template_page, name="consent_template"),
    path("consents/<int:pk>/versions/new", start_version, name="consent_version_new"),
    path(
        "consents/<int:pk>/versions/<int:version_id>",
        save_draft,
        name="consent_version_save",
    ),
    path("consents/<int:pk>/settings", save_settings, name="consent_settings"),
]
