"""Writes to working hours and dated exceptions (time off, holidays, device maintenance)."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import transaction

from medspa.core.audit import record_event
from medspa.core.errors import Invalid
from medspa.core.models import Location, Organization, User
from medspa.scheduling.models import Resource, ResourceBlock, ResourceKind, WorkingHours


def add_working_hours(
    *,
    organization: Organization,
    actor: User | None,
    resource: Resource,
    location: Location,
    weekday: int,
    start_time: time,
    end_time: time,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> WorkingHours:
    """Add a weekly rule; it may not overlap another rule of the resource on that weekday."""
    if end_time <= start_time:
        raise Invalid.on("end_time", "The end time must be after the start time.")
    if valid_from and valid_until and valid_until < valid_from:
        raise Invalid.on("valid_until", "The rule must end after it starts.")
    if resource.kind != ResourceKind.PROVIDER and resource.location_id != location.pk:
        raise Invalid.on("location", f"{resource.name} belongs to another location.")
    with transaction.atomic():
        clash = WorkingHours.objects.filter(
            resource=resource, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
        )
        for other in clash:
            # Rules that are valid on disjoint dates may overlap in clock time.
            disjoint = (valid_until and other.valid_from and valid_until < other.valid_from) or (
                valid_from and other.valid_until and other.valid_until < valid_from
            )
            if not disjoint:
                raise Invalid.on(
                    "start_time",
                    f"{resource.name} already has hours {other.start_time:%H:%M}-"
                    f"{other.end_time:%H:%M} that day.",
                )
        hours = WorkingHours.objects.create(
            organization=organization,
            resource=resource,
            location=location,
            weekday=weekday,
            start_time=start_time,
            end_time=end_time,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        record_event(
            organization=organization,
            actor=actor,
            action="working_hours.added",
            object_type="working_hours",
            object_id=hours.pk,
            data={
                "resource": resource.pk,
                "location": location.pk,
                "weekday": weekday,
                "start": start_time.isoformat(),
                "end": end_time.isoformat(),
            },
        )
    return hours


def remove_working_hours(*, actor: User | None, hours: WorkingHours) -> None:
    """Remove a weekly rule; booked appointments stay as they are."""
    with transaction.atomic():
        record_event(
            organization=hours.organization,
            actor=actor,
            action="working_hours.removed",
            object_type="working_hours",
            object_id=hours.pk,
            data={"resource": hours.resource_id, "weekday": hours.weekday},
        )
        hours.delete()


def add_block(
    *,
    organization: Organization,
    actor: User | None,
    resource: Resource | None,
    start: datetime,
    end: datetime,
    reason: str,
    note: str = "",
    location: Location | None = None,
) -> ResourceBlock:
    """Block a resource (time off, maintenance) or close a whole location (a holiday)."""
    if end <= start:
        raise Invalid.on("end", "The end must be after the start.")
    if resource is None and location is None:
        raise Invalid.on("resource", "Block a resource or a location.")
    with transaction.atomic():
        block = ResourceBlock.objects.create(
            organization=organization,
            resource=resource,
            location=location if resource is None else None,
            start=start,
            end=end,
            reason=reason,
            note=note[:200],
        )
        record_event(
            organization=organization,
            actor=actor,
            action="block.added",
            object_type="resource_block",
            object_id=block.pk,
            data={
                "resource": resource.pk if resource else None,
                "location": location.pk if location else None,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "reason": reason,
            },
        )
    return block


def remove_block(*, actor: User | None, block: ResourceBlock) -> None:
    """Lift a block."""
    with transaction.atomic():
        record_event(
            organization=block.organization,
            actor=actor,
            action="block.removed",
            object_type="resource_block",
            object_id=block.pk,
        )
        block.delete()
