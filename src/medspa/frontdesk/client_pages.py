"""Staff web app: the client list with search, and one client's record with its forms.

Medical history is read only for clinical roles and only through `view_medical_history`,
so every page that shows it leaves one audit line; other roles never load it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
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
from medspa.clients.selectors import (
    client_list,
    consent_history,
    current_consents,
    likely_duplicates,
    search_clients,
)
from medspa.clients.services import (
    create_client,
    merge_clients,
    normalize_email,
    normalize_phone,
    record_communication_consent,
    record_medical_history,
    update_client,
    view_medical_history,
)
from medspa.core.audit import record_event
from medspa.core.errors import DomainError, Invalid
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
# The record shows this many of the latest contact decisions; every one is kept.
CONSENT_HISTORY_LIMIT = 50
# Older medical versions shown at once (each view is audited with the ids shown).
MEDICAL_VERSIONS_LIMIT = 20
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
    decisions = list(
        consent_history(client)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")[:CONSENT_HISTORY_LIMIT]
    )
    return {
        "client": client,
        "consent_rows": rows,
        "decisions": decisions,
        "decisions_limit": CONSENT_HISTORY_LIMIT,
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


# A new client, warned of likely duplicates first.

NEW_FIELDS = ("first_name", "last_name", "phone", "email", "birth_date", "preferred_name")


@dataclass(frozen=True)
class Duplicate:
    client: Client
    why: str  # "same phone", "same e-mail", "same name and birth date"


def _duplicates(
    who: Staff, values: dict[str, str], birth_date: date | None, *, exclude: int | None = None
) -> list[Duplicate]:
    """Up to five existing clients who are likely the same person, and why."""
    # Compared as stored (normalised); contact details that do not parse are reported later.
    phone = email = ""
    with contextlib.suppress(Invalid):
        phone = normalize_phone(values["phone"]) if values["phone"] else ""
    with contextlib.suppress(Invalid):
        email = normalize_email(values["email"]) if values["email"] else ""
    found = likely_duplicates(
        who.organization,
        first_name=values["first_name"],
        last_name=values["last_name"],
        phone=phone,
        email=email,
        birth_date=birth_date,
        exclude_id=exclude,
    )[:5]
    duplicates = []
    for client in found:
        reasons = []
        if phone and client.phone == phone:
            reasons.append("same phone")
        if email and client.email.lower() == email.lower():
            reasons.append("same e-mail")
        if birth_date and client.birth_date == birth_date:
            reasons.append("same name and birth date")
        duplicates.append(Duplicate(client, ", ".join(reasons) or "similar details"))
    return duplicates


@login_required
def new_client(request: HttpRequest) -> HttpResponse:
    """Register a client; likely duplicates are shown first, and "Create anyway" follows."""
    who = page_staff(request, "clients.create")
    values = {n: request.POST.get(n, "").strip()[:200] for n in NEW_FIELDS}
    errors: dict[str, str] = {}
    duplicates: list[Duplicate] = []
    if request.method == "POST":
        birth_date = None
        if values["birth_date"]:
            try:
                birth_date = date.fromisoformat(values["birth_date"])
            except ValueError:
                errors["birth_date"] = "Give the birth date as a date, e.g. 1990-04-23."
        if not errors and request.POST.get("confirm_duplicate") != "1":
            duplicates = _duplicates(who, values, birth_date)
        if not errors and not duplicates:
            try:
                client = create_client(
                    organization=who.organization,
                    actor=who.user,
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    phone=values["phone"],
                    email=values["email"],
                    birth_date=birth_date,
                    preferred_name=values["preferred_name"],
                )
            except DomainError as refusal:
                errors = _errors(refusal, "first_name")
            else:
                return _saved(request, client, f"{client.full_name} is registered.")
    elif request.method != "GET":
        return HttpResponse(status=405)
    context = {
        "nav": "clients",
        "new": Form(values=values, errors=errors),
        "duplicates": duplicates,
    }
    status = 422 if errors else 200
    return render(request, "frontdesk/clients/new.html", context, status=status)


# Merging a duplicate into the record: pick it, see what moves, confirm.


@dataclass(frozen=True)
class Moving:
    label: str
    count: int


def _history_of(client: Client) -> list[Moving]:
    """What refers to the client, by kind of record: what a merge would move.

    Walks the same reverse relations as `merge_clients`, so records of later apps
    (charts, consents, invoices) are counted without this page knowing them.
    """
    moving = []
    for rel in Client._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete) or rel.related_model is None:
            continue
        related: Any = rel.related_model
        if related._meta.auto_created or rel.name == "merged_from":
            continue
        field_name = rel.field.name  # type: ignore[union-attr]
        count = related._base_manager.filter(**{field_name: client}).count()
        if count:
            name = related._meta.verbose_name if count == 1 else related._meta.verbose_name_plural
            moving.append(Moving(str(name), count))
    return sorted(moving, key=lambda m: m.label)


def _merge_context(who: Staff, keep: Client, request: HttpRequest) -> dict[str, Any]:
    text = request.GET.get("q", "").strip()[:100]
    found: list[Client] = []
    if text:
        found = list(search_clients(who.organization, text).exclude(pk=keep.pk)[:20])
    suggested = _duplicates(
        who,
        {
            "first_name": keep.first_name,
            "last_name": keep.last_name,
            "phone": keep.phone,
            "email": keep.email,
        },
        keep.birth_date,
        exclude=keep.pk,
    )
    return {"nav": "clients", "client": keep, "q": text, "found": found, "suggested": suggested}


def _active_client(who: Staff, client_id: int) -> Client:
    client = _client(who, client_id)
    if not client.is_active:
        raise Http404("This record was merged into another.")
    return client


@login_required
@require_GET
def merge_pick(request: HttpRequest, client_id: int) -> HttpResponse:
    """Find the duplicate to fold into this record: likely duplicates first, or search."""
    who = page_staff(request, "clients.merge")
    keep = _active_client(who, client_id)
    wanted = request.GET.get("merge", "")
    if wanted.isdigit():
        return merge_preview(request, who, keep, int(wanted))
    return render(request, "frontdesk/clients/merge_pick.html", _merge_context(who, keep, request))


def merge_preview(
    request: HttpRequest,
    who: Staff,
    keep: Client,
    merge_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """Both records side by side and what moves; the confirm step."""
    merge = _client(who, merge_id)
    if merge.pk == keep.pk or not merge.is_active:
        raise Http404("Choose another client to merge.")
    context = {
        "nav": "clients",
        "client": keep,
        "keep": keep,
        "merge": merge,
        "moving": _history_of(merge),
        "keep_history": _history_of(keep),
        "error": error,
    }
    return render(request, "frontdesk/clients/merge_preview.html", context, status=status)


@login_required
@require_POST
def merge_confirm(request: HttpRequest, client_id: int) -> HttpResponse:
    """Merge the chosen duplicate into this record, then land on it with what moved."""
    who = page_staff(request, "clients.merge")
    keep = _active_client(who, client_id)
    raw = request.POST.get("merge", "")
    if not raw.isdigit():
        raise Http404("Choose a client to merge.")
    merge = _client(who, int(raw))
    if request.POST.get("confirmed") != "yes":
        reason = "Tick the box to confirm these records are the same person."
        return merge_preview(request, who, keep, merge.pk, error=reason, status=422)
    moving = _history_of(merge)
    try:
        merge_clients(organization=who.organization, actor=who.user, keep=keep, merge=merge)
    except DomainError as refusal:
        return merge_preview(request, who, keep, merge.pk, error=refusal.detail, status=409)
    moved = ", ".join(f"{m.count} {m.label}" for m in moving) or "no history"
    return _saved(request, keep, f"{merge.full_name} was merged into this record ({moved}).")


# Older medical-history versions: clinical roles, and every look is audited.


def _view_medical_versions(who: Staff, client: Client) -> tuple[list[MedicalHistory], int]:
    """The versions before the current one, newest first; the read is audited (ids only)."""
    with transaction.atomic():
        rows = list(
            MedicalHistory.objects.filter(client=client)
            .select_related("recorded_by")
            .order_by("-recorded_at", "-id")[1 : MEDICAL_VERSIONS_LIMIT + 1]
        )
        total = MedicalHistory.objects.filter(client=client).count()
        record_event(
            organization=who.organization,
            actor=who.user,
            action="client.medical_versions_viewed",
            object_type="client",
            object_id=client.pk,
            data={"versions": [row.pk for row in rows]},
        )
    return rows, max(total - 1, 0)


@login_required
@require_GET
def medical_versions(request: HttpRequest, client_id: int) -> HttpResponse:
    who = page_staff(request, "clients.medical")
    client = _client(who, client_id)
    rows, older = _view_medical_versions(who, client)
    context = {
        "nav": "clients",
        "client": client,
        "older_versions": [
            {
                "history": row,
                "flags": [MEDICAL_FLAGS.get(f, f) for f in row.medical_flags],
                "by": _recorded_by(row),
            }
            for row in rows
        ],
        "older_count": older,
        "limit": MEDICAL_VERSIONS_LIMIT,
    }
    template = (
        "frontdesk/clients/_medical_versions.html"
        if _is_htmx(request)
        else "frontdesk/clients/medical_versions.html"
    )
    return render(request, template, context)


urlpatterns: list[URLPattern] = [
    path("clients/", clients, name="clients"),
    path("clients/register", new_client, name="client_new"),
    path("clients/<int:client_id>/merge", merge_pick, name="client_merge"),
    path("clients/<int:client_id>/merge/confirm", merge_confirm, name="client_merge_confirm"),
    path(
        "clients/<int:client_id>/medical/versions", medical_versions, name="client_medical_versions"
    ),
    path("clients/<int:client_id>/", client_record, name="client"),
    path("clients/<int:client_id>/details", edit_details, name="client_details"),
    path("clients/<int:client_id>/consents", record_consent, name="client_consent"),
    path("clients/<int:client_id>/medical", record_medical, name="client_medical"),
]
