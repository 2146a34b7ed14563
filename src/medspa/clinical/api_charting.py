"""Charts: the API routes for charting an appointment, its photos, aftercare and charges.

A record is looked up in the caller's organization before the role is checked, so another
organization's id answers 404 whatever the role, and one's own record 403 when the role
may not act on it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from medspa.clients.models import Client
from medspa.clinical import charting
from medspa.clinical.models import (
    AftercareSent,
    AftercareTemplate,
    Chart,
    ChartAddendum,
    ChartPhoto,
    DeviceSetting,
    InjectableEntry,
)
from medspa.core.errors import Invalid
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, Name, ShortText, Staff, staff

router = Router(tags=["charts"])

ServiceIds = Annotated[list[int], Field(max_length=200)]
NotesText = Annotated[str, Field(max_length=charting.MAX_NOTES)]


def _caller(request: HttpRequest) -> Staff:
    """Any staff member; the action is checked once the record is known to be theirs."""
    return staff(request, "schedule.view")


def _chart(who: Staff, chart_id: int, action: str) -> Chart:
    chart = charting.chart_of(who.organization, chart_id)
    require(who.user, action)
    return chart


# --- schemas ------------------------------------------------------------------------------


class SiteIn(Schema):
    site: Name
    quantity: Decimal | None = None


class InjectableIn(Schema):
    kind: Name
    product: ShortText
    quantity: Decimal
    unit: Name
    lot_number: Name
    expiry: date
    sites: Annotated[list[SiteIn], Field(max_length=60)] = []


class DeviceSettingIn(Schema):
    device: int
    area: Name = ""
    fluence: Decimal
    pulse_width_ms: Decimal
    spot_size_mm: Decimal
    passes: int


class NotesIn(Schema):
    notes: NotesText


class AddendumIn(Schema):
    text: Annotated[str, Field(max_length=charting.MAX_ADDENDUM)]


class AftercareIn(Schema):
    template: int


class AftercareTemplateIn(Schema):
    name: ShortText
    subject: ShortText
    body: Annotated[str, Field(max_length=10_000)]
    services: ServiceIds = []


class AftercareTemplatePatchIn(Schema):
    name: ShortText | None = None
    subject: ShortText | None = None
    body: Annotated[str, Field(max_length=10_000)] | None = None
    services: ServiceIds | None = None
    is_active: bool | None = None


class SiteOut(Schema):
    site: str
    x: float
    y: float
    quantity: str | None = None


class InjectableOut(Schema):
    id: int
    kind: str
    product: str
    quantity: Decimal
    unit: str
    lot_number: str
    expiry: date
    sites: list[SiteOut]


class DeviceSettingOut(Schema):
    id: int
    device: int
    device_name: str
    area: str
    fluence: Decimal
    pulse_width_ms: Decimal
    spot_size_mm: Decimal
    passes: int

    @staticmethod
    def resolve_device(obj: DeviceSetting) -> int:
        return obj.device_id

    @staticmethod
    def resolve_device_name(obj: DeviceSetting) -> str:
        return obj.device.name


class PhotoOut(Schema):
    id: int
    kind: str
    area: str
    content_type: str
    size: int
    sha256: str
    taken_at: datetime


class AddendumOut(Schema):
    id: int
    text: str
    author: str
    created_at: datetime

    @staticmethod
    def resolve_author(obj: ChartAddendum) -> str:
        return obj.author.full_name or obj.author.email


class AftercareSentOut(Schema):
    id: int
    template: int | None
    subject: str
    body: str
    sent_to: str
    sent_at: datetime

    @staticmethod
    def resolve_template(obj: AftercareSent) -> int | None:
        return obj.template_id


class ChartOut(Schema):
    id: int
    appointment: int
    client: int
    provider: int | None
    status: str
    notes: str
    created_at: datetime
    updated_at: datetime
    signed_by: str
    signed_at: datetime | None
    injectables: list[InjectableOut]
    device_settings: list[DeviceSettingOut]
    photos: list[PhotoOut]
    addenda: list[AddendumOut]
    aftercare: list[AftercareSentOut]

    @staticmethod
    def resolve_appointment(obj: Chart) -> int:
        return obj.appointment_id

    @staticmethod
    def resolve_client(obj: Chart) -> int:
        return obj.client_id

    @staticmethod
    def resolve_provider(obj: Chart) -> int | None:
        return obj.provider_id

    @staticmethod
    def resolve_signed_by(obj: Chart) -> str:
        return charting.who_signed(obj)

    @staticmethod
    def resolve_injectables(obj: Chart) -> list[InjectableEntry]:
        return list(obj.injectables.all())

    @staticmethod
    def resolve_device_settings(obj: Chart) -> list[DeviceSetting]:
        return list(obj.device_settings.all())

    @staticmethod
    def resolve_photos(obj: Chart) -> list[ChartPhoto]:
        return list(obj.photos.all())

    @staticmethod
    def resolve_addenda(obj: Chart) -> list[ChartAddendum]:
        return list(obj.addenda.all())

    @staticmethod
    def resolve_aftercare(obj: Chart) -> list[AftercareSent]:
        return list(obj.aftercare.all())


class ChartStateOut(Schema):
    """Whether the appointment has a chart yet, and the chart when it has."""

    appointment: int
    status: str
    chart: ChartOut | None


class ChargeLineOut(Schema):
    kind: str
    product: str
    quantity: Decimal
    unit: str
    lot_number: str
    expiry: date


class DeviceUseOut(Schema):
    device_id: int
    device: str
    area: str
    passes: int


class ServiceUseOut(Schema):
    id: int
    name: str


class ChargesOut(Schema):
    appointment: int
    chart_status: str
    services: list[ServiceUseOut]
    products: list[ChargeLineOut]
    devices: list[DeviceUseOut]


class ChartSummaryOut(Schema):
    chart_id: int
    appointment_id: int
    start: datetime
    services: str
    provider: str
    status: str
    signed_by: str
    signed_at: datetime | None
    entries: list[str]
    photo_ids: list[int]


class ServiceRefOut(Schema):
    id: int
    name: str


class AftercareTemplateOut(Schema):
    id: int
    name: str
    subject: str
    body: str
    is_active: bool
    services: list[ServiceRefOut]

    @staticmethod
    def resolve_services(obj: AftercareTemplate) -> list[Any]:
        return list(obj.services.all())


def _detail(who: Staff, chart: Chart) -> Chart:
    appointment = charting.appointment_for_chart(who.organization, chart.appointment_id)
    found = charting.chart_detail(who.organization, appointment)
    assert found is not None
    return found


# --- charts -------------------------------------------------------------------------------


@router.get("/appointments/{appointment_id}/chart", response=ChartStateOut)
def get_chart(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    """The appointment's chart (the read is audited), or status not_started."""
    who = _caller(request)
    appointment = charting.appointment_for_chart(who.organization, appointment_id)
    require(who.user, "chart.view")
    chart = charting.view_chart(
        organization=who.organization, actor=who.user, appointment=appointment
    )
    return {
        "appointment": appointment.pk,
        "status": chart.status if chart else "not_started",
        "chart": chart,
    }


