"""Scheduling routes: resources, hours and blocks, availability and appointments."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.core.errors import Invalid
from medspa.core.idempotency import run_idempotent
from medspa.core.models import Location
from medspa.core.selectors import get_owned
from medspa.core.web import IdempotencyKey, ListOut, LongText, Moment, Name, ShortText, Staff, staff
from medspa.scheduling import services as booking
from medspa.scheduling.clock import parse_moment
from medspa.scheduling.hours import add_block, add_working_hours, remove_block, remove_working_hours
from medspa.scheduling.models import Appointment, Resource, ResourceBlock, WorkingHours
from medspa.scheduling.selectors import (
    Wanted,
    appointments_for_day,
    find_availability,
    from_ts,
    resources_at,
)
from medspa.scheduling.setup import schedule_setup

router = Router(tags=["scheduling"])

MAX_AVAILABILITY_DAYS = 62


# ---- helpers ---------------------------------------------------------------------------


def local_iso(moment: datetime, location: Location) -> str:
    return moment.astimezone(location.zone).isoformat()


def _owned_location(who: Staff, pk: Any, field: str = "location") -> Location:
    return schedule_setup(who.organization).location(pk, field)


def _owned_service(who: Staff, pk: Any, field: str) -> Service:
    return schedule_setup(who.organization).service(pk, field)


def _owned_provider(who: Staff, pk: Any, field: str) -> Resource | None:
    return None if pk is None else schedule_setup(who.organization).provider(pk, field)


def _owned_appointment(who: Staff, pk: int) -> Appointment:
    return get_owned(
        Appointment.objects.select_related("location", "client"),
        organization=who.organization,
        pk=pk,
        field="appointment_id",
    )


# ---- resources, hours, blocks -----------------------------------------------------------


class ResourceOut(Schema):
    id: int
    kind: str
    name: str
    title: str
    location: int | None = Field(None, alias="location_id")
    capabilities: list[str]
    color: str


@router.get("/resources", response=ListOut[ResourceOut])
def list_resources(
    request: HttpRequest, location: int | None = None, kind: str | None = None
) -> dict[str, object]:
    who = staff(request, "resources.view")
    kinds = [kind] if kind else None
    if location is not None:
        qs = resources_at(who.organization, _owned_location(who, location), kinds=kinds)
    else:
        qs = Resource.objects.filter(organization=who.organization, is_active=True)
        if kinds:
            qs = qs.filter(kind__in=kinds)
    items = list(qs)
    return {"items": items, "count": len(items)}


@router.get("/resources/{resource_id}", response=ResourceOut)
def get_resource(request: HttpRequest, resource_id: int) -> Resource:
    who = staff(request, "resources.view")
    return get_owned(Resource, organization=who.organization, pk=resource_id, field="resource_id")


class WorkingHoursIn(Schema):
    location: int
    weekday: int = Field(..., ge=0, le=6, description="0 = Monday")
    start_time: time = Field(..., description="Local wall clock of the location, no offset")
    end_time: time
    valid_from: date | None = None
    valid_until: date | None = None

    @field_validator("start_time", "end_time")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("Give the location's wall-clock time without a UTC offset.")
        return value


class WorkingHoursOut(Schema):
    id: int
    resource: int = Field(..., alias="resource_id")
    location: int = Field(..., alias="location_id")
    weekday: int
    start_time: time
    end_time: time
    valid_from: date | None
    valid_until: date | None


@router.get("/resources/{resource_id}/working-hours", response=ListOut[WorkingHoursOut])
def list_working_hours(request: HttpRequest, resource_id: int) -> dict[str, object]:
    who = staff(request, "resources.view")
    resource = get_owned(
        Resource, organization=who.organization, pk=resource_id, field="resource_id"
    )
    items = list(WorkingHours.objects.filter(resource=resource))
    return {"items": items, "count": len(items)}


@router.post("/resources/{resource_id}/working-hours", response={201: WorkingHoursOut})
def post_working_hours(
    request: HttpRequest, resource_id: int, payload: WorkingHoursIn
) -> Status[WorkingHours]:
    who = staff(request, "hours.manage")
    resource = get_owned(
        Resource, organization=who.organization, pk=resource_id, field="resource_id"
    )
    data = payload.dict()
    data["location"] = _owned_location(who, payload.location)
    hours = add_working_hours(
        organization=who.organization, actor=who.user, resource=resource, **data
    )
    return Status(201, hours)


@router.delete("/working-hours/{hours_id}", response={204: None})
def delete_working_hours(request: HttpRequest, hours_id: int) -> Status[None]:
    who = staff(request, "hours.manage")
    hours = get_owned(WorkingHours, organization=who.organization, pk=hours_id, field="hours_id")
    remove_working_hours(actor=who.user, hours=hours)
    return Status(204, None)


class BlockIn(Schema):
    start: Moment
    end: Moment
    reason: Literal["time_off", "holiday", "maintenance", "training", "other"]
    note: ShortText = ""
    location: int | None = Field(
        None, description="Whose clock reads dates and naive times; defaults to the resource's."
    )


class BlockOut(Schema):
    id: int
    resource: int | None = Field(None, alias="resource_id")
    location: int | None = Field(None, alias="location_id")
    start: datetime
    end: datetime
    reason: str
    note: str


@router.get("/resources/{resource_id}/blocks", response=ListOut[BlockOut])
def list_blocks(request: HttpRequest, resource_id: int) -> dict[str, object]:
    who = staff(request, "resources.view")
    resource = get_owned(
        Resource, organization=who.organization, pk=resource_id, field="resource_id"
    )
    items = list(ResourceBlock.objects.filter(resource=resource))
    return {"items": items, "count": len(items)}


@router.post("/resources/{resource_id}/blocks", response={201: BlockOut})
def post_block(request: HttpRequest, resource_id: int, payload: BlockIn) -> Status[ResourceBlock]:
    who = staff(request, "hours.manage")
    resource = get_owned(
        Resource, organization=who.organization, pk=resource_id, field="resource_id"
    )
    home = block_clock(who, resource, payload.location)
    block = add_block(
        organization=who.organization,
        actor=who.user,
        resource=resource,
        start=parse_moment(payload.start, home, "start"),
        end=parse_moment(payload.end, home, "end", end=True),
        reason=payload.reason,
        note=payload.note,
    )
    return Status(201, block)


def block_clock(who: Staff, resource: Resource, location: int | None) -> Location:
    """The location whose wall clock reads a block's dates: asked for, or the resource's own."""
    setup = schedule_setup(who.organization, fresh=True)
    if location is not None:
        return setup.location(location, "location")
    if resource.location_id is not None:
        return setup.location(resource.location_id, "location")
    worked = sorted(lid for (rid, lid) in setup.hours if rid == resource.pk)
    if len(worked) == 1:
        return setup.location(worked[0], "location")
    raise Invalid.on(
        "location",
        f"{resource.name} works at several locations (or none): say whose clock the times use.",
    )


@router.delete("/blocks/{block_id}", response={204: None})
def delete_block(request: HttpRequest, block_id: int) -> Status[None]:
    who = staff(request, "hours.manage")
    block = get_owned(ResourceBlock, organization=who.organization, pk=block_id, field="block_id")
    remove_block(actor=who.user, block=block)
    return Status(204, None)


# ---- availability -----------------------------------------------------------------------


class SlotOut(Schema):
    start: str
    end: str
    provider: int | None
    resources: list[int]


class ReasonOut(Schema):
    code: str
    role: str | None
    message: str


class AvailabilityOut(Schema):
    location: int
    service: int
    time_zone: str
    slots: list[SlotOut]
    reasons: list[ReasonOut]


@router.get("/availability", response=AvailabilityOut)
def get_availability(
    request: HttpRequest,
    location: int,
    service: int,
    start: str,
    end: str,
    provider: int | None = None,
) -> dict[str, object]:
    who = staff(request, "schedule.view")
    where = _owned_location(who, location)
    wanted = Wanted(
        _owned_service(who, service, "service"), _owned_provider(who, provider, "provider")
    )
    window_start = parse_moment(start, where, "start")
    window_end = parse_moment(end, where, "end", end=True)
    if window_end <= window_start:
        raise Invalid.on("end", "The end must come after the start.")
    if window_end - window_start > timedelta(days=MAX_AVAILABILITY_DAYS):
        raise Invalid.on("end", f"Ask for at most {MAX_AVAILABILITY_DAYS} days at a time.")
    booking.check_wanted(where, [wanted])
    found = find_availability(
        organization=who.organization,
        location=where,
        wanted=[wanted],
        start=window_start,
        end=window_end,
        now=datetime.now(tz=UTC),
    )
    zone = where.zone
    slots = []
    for slot in found.slots:
        assigned = dict(slot.assignment)
        slots.append(
            {
                "start": from_ts(slot.start).astimezone(zone).isoformat(),
                "end": from_ts(slot.end).astimezone(zone).isoformat(),
                "provider": assigned.get("0:provider"),
                "resources": [rid for _, rid in slot.assignment],
            }
        )
    return {
        "location": where.pk,
        "service": wanted.service.pk,
        "time_zone": where.time_zone,
        "slots": slots,
        "reasons": [{"code": r.code, "role": r.role, "message": r.message} for r in found.reasons],
    }


# ---- appointments -----------------------------------------------------------------------


class ServiceChoice(Schema):
    service: int
    provider: int | None = None


class AppointmentIn(Schema):
    client: int
    location: int
    start: Moment
    service: int | None = None
    provider: int | None = None
    services: list[ServiceChoice] | None = None
    notes: LongText = ""


class RescheduleIn(Schema):
    start: Moment
    provider: int | None = None
    providers: list[int | None] | None = None


class CancelIn(Schema):
    reason: ShortText


class StatusIn(Schema):
    status: Name
    reason: ShortText = ""
    # A manager's written reason to start treatment despite the gate's gaps.
    override_reason: LongText = ""


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    """The API's view of an appointment (lines and reservations must be prefetched)."""
    location = appointment.location
    return {
        "id": appointment.pk,
        "location": appointment.location_id,
        "client": {"id": appointment.client_id, "name": appointment.client.full_name},
        "status": appointment.status,
        "start": local_iso(appointment.start, location),
        "end": local_iso(appointment.end, location),
        "notes": appointment.notes,
        "cancel_reason": appointment.cancel_reason,
        "services": [
            {
                "service": line.service_id,
                "name": line.service.name,
                "provider": line.provider_id,
                "start": local_iso(line.start, location),
                "end": local_iso(line.end, location),
                "price_cents": line.price_cents,
            }
            for line in appointment.lines.all()
        ],
        "reservations": [
            {
                "resource": r.resource_id,
                "role": r.role,
                "start": local_iso(r.start, location),
                "end": local_iso(r.end, location),
                "active": r.active,
            }
            for r in appointment.reservations.all()
        ],
    }


