"""The booking service: book, reschedule, cancel and move appointments through their statuses.

Every write runs in one transaction that re-checks availability before it writes. On SQLite
the transaction starts with BEGIN IMMEDIATE (settings), so the check and the insert of
reservations can never interleave with another booking; on PostgreSQL an exclusion
constraint over (resource, time range) of active reservations refuses any overlap that a
concurrent transaction slipped in, and we turn that refusal into SlotTaken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from medspa.clients.models import Client
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, SlotTaken
from medspa.core.models import Location, Organization, User
from medspa.core.permissions import can
from medspa.scheduling import engine, signals
from medspa.scheduling.gate import MAX_OVERRIDE_REASON, MIN_OVERRIDE_REASON, treatment_gaps
from medspa.scheduling.models import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Reservation,
    Resource,
    ResourceKind,
)
from medspa.scheduling.plans import PROVIDER, line_index, line_spans, role_kind
from medspa.scheduling.selectors import Wanted, find_availability, from_ts

# A booking that lets the engine choose resources retries when a concurrent booking took
# the one it chose: each failure means another booking committed, so the retry sees less
# free and either finds another resource or answers 409. Rooms and devices are chosen by
# the engine even when the provider is pinned, so every booking may retry.
MAX_ATTEMPTS = 12
MOVABLE_STATUSES = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED})


def _access(organization: Organization, *records: Model | None) -> None:
    """Refuse records of another organization (404: never reveal that they exist)."""
    for record in records:
        if record is not None and getattr(record, "organization_id", None) != organization.pk:
            raise NotFound(
                f"No {record._meta.verbose_name} with id {record.pk} in your organization."
            )


def _check_client_free(
    client: Client, start: datetime, end: datetime, *, moving: Appointment | None = None
) -> None:
    """A client is in one chair at a time: refuse an overlap with their other bookings."""
    overlapping = Appointment.objects.filter(
        client=client,
        status__in=[s for s in ACTIVE_STATUSES if s != AppointmentStatus.COMPLETED],
        start__lt=end,
        end__gt=start,
    )
    if moving is not None:
        overlapping = overlapping.exclude(pk=moving.pk)
    other = overlapping.order_by("start").first()
    if other is not None:
        local = other.start.astimezone(other.location.zone) if other.location_id else other.start
        raise Conflict(
            f"{client.full_name} already has an appointment at {local:%H:%M} that overlaps.",
            [FieldError("start", "The client is booked elsewhere at that time.")],
            code="client_busy",
        )


def check_wanted(location: Location, wanted: Sequence[Wanted]) -> None:
    """Refuse services or providers that could never be booked at this location."""
    if not wanted:
        raise Invalid.on("services", "Choose at least one service.")
    if len(wanted) > 6:
        raise Invalid.on("services", "At most six services can be booked in one appointment.")
    errors: list[FieldError] = []
    for i, w in enumerate(wanted):
        where = "service" if len(wanted) == 1 else f"services.{i}"
        if not w.service.is_active:
            errors.append(FieldError(where, f"{w.service.name} is no longer offered."))
        offered_at = [loc.pk for loc in w.service.locations.all()]
        if offered_at and location.pk not in offered_at:
            errors.append(FieldError(where, f"{w.service.name} is not offered at {location.name}."))
        if w.provider is None:
            continue
        field = "provider" if len(wanted) == 1 else f"services.{i}.provider"
        if w.provider.kind != ResourceKind.PROVIDER or not w.provider.is_active:
            errors.append(FieldError(field, f"{w.provider.name} is not an active provider."))
        elif w.service.provider_capability and (
            w.service.provider_capability not in w.provider.capabilities
        ):
            errors.append(
                FieldError(
                    field,
                    f"{w.provider.name} is not certified for {w.service.name} "
                    f"({w.service.provider_capability}).",
                )
            )
    if errors:
        raise Invalid(detail="; ".join(e.reason for e in errors), errors=errors)


def _slot_at(
    *,
    organization: Organization,
    location: Location,
    wanted: Sequence[Wanted],
    start: datetime,
    now: datetime,
) -> tuple[tuple[engine.Plan, ...], engine.Slot]:
    """The engine's slot starting exactly at `start`, or why there is none (409 or 422)."""
    if start < now:
        raise Invalid.on("start", "The start is in the past.")
    if start > now + timedelta(days=location.booking_horizon_days):
        raise Invalid.on(
            "start", f"Bookings open {location.booking_horizon_days} days ahead at most."
        )
    granularity = location.slot_granularity_minutes
    local = start.astimezone(location.zone)
    if local.second or local.microsecond or (local.hour * 60 + local.minute) % granularity:
        raise Invalid.on("start", f"Appointments start on a {granularity}-minute grid.")
    end = start + timedelta(seconds=1)
    found = find_availability(
        organization=organization,
        location=location,
        wanted=wanted,
        start=start,
        end=end,
        now=now,
    )
    if found.slots:
        return found.plans, found.slots[0]
    # Free if nothing else were booked: taken (409). Otherwise it can never be booked as
    # asked (422), and the engine says why.
    if found.taken:
        raise SlotTaken("That time is already taken for the provider, room or device it needs.")
    reasons = "; ".join(r.message for r in found.reasons) or "Nothing can be booked at that time."
    raise Invalid.on("start", reasons)


