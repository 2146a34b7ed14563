"""Locations: the API routes of the core app."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema

from medspa.core.models import Location
from medspa.core.selectors import get_owned, locations_for
from medspa.core.web import ListOut, staff

router = Router(tags=["locations"])


class LocationOut(Schema):
    id: int
    name: str
    time_zone: str
    address: str
    phone: str
    slot_granularity_minutes: int
    booking_lead_minutes: int
    booking_horizon_days: int


@router.get("/locations", response=ListOut[LocationOut])
def list_locations(request: HttpRequest) -> dict[str, object]:
    who = staff(request, "locations.view")
    items: QuerySet[Location] = locations_for(who.organization)
    rows = list(items)
    return {"items": rows, "count": len(rows)}


@router.get("/locations/{location_id}", response=LocationOut)
def get_location(request: HttpRequest, location_id: int) -> Location:
    who = staff(request, "locations.view")
    return get_owned(Location, organization=who.organization, pk=location_id, field="location_id")