def _reloaded(appointment: Appointment) -> dict[str, Any]:
    fresh = (
        Appointment.objects.select_related("location", "client")
        .prefetch_related("lines__service", "reservations")
        .get(pk=appointment.pk)
    )
    return appointment_out(fresh)


def _idempotent(who: Staff, key: str | None, scope: str, payload: Any, act: Any) -> HttpResponse:
    status, body = run_idempotent(
        organization=who.organization, key=key, scope=scope, payload=payload, action=act
    )
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


@router.get("/appointments", response=ListOut[dict[str, Any]])
def list_appointments(
    request: HttpRequest,
    location: int,
    date: date,
    resource: int | None = None,
    include_cancelled: bool = True,
) -> dict[str, object]:
    who = staff(request, "schedule.view")
    where = _owned_location(who, location)
    held_by = (
        get_owned(Resource, organization=who.organization, pk=resource, field="resource")
        if resource is not None
        else None
    )
    appointments = appointments_for_day(
        who.organization, where, date, resource=held_by, include_cancelled=include_cancelled
    )
    items = []
    for appointment in appointments:
        appointment.location = where
        items.append(appointment_out(appointment))
    return {"items": items, "count": len(items)}


@router.get("/appointments/{appointment_id}", response=dict[str, Any])
def get_appointment(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    who = staff(request, "schedule.view")
    return _reloaded(_owned_appointment(who, appointment_id))


@router.post("/appointments", response={201: dict[str, Any]})
def post_appointment(
    request: HttpRequest,
    payload: AppointmentIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:
    who = staff(request, "appointments.book")
    if payload.services and payload.service is not None:
        raise Invalid.on("services", "Give either `service` or `services`, not both.")
    if payload.services:
        choices = payload.services
        fields = [(f"services.{i}.service", f"services.{i}.provider") for i in range(len(choices))]
    elif payload.service is not None:
        choices = [ServiceChoice(service=payload.service, provider=payload.provider)]
        fields = [("service", "provider")]
    else:
        raise Invalid.on("service", "Choose a service (or a list of `services`).")
    client = get_owned(Client, organization=who.organization, pk=payload.client, field="client")
    where = _owned_location(who, payload.location)
    wanted = [
        Wanted(_owned_service(who, c.service, sf), _owned_provider(who, c.provider, pf))
        for c, (sf, pf) in zip(choices, fields, strict=True)
    ]
    start = parse_moment(payload.start, where, "start")

    def act() -> tuple[int, dict[str, Any]]:
        appointment = booking.book_appointment(
            organization=who.organization,
            actor=who.user,
            client=client,
            location=where,
            start=start,
            wanted=wanted,
            notes=payload.notes,
        )
        return 201, appointment_out(appointment)

    return _idempotent(who, idempotency_key, "appointments.book", payload.dict(), act)


@router.post("/appointments/{appointment_id}/reschedule", response=dict[str, Any])
def post_reschedule(
    request: HttpRequest,
    appointment_id: int,
    payload: RescheduleIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:
    who = staff(request, "appointments.reschedule")
    appointment = _owned_appointment(who, appointment_id)
    start = parse_moment(payload.start, appointment.location, "start")
    providers: list[Resource | None] | None = None
    if payload.providers is not None:
        providers = [
            _owned_provider(who, p, f"providers.{i}") for i, p in enumerate(payload.providers)
        ]
    elif "provider" in payload.model_fields_set:
        providers = [_owned_provider(who, payload.provider, "provider")] * appointment.lines.count()

    def act() -> tuple[int, dict[str, Any]]:
        moved = booking.reschedule_appointment(
            appointment=appointment, actor=who.user, start=start, providers=providers
        )
        return 200, appointment_out(moved)

    scope = f"appointments.{appointment.pk}.reschedule"
    return _idempotent(who, idempotency_key, scope, payload.dict(), act)


@router.post("/appointments/{appointment_id}/cancel", response=dict[str, Any])
def post_cancel(
    request: HttpRequest,
    appointment_id: int,
    payload: CancelIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:
    who = staff(request, "appointments.cancel")
    appointment = _owned_appointment(who, appointment_id)

    def act() -> tuple[int, dict[str, Any]]:
        cancelled = booking.cancel_appointment(
            appointment=appointment, actor=who.user, reason=payload.reason
        )
        return 200, _reloaded(cancelled)

    scope = f"appointments.{appointment.pk}.cancel"
    return _idempotent(who, idempotency_key, scope, payload.dict(), act)


@router.post("/appointments/{appointment_id}/status", response=dict[str, Any])
def post_status(request: HttpRequest, appointment_id: int, payload: StatusIn) -> dict[str, Any]:
    who = staff(request, "appointments.status")
    appointment = _owned_appointment(who, appointment_id)
    if payload.status == "cancelled":
        staff(request, "appointments.cancel")
    changed = booking.change_status(
        appointment=appointment,
        actor=who.user,
        status=payload.status,
        reason=payload.reason,
        override_reason=payload.override_reason,
    )
    return _reloaded(changed)