@router.post("/appointments/{appointment_id}/chart", response={200: ChartOut, 201: ChartOut})
def open_chart(request: HttpRequest, appointment_id: int) -> Status[Chart]:
    """Start the appointment's chart (once checked in); an existing chart is returned."""
    who = _caller(request)
    appointment = charting.appointment_for_chart(who.organization, appointment_id)
    require(who.user, "chart.write")
    existed = Chart.objects.filter(appointment=appointment).exists()
    chart = charting.open_chart(appointment=appointment, actor=who.user)
    return Status(200 if existed else 201, _detail(who, chart))


@router.patch("/charts/{chart_id}", response=ChartOut)
def update_notes(request: HttpRequest, chart_id: int, payload: NotesIn) -> Chart:
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.write")
    charting.update_chart_notes(chart=chart, actor=who.user, notes=payload.notes)
    return _detail(who, chart)


@router.post("/charts/{chart_id}/injectables", response={201: InjectableOut})
def add_injectable(
    request: HttpRequest, chart_id: int, payload: InjectableIn
) -> Status[InjectableEntry]:
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.write")
    entry = charting.add_injectable(
        chart=chart,
        actor=who.user,
        kind=payload.kind,
        product=payload.product,
        quantity=payload.quantity,
        unit=payload.unit,
        lot_number=payload.lot_number,
        expiry=payload.expiry,
        sites=[s.dict() for s in payload.sites],
    )
    return Status(201, entry)


@router.delete("/charts/{chart_id}/injectables/{entry_id}", response={204: None})
def remove_injectable(request: HttpRequest, chart_id: int, entry_id: int) -> Status[None]:
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.write")
    charting.remove_injectable(chart=chart, actor=who.user, entry_id=entry_id)
    return Status(204, None)


@router.post("/charts/{chart_id}/device-settings", response={201: DeviceSettingOut})
def add_device_setting(
    request: HttpRequest, chart_id: int, payload: DeviceSettingIn
) -> Status[DeviceSetting]:
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.write")
    setting = charting.add_device_setting(
        chart=chart,
        actor=who.user,
        device_id=payload.device,
        area=payload.area,
        fluence=payload.fluence,
        pulse_width_ms=payload.pulse_width_ms,
        spot_size_mm=payload.spot_size_mm,
        passes=payload.passes,
    )
    return Status(201, setting)


@router.delete("/charts/{chart_id}/device-settings/{setting_id}", response={204: None})
def remove_device_setting(request: HttpRequest, chart_id: int, setting_id: int) -> Status[None]:
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.write")
    charting.remove_device_setting(chart=chart, actor=who.user, setting_id=setting_id)
    return Status(204, None)


