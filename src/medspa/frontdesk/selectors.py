"""Reads for the staff calendar: resources as columns and reservations as events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from medspa.core.models import Location, Organization
from medspa.scheduling import engine
from medspa.scheduling.models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Reservation,
    Resource,
    ResourceKind,
)
from medspa.scheduling.plans import PROVIDER
from medspa.scheduling.selectors import day_bounds, from_ts
from medspa.scheduling.services import MOVABLE_STATUSES
from medspa.scheduling.setup import ScheduleSetup

VIEWS = {"providers": "provider", "rooms": "room", "devices": "device"}


def _naive_local(moment: datetime, location: Location) -> str:
    # The calendar shows the location's wall clock whatever the browser's zone.
    return moment.astimezone(location.zone).replace(tzinfo=None).isoformat(timespec="minutes")


def calendar_resources(setup: ScheduleSetup, location: Location, view: str) -> list[dict[str, Any]]:
    """The columns of the calendar: the location's providers, rooms or devices."""
    kind = VIEWS.get(view, "provider")
    return [
        {"id": r.pk, "title": r.name, "extendedProps": {"title": r.title, "kind": r.kind}}
        for r in setup.resources_at(location.pk, {kind})
    ]


def calendar_events(
    organization: Organization,
    location: Location,
    resource_ids: list[int],
    start: datetime,
    end: datetime,
    *,
    setup: ScheduleSetup | None = None,
    may_move: bool = False,
) -> list[dict[str, Any]]:
    """One event per reservation in the window, coloured by the appointment's status.

    A provider's column also shows, hatched, where their client is in processing time
    (numbing, a mask): the client is in the room but the provider is free.
    """
    # Plain rows, not model instances: a busy week is ~500 reservations, and building
    # four models per row cost most of this call's time.
    in_window = Reservation.objects.filter(
        organization=organization,
        resource_id__in=resource_ids,
        active=True,
        start__lt=end,
        end__gt=start,
    )
    rows = in_window.order_by("start", "id").values_list(
        "pk",
        "resource_id",
        "start",
        "end",
        "role",
        "line_id",
        "line__service_id",
        "line__service__name",
        "appointment_id",
        "appointment__status",
        "appointment__client__first_name",
        "appointment__client__last_name",
    )
    fetched = list(rows)
    held = _held_with(organization, in_window.values_list("line_id", flat=True), setup)
    labels = dict(AppointmentStatus.choices)
    events = []
    processed: set[int] = set()
    for (
        pk,
        resource_id,
        r_start,
        r_end,
        role,
        line_id,
        service_id,
        service_name,
        appointment_id,
        status,
        first_name,
        last_name,
    ) in fetched:
        client = f"{first_name} {last_name}"
        events.append(
            {
                "id": f"r{pk}",
                "resourceIds": [resource_id],
                "start": _naive_local(r_start, location),
                "end": _naive_local(r_end, location),
                "title": " · ".join(
                    [
                        client,
                        service_name,
                        *(n for rid, n in held.get(line_id, ()) if rid != resource_id),
                    ]
                ),
                "classNames": [f"status-{status}"],
                "color": f"var(--status-{status})",
                "startEditable": may_move and status in MOVABLE_STATUSES,
                "extendedProps": {
                    "appointment": appointment_id,
                    "status": labels.get(status, status),
                    "role": role,
                },
            }
        )
        if setup is not None and role == ResourceKind.PROVIDER and line_id not in processed:
            processed.add(line_id)
            plan = setup.plans.get(service_id)
            if plan is not None:
                events.extend(
                    _processing_events(
                        plan,
                        location,
                        line_id=line_id,
                        provider_start=r_start,
                        resource_id=resource_id,
                        appointment_id=appointment_id,
                        client=client,
                        status=status,
                    )
                )
    return events


