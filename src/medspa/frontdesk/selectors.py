"""Reads for the staff calendar: resources as columns and reservations as events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from medspa.core.models import Location, Organization
from medspa.scheduling import engine
from medspa.scheduling.models import AppointmentStatus, Reservation
from medspa.scheduling.selectors import from_ts
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
) -> list[dict[str, Any]]:
    """One event per reservation in the window, coloured by the appointment's status."""
    reservations = (
        Reservation.objects.filter(
            organization=organization,
            resource_id__in=resource_ids,
            active=True,
            start__lt=end,
            end__gt=start,
        )
        .select_related("appointment__client", "line__service")
        .order_by("start", "id")
    )
    events = []
    for r in reservations:
        appointment = r.appointment
        status = appointment.status
        events.append(
            {
                "id": f"r{r.pk}",
                "resourceIds": [r.resource_id],
                "start": _naive_local(r.start, location),
                "end": _naive_local(r.end, location),
                "title": f"{appointment.client.full_name} · {r.line.service.name}",
                "classNames": [f"status-{status}"],
                "color": f"var(--status-{status})",
                "extendedProps": {
                    "appointment": appointment.pk,
                    "status": AppointmentStatus(status).label,
                    "role": r.role,
                },
            }
        )
    return events


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