def _write_reservations(
    *,
    organization: Organization,
    appointment: Appointment,
    lines: Sequence[AppointmentService],
    slot: engine.Slot,
) -> None:
    """Write one reservation per held range, and keep lines and reservations on the object.

    Callers answer with the appointment's services and reservations; the prefetch cache
    saves them reading back what was just written.
    """
    reservations = Reservation.objects.bulk_create(
        [
            Reservation(
                organization=organization,
                appointment=appointment,
                line=lines[line_index(hold.role)],
                resource_id=hold.resource,
                role=role_kind(hold.role),
                start=from_ts(hold.start),
                end=from_ts(hold.end),
            )
            # One order for every booking (resource, then time) so that two bookings
            # that want the same resources never wait on each other in a cycle.
            for hold in sorted(slot.holds, key=lambda h: (h.resource, h.start))
        ]
    )
    _remember(appointment, "lines", lines)
    reservations.sort(key=lambda r: (r.start, r.pk or 0))
    _remember(appointment, "reservations", reservations)


def _remember(appointment: Appointment, relation: str, rows: Sequence[object]) -> None:
    """Fill the relation's prefetch cache the way prefetch_related does, without a query."""
    queryset = getattr(appointment, relation).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    cache = appointment.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[relation] = queryset


def _providers(slot: engine.Slot, count: int) -> list[int | None]:
    assigned = dict(slot.assignment)
    return [assigned.get(f"{i}:{PROVIDER}") for i in range(count)]


def _is_overlap(error: IntegrityError) -> bool:
    # PostgreSQL's exclusion_violation (23P01) from reservation_no_overlap.
    return (
        "reservation_no_overlap" in str(error)
        or getattr(getattr(error, "__cause__", None), "sqlstate", None) == "23P01"
    )