def _held_with(
    organization: Organization,
    lines: QuerySet[Reservation, int],
    setup: ScheduleSetup | None,
) -> dict[int, list[tuple[int, str]]]:
    """For each booked service in `lines`, the provider, room and device it holds.

    One query whatever the window holds: `lines` is a subquery, never a list of ids.
    """
    if setup is None:
        return {}
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for line_id, resource_id in (
        Reservation.objects.filter(organization=organization, line_id__in=lines, active=True)
        .order_by("role", "resource_id")
        .values_list("line_id", "resource_id")
        .distinct()
    ):
        resource = setup.resources.get(resource_id)
        if resource is not None:
            found[line_id].append((resource_id, resource.name))
    return found


def _processing_events(
    plan: engine.Plan,
    location: Location,
    *,
    line_id: int,
    provider_start: datetime,
    resource_id: int,
    appointment_id: int,
    client: str,
    status: str,
) -> list[dict[str, Any]]:
    """The stretches of a provider's service where the client waits without the provider.

    Segments are placed from the provider's first held segment (`provider_start`), so the
    drawing matches the reservations whatever the service's lead-in.
    """
    found = []
    offset = 0
    for segment in plan.segments:
        if PROVIDER in segment.holds:
            break
        offset += segment.duration
    at = provider_start - timedelta(seconds=offset)
    for i, segment in enumerate(plan.segments):
        begins, at = at, at + timedelta(seconds=segment.duration)
        if PROVIDER in segment.holds or not segment.holds:
            continue
        found.append(
            {
                "id": f"p{line_id}-{i}",
                "resourceIds": [resource_id],
                "start": _naive_local(begins, location),
                "end": _naive_local(at, location),
                "title": f"{segment.name or 'Processing'} · {client}",
                "classNames": ["processing", f"status-{status}"],
                "extendedProps": {
                    "appointment": appointment_id,
                    "status": "Processing: the provider is free",
                    "role": "processing",
                },
            }
        )
    return found


