"""Staff web app: the client list with search, and one client's record with its forms.

Medical history is read only for clinical roles and only through `view_medical_history`,
so every page that shows it leaves one audit line; other roles never load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from medspa.clients.models import (
    MEDICAL_FLAGS,
    Channel,
    Client,
    ClientTag,
    MedicalHistory,
    PreferredChannel,
    Purpose,
)
from medspa.clients.selectors import client_list, current_consents
from medspa.clients.services import (
    record_communication_consent,
    record_medical_history,
    update_client,
    view_medical_history,
)
from medspa.core.errors import DomainError
from medspa.core.models import Organization
from medspa.core.permissions import can
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.views import page_staff
from medspa.scheduling.models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Resource,
    ResourceKind,
)

LIST_LIMIT = 50
# The record lists this many of the latest appointments; older ones stay in the calendar.
APPOINTMENT_LIMIT = 100
# Statuses of a visit that is still going to happen.
UPCOMING_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_TREATMENT,
)
DETAIL_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "pronouns",
    "phone",
    "email",
    "birth_date",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "preferred_provider",
    "preferred_channel",
    "staff_notes",
    "tags",
)


@dataclass
class Form:
    """What a form shows: the values typed, a message per field, and whether it is open."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    open: bool = False


@dataclass(frozen=True)
class Visit:
    """One appointment of the client, in its location's wall clock."""

    appointment: Appointment
    day: str
    start: str
    end: str
    zone: str
    services: str
    providers: str
    calendar_url: str


def _errors(error: DomainError, fallback: str) -> dict[str, str]:
    """The refusal's messages per field; one without a field goes on `fallback`."""
    found: dict[str, str] = {}
    for item in error.errors:
        found.setdefault(item.field, item.reason)
    return found or {fallback: error.detail}


def _day(moment: datetime) -> str:
    """A date in the location's wall clock as the clinic writes it: Tue 3 Mar 2026."""
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# The list.


def _clients(organization: Organization, text: str, tag: str) -> tuple[list[Client], int]:
    """Up to LIST_LIMIT matching clients with their next visit, and how many match in all."""
    qs = client_list(organization, text=text, tag=tag)
    if not text and not tag:
        qs = qs.order_by("-created_at", "-id")
    upcoming = Appointment.objects.filter(
        client=OuterRef("pk"), status__in=UPCOMING_STATUSES, start__gte=timezone.now()
    ).order_by("start", "id")
    qs = qs.annotate(
        next_start=Subquery(upcoming.values("start")[:1]),
        next_zone=Subquery(upcoming.values("location__time_zone")[:1]),
    )
    found = list(qs[:LIST_LIMIT])
    total = len(found) if len(found) < LIST_LIMIT else qs.count()
    for client in found:
        start = getattr(client, "next_start", None)
        zone = getattr(client, "next_zone", None)
        local = start.astimezone(ZoneInfo(zone)) if start and zone else None
        client.next_local = f"{_day(local)}, {local:%H:%M}" if local else ""  # type: ignore[attr-defined]
    return found, total


@login_required
@require_GET
def clients(request: HttpRequest) -> HttpResponse:
    """Search the clients by name, phone or e-mail; without a search, the newest ones."""
    who = page_staff(request, "clients.view")
    text = request.GET.get("q", "").strip()[:100]
    tag = slugify(request.GET.get("tag", ""))[:40]
    found, total = _clients(who.organization, text, tag)
    context = {
        "nav": "clients",
        "q": text,
        "tag": tag,
        "tags": list(
            ClientTag.objects.filter(organization=who.organization)
            .order_by("slug")
            .values_list("slug", flat=True)
            .distinct()
        ),
        "clients": found,
        "total": total,
        "limit": LIST_LIMIT,
    }
    if _is_htmx(request):
        return render(request, "frontdesk/clients/_results.html", context)
    return render(request, "frontdesk/clients/list.html", context)


# The record.


def _client(who: Staff, client_id: int) -> Client:
    """The organization's client (merged ones too, to point onwards); others' answer 404."""
    qs = Client.objects.select_related("preferred_provider", "merged_into").prefetch_related(
        "tag_rows"
    )
    try:
        return get_owned(qs, organization=who.organization, pk=client_id, field="client")
    except DomainError:
        raise Http404("No such client.") from None


def _visits(who: Staff, client: Client) -> tuple[list[Visit], list[Visit]]:
    """The client's upcoming visits (soonest first) and past ones (latest first)."""
    lines = AppointmentService.objects.select_related("service", "provider").order_by("position")
    rows = (
        Appointment.objects.filter(organization=who.organization, client=client)
        .select_related("location")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("-start", "-id")[:APPOINTMENT_LIMIT]
    )
    now = timezone.now()
    upcoming: list[Visit] = []
    past: list[Visit] = []
    for appointment in rows:
        zone = appointment.location.zone
        start = appointment.start.astimezone(zone)
        services = [line.service.name for line in appointment.lines.all()]
        providers = list(
            dict.fromkeys(line.provider.name for line in appointment.lines.all() if line.provider)
        )
        visit = Visit(
            appointment=appointment,
            day=_day(start),
            start=f"{start:%H:%M}",
            end=f"{appointment.end.astimezone(zone):%H:%M}",
            zone=f"{start:%Z}",
            services=", ".join(services),
            providers=", ".join(providers),
            calendar_url=(
                f"{reverse('frontdesk:calendar')}?location={appointment.location_id}"
                f"&date={start.date().isoformat()}"
            ),
        )
        (upcoming if appointment.end >= now else past).append(visit)
    upcoming.reverse()
    return upcoming, past


