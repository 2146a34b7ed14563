"""Reads of the catalog, scoped to one organization."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from medspa.catalog.models import Service, ServiceSegment
from medspa.core.models import Location, Organization


def services_for(
    organization: Organization, *, location: Location | None = None
) -> QuerySet[Service]:
    """Active services with their segments; at a location, those offered there."""
    qs = Service.objects.filter(organization=organization, is_active=True)
    if location is not None:
        qs = qs.filter(Q(locations=location) | Q(locations__isnull=True)).distinct()
    return qs.prefetch_related(
        Prefetch("segments", queryset=ServiceSegment.objects.order_by("position"))
    ).order_by("name")


def client_minutes(service: Service) -> int:
    """The time the client spends in the chair: the segments, without the buffers."""
    total = sum(s.duration_minutes for s in service.segments.all())
    return max(total - service.buffer_before_minutes - service.buffer_after_minutes, 0)