@router.post("/charts/{chart_id}/photos", response={201: PhotoOut})
def add_photo(
    request: HttpRequest,
    chart_id: int,
    photo: File[UploadedFile | None] = None,
    kind: Form[str] = "",
    area: Form[str] = "",
) -> Status[ChartPhoto]:
    """Upload a before or after photo (multipart: photo, kind, area); JPEG or PNG."""
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.write")
    if photo is None:
        raise Invalid.on("photo", "Choose a photo to upload.")
    created = charting.add_photo(
        chart=chart, actor=who.user, upload=photo, kind=kind[:20], area=area[:100]
    )
    return Status(201, created)


@router.get("/charts/photos/{photo_id}", response={200: None})
def photo_bytes(request: HttpRequest, photo_id: int, thumbnail: bool = False) -> HttpResponse:
    """The photo's image (or `?thumbnail=true`); every read is audited."""
    who = _caller(request)
    get_owned(ChartPhoto, organization=who.organization, pk=photo_id, field="photo")
    require(who.user, "chart.view")
    data, content_type = charting.read_photo(
        organization=who.organization, actor=who.user, photo_id=photo_id, thumbnail=thumbnail
    )
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@router.post("/charts/{chart_id}/sign", response=ChartOut)
def sign(request: HttpRequest, chart_id: int) -> Chart:
    """The treating provider signs the chart; it is locked from then on."""
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.sign")
    charting.sign_chart(chart=chart, actor=who.user)
    return _detail(who, chart)


@router.post("/charts/{chart_id}/addenda", response={201: AddendumOut})
def add_addendum(request: HttpRequest, chart_id: int, payload: AddendumIn) -> Status[ChartAddendum]:
    who = _caller(request)
    chart = _chart(who, chart_id, "chart.addendum")
    return Status(201, charting.add_addendum(chart=chart, actor=who.user, text=payload.text))


@router.post("/charts/{chart_id}/aftercare", response={201: AftercareSentOut})
def send_aftercare(
    request: HttpRequest, chart_id: int, payload: AftercareIn
) -> Status[AftercareSent]:
    """E-mail the client an aftercare template for this visit."""
    who = _caller(request)
    chart = _chart(who, chart_id, "aftercare.send")
    sent = charting.send_aftercare(chart=chart, actor=who.user, template_id=payload.template)
    return Status(201, sent)


@router.get("/appointments/{appointment_id}/charges", response=ChargesOut)
def charges(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    """What was used at the visit, for billing: services, products and lots, devices."""
    who = _caller(request)
    appointment = charting.appointment_for_chart(who.organization, appointment_id)
    require(who.user, "chart.charges")
    found = charting.chart_charges(
        organization=who.organization, actor=who.user, appointment=appointment
    )
    return {
        "appointment": found.appointment_id,
        "chart_status": found.chart_status,
        "services": [{"id": i, "name": n} for i, n in found.services],
        "products": found.products,
        "devices": found.devices,
    }


@router.get("/clients/{client_id}/charts", response=ListOut[ChartSummaryOut])
def client_charts(request: HttpRequest, client_id: int) -> dict[str, Any]:
    """The client's charts, newest first, without notes (the read is audited)."""
    who = _caller(request)
    client = get_owned(Client, organization=who.organization, pk=client_id, field="client")
    require(who.user, "chart.view")
    found = charting.client_charts(organization=who.organization, actor=who.user, client=client)
    return {"items": found, "count": len(found)}


# --- aftercare templates ------------------------------------------------------------------


@router.get("/aftercare/templates", response=ListOut[AftercareTemplateOut])
def list_aftercare_templates(request: HttpRequest) -> dict[str, Any]:
    who = staff(request, "aftercare.send")
    found = charting.aftercare_templates(who.organization)
    return {"items": found, "count": len(found)}


@router.post("/aftercare/templates", response={201: AftercareTemplateOut})
def create_aftercare_template(
    request: HttpRequest, payload: AftercareTemplateIn
) -> Status[AftercareTemplate]:
    """A new aftercare template; {first_name}, {service}, {provider}, {clinic} are filled in."""
    who = staff(request, "aftercare.manage")
    template = charting.create_aftercare_template(
        organization=who.organization,
        actor=who.user,
        name=payload.name,
        subject=payload.subject,
        body=payload.body,
        service_ids=payload.services,
    )
    return Status(201, template)


@router.patch("/aftercare/templates/{aftercare_id}", response=AftercareTemplateOut)
def update_aftercare_template(
    request: HttpRequest, aftercare_id: int, payload: AftercareTemplatePatchIn
) -> AftercareTemplate:
    who = _caller(request)
    template = get_owned(
        AftercareTemplate,
        organization=who.organization,
        pk=aftercare_id,
        field="template",
        label="aftercare template",
    )
    require(who.user, "aftercare.manage")
    changed = charting.update_aftercare_template(
        organization=who.organization,
        actor=who.user,
        template=template,
        changes=payload.dict(exclude_unset=True),
    )
    return AftercareTemplate.objects.prefetch_related("services").get(pk=changed.pk)
