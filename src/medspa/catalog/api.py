"""Services: the API routes of the catalog."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from medspa.catalog.models import Service
from medspa.catalog.selectors import client_minutes, services_for
from medspa.core.models import Location
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, staff

router = Router(tags=["services"])


class SegmentOut(Schema):
    name: str
    duration_minutes: int
    holds_provider: bool
    holds_room: bool
    holds_device: bool


class ServiceOut(Schema):
    id: int
    name: str
    category: str
    description: str
    duration_minutes: int
    price_cents: int
    currency: str
    provider_capability: str
    room_type: str
    device_type: str
    buffer_before_minutes: int
    buffer_after_minutes: int
    segments: list[SegmentOut]


def _service_out(service: Service, currency: str) -> dict[str, object]:
    segments = list(service.segments.all())
    return {
        "id": service.pk,
        "name": service.name,
        "category": service.category,
        "description": service.description,
        "duration_minutes": client_minutes(service),
        "price_cents": service.price_cents,
        "currency": currency,
        "provider_capability": service.provider_capability,
        "room_type": service.room_type,
        "device_type": service.device_type,
        "buffer_before_minutes": service.buffer_before_minutes,
        "buffer_after_minutes": service.buffer_after_minutes,
        "segments": segments,
    }


@router.get("/services", response=ListOut[ServiceOut])
def list_services(request: HttpRequest, location: int | None = None) -> dict[str, object]:
    who = staff(request, "services.view")
    where = (
        get_owned(Location, organization=who.organization, pk=location, field="location")
        if location is not None
        else None
    )
    items = [
        _service_out(s, who.organization.currency)
        for s in services_for(who.organization, location=where)
    ]
    return {"items": items, "count": len(items)}


@router.get("/services/{service_id}", response=ServiceOut)
def get_service(request: HttpRequest, service_id: int) -> dict[str, object]:
    who = staff(request, "services.view")
    service = get_owned(
        services_for(who.organization),
        organization=who.organization,
        pk=service_id,
        field="service_id",
    )
    return _service_out(service, who.organization.currency)