def book_appointment(
    *,
    organization: Organization,
    actor: User | None,
    client: Client,
    location: Location,
    start: datetime,
    wanted: Sequence[Wanted],
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book one or more services back to back for a client, holding every resource they need."""
    now = now or timezone.now()
    _access(organization, client, location, *(w.service for w in wanted))
    _access(organization, *(w.provider for w in wanted))
    if not client.is_active:
        # A merged record: book the client it was merged into instead.
        raise Conflict(
            f"{client.full_name}'s record was merged into another; book that record instead.",
            [FieldError("client", "This client record was merged into another.")],
            code="client_merged",
        )
    check_wanted(location, wanted)
    attempts = MAX_ATTEMPTS
    for attempt in range(attempts):
        try:
            # A savepoint only when a retry may follow; otherwise the refusal ends it all.
            with transaction.atomic(savepoint=attempts > 1):
                plans, slot = _slot_at(
                    organization=organization,
                    location=location,
                    wanted=wanted,
                    start=start,
                    now=now,
                )
                _check_client_free(client, from_ts(slot.start), from_ts(slot.end))
                appointment = Appointment.objects.create(
                    organization=organization,
                    location=location,
                    client=client,
                    start=from_ts(slot.start),
                    end=from_ts(slot.end),
                    notes=notes,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                providers = _providers(slot, len(wanted))
                lines = AppointmentService.objects.bulk_create(
                    [
                        AppointmentService(
                            appointment=appointment,
                            position=i,
                            service=w.service,
                            provider_id=providers[i],
                            start=span[0],
                            end=span[1],
                            price_cents=w.service.price_cents,
                        )
                        for i, (w, span) in enumerate(
                            zip(wanted, line_spans(plans, from_ts(slot.start)), strict=True)
                        )
                    ]
                )
                _write_reservations(
                    organization=organization, appointment=appointment, lines=lines, slot=slot
                )
                record_event(
                    organization=organization,
                    actor=actor,
                    action="appointment.booked",
                    object_type="appointment",
                    object_id=appointment.pk,
                    data={
                        "client": client.pk,
                        "location": location.pk,
                        "start": appointment.start.isoformat(),
                        "services": [w.service.pk for w in wanted],
                        "resources": sorted({h.resource for h in slot.holds}),
                    },
                )
                signals.appointment_booked.send(Appointment, appointment=appointment, actor=actor)
            return appointment
        except IntegrityError as error:
            if not _is_overlap(error):
                raise
            if attempt == attempts - 1:
                raise SlotTaken() from None
    raise AssertionError("unreachable")


def _lock(appointment: Appointment) -> Appointment:
    """Reload the appointment under a row lock so concurrent changes queue up."""
    # of=("self",): lock only the appointment row, not the joined location and client,
    # which every concurrent booking references with a key-share lock.
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "client")
        .get(pk=appointment.pk)
    )


def reschedule_appointment(
    *,
    appointment: Appointment,
    actor: User | None,
    start: datetime,
    providers: Sequence[Resource | None] | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment to a new start; by default each service keeps its provider."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            current = _lock(appointment)
            if current.status not in MOVABLE_STATUSES:
                raise Conflict(
                    f"A {current.get_status_display().lower()} appointment cannot be moved.",
                    [FieldError("status", "Only booked or confirmed appointments can be moved.")],
                    code="invalid_status",
                )
            lines = list(current.lines.select_related("service", "provider").order_by("position"))
            if providers is not None and len(providers) != len(lines):
                raise Invalid.on(
                    "providers", f"Give one provider (or null) per service: {len(lines)}."
                )
            chosen = providers if providers is not None else [line.provider for line in lines]
            wanted = [Wanted(line.service, p) for line, p in zip(lines, chosen, strict=True)]
            _access(current.organization, *chosen)
            check_wanted(current.location, wanted)
            old = {
                "start": current.start.isoformat(),
                "providers": [ln.provider_id for ln in lines],
            }
            # Free the old time first: the appointment may move into (or overlap) its own slot.
            Reservation.objects.filter(appointment=current).delete()
            plans, slot = _slot_at(
                organization=current.organization,
                location=current.location,
                wanted=wanted,
                start=start,
                now=now,
            )
            _check_client_free(
                current.client, from_ts(slot.start), from_ts(slot.end), moving=current
            )
            current.start, current.end, current.updated_at = (
                from_ts(slot.start),
                from_ts(slot.end),
                now,
            )
            current.save(update_fields=["start", "end", "updated_at"])
            assigned = _providers(slot, len(lines))
            for line, span, provider_id in zip(
                lines, line_spans(plans, current.start), assigned, strict=True
            ):
                line.start, line.end, line.provider_id = span[0], span[1], provider_id
            AppointmentService.objects.bulk_update(lines, ["start", "end", "provider"])
            _write_reservations(
                organization=current.organization, appointment=current, lines=lines, slot=slot
            )
            record_event(
                organization=current.organization,
                actor=actor,
                action="appointment.rescheduled",
                object_type="appointment",
                object_id=current.pk,
                data={
                    "from": old,
                    "to": {"start": current.start.isoformat(), "providers": assigned},
                },
            )
        return current
    except IntegrityError as error:
        if not _is_overlap(error):
            raise
        raise SlotTaken() from None


def cancel_appointment(
    *, appointment: Appointment, actor: User | None, reason: str, now: datetime | None = None
) -> Appointment:
    """Cancel with a reason; the provider, room and device are free again at once."""
    return change_status(
        appointment=appointment,
        actor=actor,
        status=AppointmentStatus.CANCELLED,
        reason=reason,
        now=now,
    )


def change_status(
    *,
    appointment: Appointment,
    actor: User | None,
    status: str,
    reason: str = "",
    override_reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment along its status machine, refusing moves that make no sense.

    Treatment starts only through the gate: when the floors above report gaps (intake,
    review, consent), the move is refused with every gap listed, unless a manager gives a
    written `override_reason`; the override is then audited and recorded by the receivers.
    """
    now = now or timezone.now()
    if status not in AppointmentStatus.values:
        raise Invalid.on(
            "status", f"{status!r} is not a status: {', '.join(AppointmentStatus.values)}."
        )
    reason = reason.strip()
    if status == AppointmentStatus.CANCELLED and not reason:
        raise Invalid.on("reason", "Say why the appointment is cancelled.")
    override_reason = override_reason.strip()
    if override_reason:
        _check_override(actor, override_reason)
    with transaction.atomic():
        current = _lock(appointment)
        if status not in TRANSITIONS[current.status]:
            raise Conflict(
                f"A {current.get_status_display().lower()} appointment cannot become "
                f"{AppointmentStatus(status).label.lower()}.",
                [FieldError("status", f"Not allowed from {current.status}.")],
                code="invalid_transition",
            )
        local_today = now.astimezone(current.location.zone).date()
        local_day = current.start.astimezone(current.location.zone).date()
        if status == AppointmentStatus.CHECKED_IN and local_day != local_today:
            raise Conflict(
                "A client can be checked in only on the day of the appointment.",
                [FieldError("status", "Not the appointment's day.")],
                code="not_today",
            )
        if status == AppointmentStatus.NO_SHOW and now < current.start:
            raise Conflict(
                "A client is a no-show only once the appointment has started.",
                [FieldError("status", "The appointment has not started yet.")],
                code="too_early",
            )
        gaps = treatment_gaps(current) if status == AppointmentStatus.IN_TREATMENT else []
        if gaps and not override_reason:
            count = f"{len(gaps)} thing{'s' if len(gaps) != 1 else ''}"
            raise Conflict(
                f"Not ready for treatment: {count} missing.",
                [FieldError("gate", gap.what) for gap in gaps],
                code="treatment_gate",
            )
        previous = current.status
        current.status = status
        current.updated_at = now
        if status == AppointmentStatus.CANCELLED:
            current.cancel_reason = reason[:300]
        current.save(update_fields=["status", "updated_at", "cancel_reason"])
        if status not in ACTIVE_STATUSES:
            Reservation.objects.filter(appointment=current).update(active=False)
        record_event(
            organization=current.organization,
            actor=actor,
            action=f"appointment.{status}",
            object_type="appointment",
            object_id=current.pk,
            data={"from": previous, "to": status, **({"reason": reason} if reason else {})},
        )
        if gaps:
            # Manual recovery: who let it through, why, and what was missing at the time.
            record_event(
                organization=current.organization,
                actor=actor,
                action="appointment.gate_overridden",
                object_type="appointment",
                object_id=current.pk,
                # The reason is clinical free text: kept encrypted on the override's own row,
                # never in the audit log that other roles' history reads.
                data={"missing": [gap.as_data() for gap in gaps]},
            )
            signals.treatment_gate_overridden.send(
                Appointment, appointment=current, actor=actor, reason=override_reason, gaps=gaps
            )
        signals.appointment_status_changed.send(
            Appointment, appointment=current, actor=actor, previous=previous, status=status
        )
    return current


def _check_override(actor: User | None, override_reason: str) -> None:
    """Only a manager overrides the gate, with a reason someone can read later."""
    if actor is None:
        raise Invalid.on("override_reason", "An override needs a signed-in manager.")
    if not can(actor, "treatment.override"):
        raise Forbidden(
            f"Your role ({actor.get_role_display()}) cannot override the treatment gate: "
            "ask a manager."
        )
    if len(override_reason) < MIN_OVERRIDE_REASON:
        raise Invalid.on(
            "override_reason",
            f"Write why treatment starts anyway (at least {MIN_OVERRIDE_REASON} characters).",
        )
    if len(override_reason) > MAX_OVERRIDE_REASON or "\x00" in override_reason:
        raise Invalid.on(
            "override_reason", f"Keep the reason under {MAX_OVERRIDE_REASON} characters."
        )


MAX_NOTES_LENGTH = 2000


def update_appointment_notes(
    *, appointment: Appointment, actor: User | None, notes: str, now: datetime | None = None
) -> Appointment:
    """Replace the staff notes of an appointment (logistics, not clinical notes)."""
    notes = notes.strip()
    if len(notes) > MAX_NOTES_LENGTH:
        raise Invalid.on("notes", f"Keep notes under {MAX_NOTES_LENGTH} characters.")
    if "\x00" in notes:
        raise Invalid.on("notes", "Notes may not contain NUL characters.")
    with transaction.atomic():
        current = _lock(appointment)
        if current.notes == notes:
            return current
        current.notes, current.updated_at = notes, now or timezone.now()
        current.save(update_fields=["notes", "updated_at"])
        record_event(
            organization=current.organization,
            actor=actor,
            action="appointment.notes_changed",
            object_type="appointment",
            object_id=current.pk,
            data={"length": len(notes)},
        )
    return current
