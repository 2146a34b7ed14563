"""Reads of the schedule: resources, appointments by day, and availability from the engine."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from medspa.catalog.models import Service
from medspa.core.models import AuditEvent, Location, Organization
from medspa.core.selectors import get_owned
from medspa.scheduling import engine
from medspa.scheduling.models import (
    Appointment,
    AppointmentService,
    Reservation,
    Resource,
    ResourceBlock,
    ResourceKind,
    WorkingHours,
)
from medspa.scheduling.plans import PROVIDER, plan_for
from medspa.scheduling.setup import schedule_setup


def to_ts(moment: datetime) -> int:
    return int(moment.timestamp())


def from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def resources_at(
    organization: Organization, location: Location, *, kinds: Sequence[str] | None = None
) -> QuerySet[Resource]:
    """Active rooms and devices of the location, and the providers who have hours there."""
    works_here = WorkingHours.objects.filter(resource=OuterRef("pk"), location=location)
    qs = Resource.objects.filter(organization=organization, is_active=True).filter(
        Q(location=location) | Q(kind=ResourceKind.PROVIDER) & Exists(works_here)
    )
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("kind", "name")


def day_bounds(location: Location, day: date) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar day of the location starts and ends."""
    zone = location.zone
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(start.date() + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def appointments_for_day(
    organization: Organization,
    location: Location,
    day: date,
    *,
    resource: Resource | None = None,
    include_cancelled: bool = True,
) -> QuerySet[Appointment]:
    """The appointments of one local day, with services and reservations in three queries."""
    start, end = day_bounds(location, day)
    qs = Appointment.objects.filter(organization=organization).on_day(location, start, end)
    if not include_cancelled:
        qs = qs.active()
    if resource is not None:
        qs = qs.filter(reservations__resource=resource).distinct()
    return qs.select_related("client").prefetch_related(
        Prefetch(
            "lines",
            queryset=AppointmentService.objects.select_related("service").order_by("position"),
        ),
        Prefetch("reservations", queryset=Reservation.objects.order_by("start", "id")),
    )


@dataclass(frozen=True)
class Availability:
    """What the engine offers for a request, and why not when it offers nothing."""

    plans: tuple[engine.Plan, ...]
    slots: list[engine.Slot]
    reasons: list[engine.Reason]
    # With no slots: would there be one if nothing else were booked? (taken, not impossible)
    taken: bool = False


@dataclass(frozen=True)
class Wanted:
    """One service of a booking request, with the provider the client asked for, if any."""

    service: Service
    provider: Resource | None = None


def find_availability(
    *,
    organization: Organization,
    location: Location,
    wanted: Sequence[Wanted],
    start: datetime,
    end: datetime,
    now: datetime,
    explain: bool = True,
    moving: int | None = None,
) -> Availability:
    """Every feasible client start in [start, end) for the services booked back to back."""
    setup = schedule_setup(organization)
    plans = tuple(setup.plans.get(w.service.pk) or plan_for(w.service) for w in wanted)
    plan = engine.combine(plans)
    span = sum(engine.plan_span(p) for p in plans)
    fetch_start = start - timedelta(seconds=span)
    fetch_end = end + timedelta(seconds=span)

    kinds = {need.kind for need in plan.needs}
    resources = [
        r
        for r in setup.resources_at(location.pk, kinds)
        if any(
            need.kind == r.kind and (need.capability is None or need.capability in r.capabilities)
            for need in plan.needs
        )
    ]
    ids = [r.pk for r in resources]
    blocks: dict[int | None, list[engine.Block]] = defaultdict(list)
    for rid, b_start, b_end, reason in ResourceBlock.objects.filter(
        Q(resource_id__in=ids) | Q(location=location, resource__isnull=True),
        start__lt=fetch_end,
        end__gt=fetch_start,
    ).values_list("resource_id", "start", "end", "reason"):
        blocks[rid].append(engine.Block(to_ts(b_start), to_ts(b_end), reason))
    busy: dict[int, list[engine.Interval]] = defaultdict(list)
    held = Reservation.objects.filter(
        resource_id__in=ids, active=True, start__lt=fetch_end, end__gt=fetch_start
    )
    if moving is not None:
        # An appointment being moved may overlap its own current time.
        held = held.exclude(appointment_id=moving)
    for rid, r_start, r_end in held.values_list("resource_id", "start", "end"):
        busy[rid].append((to_ts(r_start), to_ts(r_end)))

    zone = location.zone
    first_day = fetch_start.astimezone(zone).date()
    last_day = fetch_end.astimezone(zone).date()
    calendars = [
        engine.ResourceCalendar(
            id=r.pk,
            kind=r.kind,
            capabilities=frozenset(r.capabilities),
            working=tuple(
                engine.expand_weekly(
                    setup.hours.get((r.pk, location.pk), ()),
                    location.time_zone,
                    first_day,
                    last_day,
                )
            ),
            blocked=tuple(blocks[r.pk] + blocks[None]),
            busy=tuple(busy[r.pk]),
        )
        for r in resources
    ]
    pins = {
        f"{i}:{PROVIDER}": frozenset({w.provider.pk}) for i, w in enumerate(wanted) if w.provider
    }
    rules = engine.Rules(
        window_start=to_ts(start),
        window_end=to_ts(end),
        tz=location.time_zone,
        granularity=location.slot_granularity_minutes * 60,
        earliest=to_ts(now + timedelta(minutes=location.booking_lead_minutes)),
        latest=to_ts(now + timedelta(days=location.booking_horizon_days)),
        pins=pins,
    )
    slots = engine.find_slots(plan, calendars, rules)
    if slots or not explain:
        return Availability(plans=plans, slots=slots, reasons=[])
    unbooked = [dataclasses.replace(c, busy=()) for c in calendars]
    return Availability(
        plans=plans,
        slots=slots,
        reasons=engine.explain(plan, calendars, rules),
        taken=bool(engine.find_slots(plan, unbooked, rules)),
    )


def count_overlapping_reservations(organization: Organization | None = None) -> int:
    """Pairs of active reservations of one resource whose times overlap: always 0."""
    first = Reservation.objects.filter(active=True)
    if organization is not None:
        first = first.filter(organization=organization)
    later = Reservation.objects.filter(
        active=True,
        resource_id=OuterRef("resource_id"),
        id__gt=OuterRef("id"),
        start__lt=OuterRef("end"),
        end__gt=OuterRef("start"),
    )
    return first.filter(Exists(later)).count()


# ---- what the booking form offers --------------------------------------------------------

NEAREST_DAYS_BEFORE = 7
NEAREST_DAYS_AFTER = 28


@dataclass(frozen=True)
class StartOption:
    """One start the engine offers, with the provider per service and everything it holds."""

    start: datetime  # in the location's zone
    end: datetime
    providers: tuple[int | None, ...]
    held: tuple[Resource, ...]

    @property
    def value(self) -> str:
        """The form value that books exactly this option: the start and each line's provider."""
        pins = ",".join("" if p is None else str(p) for p in self.providers)
        return f"{self.start.isoformat()}|{pins}"


@dataclass(frozen=True)
class DayOffer:
    """The starts of one local day, or why there are none and the nearest days that have some."""

    day: date
    starts: list[StartOption]
    reasons: list[engine.Reason]
    taken: bool
    nearest: list[tuple[date, int]]


def _options(
    organization: Organization, location: Location, slots: Sequence[engine.Slot], count: int
) -> list[StartOption]:
    resources = schedule_setup(organization).resources
    zone = location.zone
    options = []
    for slot in slots:
        assigned = dict(slot.assignment)
        held = []
        for _, rid in slot.assignment:
            resource = resources.get(rid)
            if resource is not None and resource not in held:
                held.append(resource)
        held.sort(key=lambda r: ("provider", "room", "device").index(r.kind))
        options.append(
            StartOption(
                start=from_ts(slot.start).astimezone(zone),
                end=from_ts(slot.end).astimezone(zone),
                providers=tuple(assigned.get(f"{i}:{PROVIDER}") for i in range(count)),
                held=tuple(held),
            )
        )
    return options


def offer_for_day(
    *,
    organization: Organization,
    location: Location,
    wanted: Sequence[Wanted],
    day: date,
    now: datetime,
    moving: int | None = None,
) -> DayOffer:
    """The booking form's day: the engine's starts, or its reasons and the nearest days."""
    start, end = day_bounds(location, day)
    found = find_availability(
        organization=organization,
        location=location,
        wanted=wanted,
        start=start,
        end=end,
        now=now,
        moving=moving,
    )
    starts = _options(organization, location, found.slots, len(wanted))
    if starts:
        return DayOffer(day=day, starts=starts, reasons=[], taken=False, nearest=[])
    return DayOffer(
        day=day,
        starts=[],
        reasons=found.reasons,
        taken=found.taken,
        nearest=nearest_days_with_starts(
            organization=organization,
            location=location,
            wanted=wanted,
            day=day,
            now=now,
            moving=moving,
        ),
    )


def nearest_days_with_starts(
    *,
    organization: Organization,
    location: Location,
    wanted: Sequence[Wanted],
    day: date,
    now: datetime,
    limit: int = 3,
    moving: int | None = None,
) -> list[tuple[date, int]]:
    """The days closest to `day` (before or after) that have starts, with how many each has."""
    today = now.astimezone(location.zone).date()
    first = max(today, day - timedelta(days=NEAREST_DAYS_BEFORE))
    window_start, _ = day_bounds(location, first)
    _, window_end = day_bounds(location, day + timedelta(days=NEAREST_DAYS_AFTER))
    found = find_availability(
        organization=organization,
        location=location,
        wanted=wanted,
        start=window_start,
        end=window_end,
        now=now,
        explain=False,
        moving=moving,
    )
    per_day: dict[date, int] = defaultdict(int)
    zone = location.zone
    for slot in found.slots:
        per_day[from_ts(slot.start).astimezone(zone).date()] += 1
    per_day.pop(day, None)
    closest = sorted(per_day, key=lambda d: (abs((d - day).days), d))[:limit]
    return [(d, per_day[d]) for d in sorted(closest)]


def appointment_detail(organization: Organization, pk: int) -> Appointment:
    """One appointment with its client, services, providers and held resources (4 queries)."""
    return get_owned(
        Appointment.objects.select_related("location", "client", "created_by").prefetch_related(
            Prefetch(
                "lines",
                queryset=AppointmentService.objects.select_related("service", "provider").order_by(
                    "position"
                ),
            ),
            Prefetch(
                "reservations",
                queryset=Reservation.objects.select_related("resource").order_by("start", "id"),
            ),
        ),
        organization=organization,
        pk=pk,
        field="appointment",
    )


def appointment_history(
    organization: Organization, appointment: Appointment
) -> QuerySet[AuditEvent]:
    """What happened to the appointment, oldest first, from the audit log."""
    return (
        AuditEvent.objects.filter(
            organization=organization, object_type="appointment", object_id=str(appointment.pk)
        )
        .select_related("actor")
        .order_by("id")
    )
