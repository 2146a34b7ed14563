"""The appointment panel: details, status actions, reschedule, staff notes and history;
and the calendar's drag to move. Every write goes through the booking service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from medspa.core.errors import DomainError, Forbidden, Invalid
from medspa.core.models import AuditEvent, Location
from medspa.core.permissions import can
from medspa.core.web import Staff, problem_response, staff
from medspa.frontdesk.views import MAX_YEAR, MIN_YEAR, frame, page_staff, refresh_calendar
from medspa.scheduling.clock import parse_moment
from medspa.scheduling.gate import MAX_OVERRIDE_REASON, MIN_OVERRIDE_REASON, GateGap, treatment_gaps
from medspa.scheduling.models import (
    TRANSITIONS,
    Appointment,
    AppointmentStatus,
    Resource,
    ResourceKind,
)
from medspa.scheduling.selectors import (
    Wanted,
    appointment_detail,
    appointment_history,
    offer_for_day,
)
from medspa.scheduling.services import (
    MOVABLE_STATUSES,
    change_status,
    reschedule_appointment,
    update_appointment_notes,
)
from medspa.scheduling.setup import schedule_setup

# The button each status move shows, in the order the day runs.
ACTIONS = [
    (AppointmentStatus.CONFIRMED, "Confirm"),
    (AppointmentStatus.CHECKED_IN, "Check in"),
    (AppointmentStatus.IN_TREATMENT, "Start"),
    (AppointmentStatus.COMPLETED, "Complete"),
    (AppointmentStatus.NO_SHOW, "No-show"),
]


# Statuses before treatment: the panel says whether the visit is ready for it.
GATED_STATUSES = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.CHECKED_IN}
)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    who: str
    what: str


def _appointment(who: Staff, pk: int) -> Appointment:
    try:
        return appointment_detail(who.organization, pk)
    except DomainError:
        raise Http404("No such appointment.") from None


def _when(value: Any, location: Location) -> str:
    try:
        moment = datetime.fromisoformat(str(value)).astimezone(location.zone)
    except ValueError:
        return str(value)
    return f"{moment:%a %b} {moment.day}, {moment:%H:%M}"


def _describe(event: AuditEvent, location: Location, names: dict[int, str]) -> str:
    """One audit event of the appointment in the front desk's words."""
    data = event.data or {}
    verb = event.action.removeprefix("appointment.")
    if verb == "booked":
        return f"Booked for {_when(data.get('start'), location)}"
    if verb == "rescheduled":
        before, after = data.get("from", {}), data.get("to", {})
        moved = (
            f"Moved from {_when(before.get('start'), location)} "
            f"to {_when(after.get('start'), location)}"
        )
        was, now = before.get("providers"), after.get("providers")
        if was != now and now:
            moved += " with " + ", ".join(names.get(p, "any provider") for p in now if p)
        return moved
    if verb == "notes_changed":
        return "Staff notes changed"
    if verb == "gate_overridden":
        missing = len(data.get("missing", []))
        return (
            f"Treatment started by a manager's override "
            f"({missing} gate item{'s' if missing != 1 else ''} open)"
        )
    if event.action.startswith("billing."):
        # Deposits and fees of the visit (frontdesk/deposit_pages.py words them).
        from medspa.frontdesk.deposit_pages import describe_event

        told = describe_event(event.action, data, location.organization.currency)
        if told is not None:
            return told
    if verb in AppointmentStatus.values:
        label = AppointmentStatus(verb).label
        reason = data.get("reason")
        return f"{label}: {reason}" if reason else label
    return event.action


def history(who: Staff, appointment: Appointment) -> list[HistoryLine]:
    names = {pk: r.name for pk, r in schedule_setup(who.organization).resources.items()}
    return [
        HistoryLine(
            at=event.at.astimezone(appointment.location.zone),
            who=(event.actor.full_name or event.actor.email) if event.actor else "System",
            what=_describe(event, appointment.location, names),
        )
        for event in appointment_history(who.organization, appointment)
    ]


