"""An organization's schedule setup, kept in each worker's memory until it changes.

Locations, services with their segments, resources and weekly hours change rarely but are
read by every availability question and every booking. Each worker keeps them per
organization and checks one value, `Organization.schedule_token`, which every change to
those tables replaces (signals registered in `scheduling/apps.py`). Blocks, reservations
and clients are always read live.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection
from django.db.models import Prefetch

from medspa.catalog.models import Service, ServiceSegment
from medspa.core.errors import FieldError, NotFound
from medspa.core.models import Location, Organization
from medspa.scheduling import engine
from medspa.scheduling.models import Resource, ResourceKind, WorkingHours
from medspa.scheduling.plans import plan_for

T = TypeVar("T")

# Bound the memory a worker spends on many clinics; a miss only costs a reload.
MAX_ORGANIZATIONS = 256


@dataclass(frozen=True)
class ScheduleSetup:
    """Read-only: shared by every request of the worker. Never modify these objects."""

    token: uuid.UUID
    locations: Mapping[int, Location]
    services: Mapping[int, Service]
    plans: Mapping[int, engine.Plan]
    offered_at: Mapping[int, frozenset[int]]
    resources: Mapping[int, Resource]
    hours: Mapping[tuple[int, int], tuple[engine.WeeklyHours, ...]]
    working_at: Mapping[int, tuple[int, ...]]

    def resources_at(self, location_id: int, kinds: set[str] | None = None) -> list[Resource]:
        """Active rooms and devices of the location, and providers who work there."""
        found = [self.resources[pk] for pk in self.working_at.get(location_id, ())]
        return [r for r in found if kinds is None or r.kind in kinds]

    def location(self, pk: object, field: str) -> Location:
        return _lookup(self.locations, pk, field, "location")

    def service(self, pk: object, field: str) -> Service:
        return _lookup(self.services, pk, field, "service")

    def provider(self, pk: object, field: str) -> Resource:
        resource = self.resources.get(_int(pk))
        if resource is None or resource.kind != ResourceKind.PROVIDER:
            raise _missing(pk, field, "provider")
        return resource


def _int(pk: object) -> int:
    try:
        return int(str(pk))
    except (TypeError, ValueError):
        return -1


def _missing(pk: object, field: str, label: str) -> NotFound:
    reason = f"No {label} with id {pk} in your organization."
    return NotFound(reason, [FieldError(field, reason)])


def _lookup(table: Mapping[int, T], pk: object, field: str, label: str) -> T:
    item = table.get(_int(pk))
    if item is None:
        raise _missing(pk, field, label)
    return item


_setups: dict[int, ScheduleSetup] = {}


def schedule_setup(organization: Organization, *, fresh: bool = False) -> ScheduleSetup:
    """The organization's current setup: from memory when its token is unchanged.

    `fresh=True` trusts the token on the organization object, for one loaded by this very
    request (the API's caller); otherwise the token is read from the database.
    """
    token = organization.schedule_token if fresh else _current_token(organization.pk)
    cached = _setups.get(organization.pk)
    if cached is not None and cached.token == token:
        return cached
    setup = _load(organization, token)
    if len(_setups) >= MAX_ORGANIZATIONS:
        _setups.clear()
    _setups[organization.pk] = setup
    return setup


def cached_setup(organization: Organization) -> ScheduleSetup | None:
    """The setup already in memory for the token on this (just loaded) organization, if any."""
    cached = _setups.get(organization.pk)
    return cached if cached is not None and cached.token == organization.schedule_token else None


def _current_token(organization_id: int) -> uuid.UUID:
    # Plain SQL: this runs in every booking, and the ORM would triple its cost.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schedule_token FROM core_organization WHERE id = %s", [organization_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise Organization.DoesNotExist(organization_id)
    value = row[0]
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _load(organization: Organization, token: uuid.UUID) -> ScheduleSetup:
    locations = {
        loc.pk: loc for loc in Location.objects.filter(organization=organization, is_active=True)
    }
    services = {
        s.pk: s
        for s in Service.objects.filter(organization=organization, is_active=True).prefetch_related(
            Prefetch("segments", queryset=ServiceSegment.objects.order_by("position")),
            "locations",
        )
    }
    resources = {
        r.pk: r
        for r in Resource.objects.filter(organization=organization, is_active=True).order_by(
            "kind", "name"
        )
    }
    hours: dict[tuple[int, int], list[engine.WeeklyHours]] = defaultdict(list)
    rows = WorkingHours.objects.filter(
        resource__in=list(resources), location__in=list(locations)
    ).values_list(
        "resource_id",
        "location_id",
        "weekday",
        "start_time",
        "end_time",
        "valid_from",
        "valid_until",
    )
    for rid, lid, weekday, starts, ends, valid_from, valid_until in rows:
        hours[(rid, lid)].append(engine.WeeklyHours(weekday, starts, ends, valid_from, valid_until))
    working_at: dict[int, list[int]] = defaultdict(list)
    for r in resources.values():  # already in (kind, name) order
        for lid in locations:
            if r.location_id == lid or (r.kind == ResourceKind.PROVIDER and (r.pk, lid) in hours):
                working_at[lid].append(r.pk)
    return ScheduleSetup(
        token=token,
        locations=locations,
        services=services,
        plans={pk: plan_for(s) for pk, s in services.items()},
        offered_at={
            pk: frozenset(loc.pk for loc in s.locations.all()) for pk, s in services.items()
        },
        resources=resources,
        hours={key: tuple(rules) for key, rules in hours.items()},
        working_at={lid: tuple(ids) for lid, ids in working_at.items()},
    )


def touch_schedule(organization_id: int | None) -> None:
    """Tell every worker that the organization's setup changed."""
    if organization_id is not None:
        Organization.objects.filter(pk=organization_id).update(schedule_token=uuid.uuid4())