def _providers(organization: Organization) -> list[Resource]:
    return list(
        Resource.objects.filter(
            organization=organization, kind=ResourceKind.PROVIDER, is_active=True
        ).order_by("name")
    )


def _detail_values(client: Client) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(client, name) for name in DETAIL_FIELDS[:-3]}
    values["birth_date"] = client.birth_date.isoformat() if client.birth_date else ""
    values["preferred_provider"] = str(client.preferred_provider_id or "")
    values["preferred_channel"] = client.preferred_channel
    values["staff_notes"] = client.staff_notes
    values["tags"] = ", ".join(client.tags)
    return values


def _details_context(who: Staff, client: Client, form: Form | None) -> dict[str, Any]:
    return {
        "client": client,
        "details": form or Form(values=_detail_values(client)),
        "providers": _providers(who.organization),
        "channels": PreferredChannel.choices,
        "may_update": client.is_active and can(who.user, "clients.update"),
    }


def _consents_context(who: Staff, client: Client, form: Form | None) -> dict[str, Any]:
    states = {(s.channel, s.purpose): s for s in current_consents(client)}
    rows = [
        {"channel": label, "cells": [states[(channel, purpose)] for purpose in Purpose.values]}
        for channel, label in Channel.choices
    ]
    return {
        "client": client,
        "consent_rows": rows,
        "purposes": Purpose.choices,
        "channel_choices": Channel.choices,
        "consent": form or Form(values={"source": "front desk"}),
        "may_update": client.is_active and can(who.user, "clients.update"),
    }


def _medical_context(
    who: Staff,
    client: Client,
    form: Form | None,
    *,
    shown: tuple[MedicalHistory | None, int] | None = None,
) -> dict[str, Any]:
    """The medical section; the audited read happens here, and only for clinical roles."""
    if not can(who.user, "clients.medical"):
        return {"client": client}
    history, versions = shown or view_medical_history(
        organization=who.organization, actor=who.user, client=client
    )
    flags = [(key, label) for key, label in MEDICAL_FLAGS.items()]
    if form is None:
        form = Form(
            values={
                "allergies": "\n".join(history.allergies) if history else "",
                "medications": "\n".join(history.medications) if history else "",
                "medical_flags": list(history.medical_flags) if history else [],
                "notes": history.notes if history else "",
            }
        )
    return {
        "client": client,
        "history": history,
        "history_flags": [MEDICAL_FLAGS.get(f, f) for f in history.medical_flags]
        if history
        else [],
        "recorded_by": _recorded_by(history),
        "versions": versions,
        "flags": flags,
        "medical": form,
        "may_record": client.is_active,
    }


def _recorded_by(history: MedicalHistory | None) -> str:
    if history is None or history.recorded_by_id is None:
        return ""
    user = history.recorded_by
    return (user.full_name or user.email) if user else ""


def _record(
    request: HttpRequest,
    who: Staff,
    client: Client,
    *,
    details: Form | None = None,
    consent: Form | None = None,
    medical: Form | None = None,
    status: int = 200,
) -> HttpResponse:
    upcoming, past = _visits(who, client)
    context: dict[str, Any] = {
        "nav": "clients",
        "client": client,
        "upcoming": upcoming,
        "past": past,
        "appointment_limit": APPOINTMENT_LIMIT,
        "visits_truncated": len(upcoming) + len(past) >= APPOINTMENT_LIMIT,
    }
    context.update(_details_context(who, client, details))
    context.update(_consents_context(who, client, consent))
    if client.is_active:
        context.update(_medical_context(who, client, medical))
    return render(request, "frontdesk/clients/record.html", context, status=status)


@login_required
@require_GET
def client_record(request: HttpRequest, client_id: int) -> HttpResponse:
    """One client: details, consents, visits at every location and, for clinicians, medical."""
    who = page_staff(request, "clients.view")
    return _record(request, who, _client(who, client_id))


# The forms: htmx swaps the section; without it the whole page posts and redirects back.


def _saved(request: HttpRequest, client: Client, notice: str) -> HttpResponse:
    messages.success(request, notice)
    return redirect("frontdesk:client", client_id=client.pk)