def _panel_context(who: Staff, appointment: Appointment) -> dict[str, Any]:
    user = who.user
    allowed = set(TRANSITIONS.get(appointment.status, frozenset()))
    # Offer only what the booking service would accept now: check in on the day itself,
    # no-show once the appointment has started.
    now = timezone.now()
    zone = appointment.location.zone
    if appointment.start.astimezone(zone).date() != now.astimezone(zone).date():
        allowed.discard(AppointmentStatus.CHECKED_IN)
    if now < appointment.start:
        allowed.discard(AppointmentStatus.NO_SHOW)
    actions = (
        [(status, label) for status, label in ACTIONS if status in allowed]
        if can(user, "appointments.status")
        else []
    )
    reservations = list(appointment.reservations.all())
    # Readiness is shown before anyone presses Start, from the same check the service runs.
    gaps: list[GateGap] | None = (
        treatment_gaps(appointment) if appointment.status in GATED_STATUSES else None
    )
    may_start = AppointmentStatus.IN_TREATMENT in {status for status, _ in actions}
    return {
        "appointment": appointment,
        "local_start": appointment.start.astimezone(appointment.location.zone),
        "local_end": appointment.end.astimezone(appointment.location.zone),
        "lines": list(appointment.lines.all()),
        "held": sorted(
            {r.resource for r in reservations if r.resource.kind != ResourceKind.PROVIDER},
            key=lambda r: (r.kind, r.name),
        ),
        "actions": actions,
        "may_cancel": can(user, "appointments.cancel") and AppointmentStatus.CANCELLED in allowed,
        "may_move": can(user, "appointments.reschedule") and appointment.status in MOVABLE_STATUSES,
        "may_note": can(user, "appointments.status"),
        "history": history(who, appointment),
        "gaps": gaps,
        "may_start": may_start,
        "may_override": may_start and bool(gaps) and can(user, "treatment.override"),
        "override_min": MIN_OVERRIDE_REASON,
        "override_max": MAX_OVERRIDE_REASON,
    }


def panel_response(
    request: HttpRequest,
    who: Staff,
    pk: int,
    *,
    notice: str = "",
    error: str = "",
    trigger: str | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The appointment panel, optionally telling an open calendar to reload."""
    appointment = _appointment(who, pk)
    context = {
        **_panel_context(who, appointment),
        **frame(request),
        "notice": notice,
        "error": error,
        **(extra or {}),
    }
    response = render(request, "frontdesk/appointment.html", context, status=status)
    if trigger:
        response["HX-Trigger"] = trigger
    return response


@login_required
@require_GET
def panel(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "schedule.view")
    return panel_response(request, who, pk)


@login_required
@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, check in, start (through the gate, or a manager's override), complete,
    no-show, or cancel with a reason."""
    wanted = request.POST.get("status", "")
    action = (
        "appointments.cancel" if wanted == AppointmentStatus.CANCELLED else "appointments.status"
    )
    who = page_staff(request, action)
    appointment = _appointment(who, pk)
    override_reason = request.POST.get("override_reason", "")[: MAX_OVERRIDE_REASON + 1]
    try:
        changed = change_status(
            appointment=appointment,
            actor=who.user,
            status=wanted,
            reason=request.POST.get("reason", "")[:300],
            override_reason=override_reason,
        )
    except DomainError as refusal:
        field = refusal.errors[0].field if refusal.errors else ""
        gate = refusal.code == "treatment_gate"
        return panel_response(
            request,
            who,
            pk,
            # The gate's refusal is the checklist itself: no red message above it.
            error="" if gate or field == "override_reason" else refusal.detail,
            status=refusal.status,
            extra={
                "cancel_error": refusal.detail if field == "reason" else "",
                "gate_refused": gate,
                "override_error": refusal.detail if field == "override_reason" else "",
                "override_draft": override_reason.strip(),
            },
        )
    overridden = bool(override_reason.strip()) and changed.gate_overrides.exists()
    return panel_response(
        request,
        who,
        pk,
        notice="Treatment started by override; the reason is on record."
        if overridden
        else f"{AppointmentStatus(changed.status).label}.",
        trigger=refresh_calendar(),
    )


@login_required
@require_POST
def save_notes(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "appointments.status")
    appointment = _appointment(who, pk)
    try:
        update_appointment_notes(
            appointment=appointment, actor=who.user, notes=request.POST.get("notes", "")
        )
    except DomainError as refusal:
        return panel_response(
            request,
            who,
            pk,
            status=refusal.status,
            extra={"notes_error": refusal.detail, "notes_draft": request.POST.get("notes", "")},
        )
    return panel_response(request, who, pk, notice="Notes saved.")


# ---- reschedule from the panel: the engine's starts for another day or provider ----------


def _reschedule_context(who: Staff, appointment: Appointment, params: Any) -> dict[str, Any]:
    setup = schedule_setup(who.organization)
    location = appointment.location
    lines = list(appointment.lines.all())
    try:
        day = date.fromisoformat(params.get("date", ""))
    except ValueError:
        day = appointment.start.astimezone(location.zone).date()
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        day = appointment.start.astimezone(location.zone).date()
    provider: Resource | None = lines[0].provider if lines else None
    if "provider" in params:
        chosen = params.get("provider")
        provider = setup.resources.get(int(chosen)) if str(chosen).isdigit() else None
        if provider is not None and provider.kind != ResourceKind.PROVIDER:
            provider = None
    wanted = [
        Wanted(line.service, provider if i == 0 else line.provider) for i, line in enumerate(lines)
    ]
    offer = offer_for_day(
        organization=who.organization,
        location=location,
        wanted=wanted,
        day=day,
        now=timezone.now(),
        moving=appointment.pk,
    )
    return {
        "appointment": appointment,
        "day": day,
        "provider": provider,
        "providers": setup.resources_at(location.pk, {ResourceKind.PROVIDER}),
        "offer": offer,
        "location": location,
    }


@login_required
@require_GET
def reschedule_form(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "appointments.reschedule")
    appointment = _appointment(who, pk)
    context = {**_reschedule_context(who, appointment, request.GET), **frame(request)}
    return render(request, "frontdesk/reschedule.html", context)


@login_required
@require_POST
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "appointments.reschedule")
    appointment = _appointment(who, pk)
    setup = schedule_setup(who.organization)
    value = request.POST.get("start", "")
    moment, _, pins = value.partition("|")
    try:
        start = datetime.fromisoformat(moment)
        if start.tzinfo is None:
            raise ValueError(moment)
        providers: list[Resource | None] = [
            setup.provider(p, "provider") if p else None for p in pins.split(",")
        ]
        reschedule_appointment(
            appointment=appointment,
            actor=who.user,
            start=start,
            providers=providers if len(providers) == appointment.lines.count() else None,
        )
    except (ValueError, DomainError) as refusal:
        reason = (
            refusal.detail if isinstance(refusal, DomainError) else "Choose one of the free times."
        )
        context = {
            **_reschedule_context(who, appointment, request.POST),
            **frame(request),
            "error": reason,
        }
        return render(request, "frontdesk/reschedule.html", context, status=422)
    return panel_response(request, who, pk, notice="Moved.", trigger=refresh_calendar())