def working_hours_events(
    setup: ScheduleSetup,
    location: Location,
    resource_ids: list[int],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Background events where each column works, so the rest of the day reads as closed."""
    first, last = start.astimezone(location.zone).date(), end.astimezone(location.zone).date()
    shaded = []
    for rid in resource_ids:
        rules = setup.hours.get((rid, location.pk), ())
        for a, b in engine.expand_weekly(rules, location.time_zone, first, last):
            shaded.append(
                {
                    "resourceIds": [rid],
                    "start": _naive_local(from_ts(a), location),
                    "end": _naive_local(from_ts(b), location),
                    "display": "background",
                    "classNames": ["working"],
                }
            )
    return shaded


# The day sheet: the clinic's paper fallback, one section per provider or per room/device.
SHEET_KINDS: dict[str, tuple[str, ...]] = {
    "provider": (ResourceKind.PROVIDER,),
    "room": (ResourceKind.ROOM, ResourceKind.DEVICE),
}


@dataclass(frozen=True)
class SheetRow:
    """One line of a day sheet: a resource held for (part of) one booked service."""

    appointment: int
    start: str
    end: str
    # The client's own start-end of the service when it differs from the time held
    # (a provider joins after numbing; a room is prepared before the client arrives).
    visit: tuple[str, str] | None
    client: str
    phone: str
    service: str
    status: str
    status_label: str
    provider: str
    room: str
    device: str
    notes: str


@dataclass(frozen=True)
class SheetSection:
    resource: Resource
    rows: tuple[SheetRow, ...]


@dataclass(frozen=True)
class DaySheet:
    """The sections with bookings, and the location's resources with nothing booked."""

    day: date
    sections: tuple[SheetSection, ...]
    free: tuple[Resource, ...]


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def day_sheet(
    organization: Organization,
    location: Location,
    day: date,
    *,
    by: str,
    setup: ScheduleSetup,
    only: Resource | None = None,
) -> DaySheet:
    """The local day's bookings of a location in one query; cancelled ones are left out.

    No-shows and completed visits stay, with their status: the sheet is what the day held.
    """
    kinds = SHEET_KINDS[by]
    start, end = day_bounds(location, day)
    held = list(
        Reservation.objects.filter(
            organization=organization,
            appointment__location=location,
            start__lt=end,
            end__gt=start,
        )
        .exclude(appointment__status=AppointmentStatus.CANCELLED)
        .select_related("appointment__client", "line__service", "resource")
        .order_by("start", "id")
    )
    # What each booked service holds, so a provider's row can name its room and device.
    holding: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in held:
        names = holding[r.line_id][r.role]
        if r.resource.name not in names:
            names.append(r.resource.name)
    rows: dict[int, list[SheetRow]] = defaultdict(list)
    resources: dict[int, Resource] = {}
    zone = location.zone
    for r in held:
        if r.role not in kinds or (only is not None and r.resource_id != only.pk):
            continue
        appointment, client, line_holds = r.appointment, r.appointment.client, holding[r.line_id]
        held_span = (_clock(r.start, zone), _clock(r.end, zone))
        visit_span = (_clock(r.line.start, zone), _clock(r.line.end, zone))
        resources[r.resource_id] = r.resource
        rows[r.resource_id].append(
            SheetRow(
                appointment=appointment.pk,
                start=held_span[0],
                end=held_span[1],
                visit=visit_span if visit_span != held_span else None,
                client=client.full_name,
                phone=client.phone,
                service=r.line.service.name,
                status=appointment.status,
                status_label=AppointmentStatus(appointment.status).label,
                provider=", ".join(line_holds[ResourceKind.PROVIDER]),
                room=", ".join(line_holds[ResourceKind.ROOM]),
                device=", ".join(line_holds[ResourceKind.DEVICE]),
                notes=appointment.notes,
            )
        )
    # Rooms before devices, then by name; a resource booked here but no longer set up
    # here (an inactive laser, a provider whose hours moved) still gets its section.
    present = setup.resources_at(location.pk, set(kinds)) if only is None else [only]
    for resource in present:
        resources.setdefault(resource.pk, resource)
    order = sorted(resources.values(), key=lambda x: (kinds.index(x.kind), x.name, x.pk))
    return DaySheet(
        day=day,
        sections=tuple(SheetSection(x, tuple(rows[x.pk])) for x in order if rows.get(x.pk)),
        free=tuple(x for x in order if not rows.get(x.pk)),
    )


# The schedule export: one row per booked service, cancelled ones included.
EXPORT_COLUMNS = (
    "Date",
    "Start",
    "End",
    "Location",
    "Client",
    "Client phone",
    "Client e-mail",
    "Service",
    "Provider",
    "Room",
    "Device",
    "Status",
    "Booked at",
    "Cancel reason",
)


def schedule_export(
    organization: Organization, location: Location, first: date, last: date
) -> list[list[str]]:
    """Every service line of the appointments starting on the local days first..last.

    Two queries whatever the range: the lines with their appointment, client, service and
    provider, then the rooms and devices they hold (kept on cancelled ones too).
    """
    start, _ = day_bounds(location, first)
    _, end = day_bounds(location, last)
    appointments = Appointment.objects.filter(
        organization=organization, location=location, start__gte=start, start__lt=end
    )
    held: dict[tuple[int, str], list[str]] = defaultdict(list)
    for line_id, role, name in (
        Reservation.objects.filter(
            appointment__in=appointments, role__in=(ResourceKind.ROOM, ResourceKind.DEVICE)
        )
        .order_by("start", "id")
        .values_list("line_id", "role", "resource__name")
    ):
        if name not in held[(line_id, role)]:
            held[(line_id, role)].append(name)
    lines = (
        AppointmentService.objects.filter(appointment__in=appointments)
        .select_related("appointment__client", "service", "provider")
        .order_by("appointment__start", "appointment_id", "position")
    )
    zone = location.zone
    rows = []
    for line in lines:
        appointment, client = line.appointment, line.appointment.client
        rows.append(
            [
                line.start.astimezone(zone).date().isoformat(),
                _clock(line.start, zone),
                _clock(line.end, zone),
                location.name,
                client.full_name,
                client.phone,
                client.email,
                line.service.name,
                line.provider.name if line.provider else "",
                ", ".join(held[(line.pk, ResourceKind.ROOM)]),
                ", ".join(held[(line.pk, ResourceKind.DEVICE)]),
                AppointmentStatus(appointment.status).label,
                appointment.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                appointment.cancel_reason,
            ]
        )
    return rows