def _detail_changes(post: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The edit form as `update_client` changes; what cannot be parsed goes to `errors`."""
    changes: dict[str, Any] = {name: post.get(name, "") for name in DETAIL_FIELDS}
    raw_birth = changes["birth_date"].strip()
    try:
        changes["birth_date"] = date.fromisoformat(raw_birth) if raw_birth else None
    except ValueError:
        errors["birth_date"] = "Give the birth date as a date, e.g. 1990-04-23."
    raw_provider = changes["preferred_provider"].strip()
    if raw_provider and not raw_provider.isdigit():
        errors["preferred_provider"] = "Choose a provider from the list."
    changes["preferred_provider"] = int(raw_provider) if raw_provider.isdigit() else None
    changes["tags"] = [t for t in changes["tags"].replace("\n", ",").split(",") if t.strip()]
    return changes


@login_required
@require_POST
def edit_details(request: HttpRequest, client_id: int) -> HttpResponse:
    """Change the client's identity, contact, preferences, tags and staff notes."""
    who = page_staff(request, "clients.update")
    client = _client(who, client_id)
    errors: dict[str, str] = {}
    changes = _detail_changes(request.POST, errors)
    if not errors:
        try:
            update_client(
                organization=who.organization, actor=who.user, client=client, changes=changes
            )
        except DomainError as refusal:
            errors = _errors(refusal, "first_name")
            client.refresh_from_db()
    if errors:
        form = Form(values={n: request.POST.get(n, "") for n in DETAIL_FIELDS}, errors=errors)
        form.open = True
        if _is_htmx(request):
            context = _details_context(who, client, form)
            return render(request, "frontdesk/clients/_details.html", context, status=422)
        return _record(request, who, client, details=form, status=422)
    if not _is_htmx(request):
        return _saved(request, client, "Details saved.")
    client = _client(who, client_id)
    context = {**_details_context(who, client, None), "notice": "Details saved."}
    return render(request, "frontdesk/clients/_details.html", context)


@login_required
@require_POST
def record_consent(request: HttpRequest, client_id: int) -> HttpResponse:
    """Record the client's decision about being contacted on a channel for a purpose."""
    who = page_staff(request, "clients.update")
    client = _client(who, client_id)
    values = {n: request.POST.get(n, "") for n in ("channel", "purpose", "granted", "source")}
    granted = {"yes": True, "no": False}.get(values["granted"])
    errors: dict[str, str] = {}
    try:
        record_communication_consent(
            organization=who.organization,
            actor=who.user,
            client=client,
            channel=values["channel"],
            purpose=values["purpose"],
            granted=granted,
            source=values["source"],
        )
    except DomainError as refusal:
        errors = _errors(refusal, "channel")
        if "granted" in errors:
            errors["granted"] = "Choose whether the client agrees or refuses."
        if "channel" in errors and values["channel"] not in Channel.values:
            errors["channel"] = "Choose a channel."
        if "purpose" in errors and values["purpose"] not in Purpose.values:
            errors["purpose"] = "Choose what the messages are about."
    if errors:
        form = Form(values=values, errors=errors, open=True)
        if _is_htmx(request):
            context = _consents_context(who, client, form)
            return render(request, "frontdesk/clients/_consents.html", context, status=422)
        return _record(request, who, client, consent=form, status=422)
    if not _is_htmx(request):
        return _saved(request, client, "Consent recorded.")
    context = {**_consents_context(who, client, None), "notice": "Consent recorded."}
    return render(request, "frontdesk/clients/_consents.html", context)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@login_required
@require_POST
def record_medical(request: HttpRequest, client_id: int) -> HttpResponse:
    """Record a new version of the client's allergies, medications and medical flags."""
    who = page_staff(request, "clients.medical")
    client = _client(who, client_id)
    values: dict[str, Any] = {
        "allergies": request.POST.get("allergies", ""),
        "medications": request.POST.get("medications", ""),
        "medical_flags": request.POST.getlist("medical_flags"),
        "notes": request.POST.get("notes", ""),
    }
    try:
        history = record_medical_history(
            organization=who.organization,
            actor=who.user,
            client=client,
            allergies=_lines(values["allergies"]),
            medications=_lines(values["medications"]),
            medical_flags=values["medical_flags"],
            notes=values["notes"],
        )
    except DomainError as refusal:
        form = Form(values=values, errors=_errors(refusal, "notes"), open=True)
        if _is_htmx(request):
            context = _medical_context(who, client, form)
            return render(request, "frontdesk/clients/_medical.html", context, status=422)
        return _record(request, who, client, medical=form, status=422)
    if not _is_htmx(request):
        return _saved(request, client, "Medical history recorded.")
    # Shows back what was just written (audited as recorded), without a second read.
    versions = MedicalHistory.objects.filter(client=client).count()
    context = _medical_context(who, client, None, shown=(history, versions))
    context["notice"] = "Medical history recorded."
    return render(request, "frontdesk/clients/_medical.html", context)


urlpatterns: list[URLPattern] = [
    path("clients/", clients, name="clients"),
    path("clients/<int:client_id>/", client_record, name="client"),
    path("clients/<int:client_id>/details", edit_details, name="client_details"),
    path("clients/<int:client_id>/consents", record_consent, name="client_consent"),
    path("clients/<int:client_id>/medical", record_medical, name="client_medical"),
]
