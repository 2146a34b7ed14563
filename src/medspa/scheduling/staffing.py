"""Reads of working hours and blocks at a location: what a manager edits, what the calendar shades.

Every function is scoped to one organization and costs the same few queries however many
resources, rules and blocks there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from medspa.core.models import Location, Organization
from medspa.scheduling.models import (
    BlockReason,
    Resource,
    ResourceBlock,
    ResourceKind,
    WorkingHours,
)
from medspa.scheduling.selectors import resources_at

__all__ = [
    "block_events",
    "blocks_between",
    "other_providers",
    "resources_here",
    "upcoming_blocks",
    "weekly_hours",
]


def resources_here(organization: Organization, location: Location) -> list[Resource]:
    """Active rooms and devices of the location and the providers who work (or live) there."""
    return list(resources_at(organization, location))


def other_providers(organization: Organization, location: Location) -> QuerySet[Resource]:
    """Active providers with no hours at the location yet: they may be given some."""
    return (
        Resource.objects.filter(
            organization=organization, is_active=True, kind=ResourceKind.PROVIDER
        )
        .exclude(location=location)
        .exclude(working_hours__location=location)
        .order_by("name")
    )


def weekly_hours(organization: Organization, location: Location) -> QuerySet[WorkingHours]:
    """The weekly rules at the location, per resource, weekday and start."""
    return WorkingHours.objects.filter(
        organization=organization, location=location, resource__is_active=True
    ).order_by("resource_id", "weekday", "start_time")


def blocks_between(
    organization: Organization,
    location: Location,
    resource_ids: Sequence[int],
    start: datetime,
    end: datetime | None = None,
) -> QuerySet[ResourceBlock]:
    """Blocks of the resources and closures of the location that overlap [start, end)."""
    qs = ResourceBlock.objects.filter(
        Q(resource_id__in=list(resource_ids)) | Q(location=location, resource__isnull=True),
        organization=organization,
        end__gt=start,
    )
    if end is not None:
        qs = qs.filter(start__lt=end)
    return qs.order_by("start", "id")


def upcoming_blocks(
    organization: Organization, location: Location, resource_ids: Sequence[int], now: datetime
) -> QuerySet[ResourceBlock]:
    """Blocks and closures that have not ended yet, soonest first."""
    return blocks_between(organization, location, resource_ids, now).select_related("resource")


def _naive_local(moment: datetime, location: Location) -> str:
    # The calendar shows the location's wall clock whatever the browser's zone.
    return moment.astimezone(location.zone).replace(tzinfo=None).isoformat(timespec="minutes")


def block_events(
    organization: Organization,
    location: Location,
    resource_ids: Sequence[int],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Grey background events for blocks in [start, end); a closure shades every column."""
    events = []
    for block in blocks_between(organization, location, resource_ids, start, end):
        label = BlockReason(block.reason).label if block.reason in BlockReason.values else ""
        title = f"{label} · {block.note}" if block.note else label
        events.append(
            {
                "id": f"b{block.pk}",
                "resourceIds": [block.resource_id]
                if block.resource_id is not None
                else list(resource_ids),
                "start": _naive_local(block.start, location),
                "end": _naive_local(block.end, location),
                "display": "background",
                "classNames": ["blocked", block.reason],
                "title": title,
            }
        )
    return events