# ---- drag to move on the calendar ---------------------------------------------------------


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """A drop on the calendar: shift the whole appointment by how far one reservation moved.

    Dropping into another provider's column hands that provider's services to the new one;
    rooms and devices are always chosen by the schedule.
    """
    try:
        who = staff(request, "appointments.reschedule")
    except Forbidden as refusal:
        return problem_response(refusal)
    try:
        appointment = appointment_detail(who.organization, pk)
        moved = _moved_reservation(appointment, request.POST.get("reservation", ""))
        location = appointment.location
        new_start = parse_moment(request.POST.get("start", ""), location, "start")
        shift = new_start - moved.start
        providers = None
        target = request.POST.get("resource", "")
        if target and target != str(moved.resource_id):
            if moved.role != ResourceKind.PROVIDER:
                raise Invalid.on(
                    "resource",
                    "Rooms and devices are assigned by the schedule: move the time only, "
                    "or change the provider in the Providers view.",
                )
            to = schedule_setup(who.organization).provider(target, "resource")
            providers = [
                to if line.provider_id == moved.resource_id else line.provider
                for line in appointment.lines.all()
            ]
        changed = reschedule_appointment(
            appointment=appointment,
            actor=who.user,
            start=appointment.start + shift,
            providers=providers,
        )
    except DomainError as refusal:
        return problem_response(refusal)
    local = changed.start.astimezone(location.zone)
    return JsonResponse(
        {"id": changed.pk, "detail": f"Moved to {local:%a %b} {local.day}, {local:%H:%M}."}
    )


def _moved_reservation(appointment: Appointment, value: str) -> Any:
    wanted = value.removeprefix("r")
    for reservation in appointment.reservations.all():
        if str(reservation.pk) == wanted:
            return reservation
    raise Invalid.on("reservation", "That part of the appointment is no longer on the calendar.")


urlpatterns: list[URLPattern] = [
    path("calendar/appointments/<int:pk>/", panel, name="appointment"),
    path("calendar/appointments/<int:pk>/status", set_status, name="appointment_status"),
    path("calendar/appointments/<int:pk>/notes", save_notes, name="appointment_notes"),
    path("calendar/appointments/<int:pk>/reschedule", reschedule_form, name="reschedule_form"),
    path("calendar/appointments/<int:pk>/reschedule/confirm", reschedule, name="reschedule"),
    path("calendar/appointments/<int:pk>/move", move, name="appointment_move"),
]
