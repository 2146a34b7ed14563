"""Charts of appointments: notes, injectables, device settings, photos, aftercare, signing.

Writes are one transaction and one audit event each; a signed chart is locked and later
changes are addenda. Reads of clinical content by staff are audited too (ids and counts,
never the content). Permissions are checked by the callers (router and pages); the rules
here are the clinic's: what may be charted when, and by whom a chart is signed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from medspa.catalog.models import Service
from medspa.clients.models import Channel, Client, Purpose
from medspa.clients.selectors import may_contact
from medspa.clinical import face_sites
from medspa.clinical.models import (
    AftercareSent,
    AftercareTemplate,
    Chart,
    ChartAddendum,
    ChartPhoto,
    ChartPhotoContent,
    ChartStatus,
    DeviceSetting,
    DoseUnit,
    InjectableEntry,
    InjectableKind,
    PhotoKind,
)
from medspa.clinical.selectors import owned_services
from medspa.clinical.signals import chart_signed
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid, NotFound
from medspa.core.models import Organization, Role, User
from medspa.core.selectors import get_owned
from medspa.scheduling.models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Resource,
    ResourceKind,
)

MAX_NOTES = 20_000
MAX_ADDENDUM = 5_000
MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTO_PIXELS = 60_000_000
THUMBNAIL_PX = 320
# Which unit each kind is dosed in: neurotoxin in units, fillers by volume.
log = logging.getLogger(__name__)
UNITS_BY_KIND: dict[str, frozenset[str]] = {
    InjectableKind.NEUROTOXIN: frozenset({DoseUnit.UNITS}),
    InjectableKind.FILLER: frozenset({DoseUnit.ML}),
    InjectableKind.BIOSTIMULATOR: frozenset({DoseUnit.ML}),
    InjectableKind.OTHER: frozenset({DoseUnit.UNITS, DoseUnit.ML}),
}
MAX_DOSE = {DoseUnit.UNITS: Decimal("400"), DoseUnit.ML: Decimal("20")}
# Sensible ceilings for energy devices: a typo (1500 J/cm²) is refused, not charted.
DEVICE_LIMITS = {
    "fluence": (Decimal("0.01"), Decimal("500")),
    "pulse_width_ms": (Decimal("0.001"), Decimal("10000")),
    "spot_size_mm": (Decimal("0.1"), Decimal("100")),
}
MAX_PASSES = 20
# Common products for the page's suggestions; any product name may be charted.
PRODUCTS: tuple[tuple[str, str], ...] = (
    ("Botox Cosmetic", InjectableKind.NEUROTOXIN),
    ("Dysport", InjectableKind.NEUROTOXIN),
    ("Xeomin", InjectableKind.NEUROTOXIN),
    ("Daxxify", InjectableKind.NEUROTOXIN),
    ("Jeuveau", InjectableKind.NEUROTOXIN),
    ("Juvederm Ultra XC", InjectableKind.FILLER),
    ("Juvederm Voluma XC", InjectableKind.FILLER),
    ("Juvederm Volbella XC", InjectableKind.FILLER),
    ("Restylane Lyft", InjectableKind.FILLER),
    ("Restylane Kysse", InjectableKind.FILLER),
    ("Restylane Defyne", InjectableKind.FILLER),
    ("RHA 2", InjectableKind.FILLER),
    ("RHA 4", InjectableKind.FILLER),
    ("Radiesse", InjectableKind.BIOSTIMULATOR),
    ("Sculptra", InjectableKind.BIOSTIMULATOR),
)
# An appointment is charted once the client is here, or afterwards.
CHARTABLE_STATUSES = frozenset(
    {AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_TREATMENT, AppointmentStatus.COMPLETED}
)
# Products, device settings and the signature record a treatment: only once it has started,
# which the treatment gate (intake, reviews, consent) or a manager's override allowed.
TREATED_STATUSES = frozenset({AppointmentStatus.IN_TREATMENT, AppointmentStatus.COMPLETED})
PLACEHOLDERS = ("first_name", "service", "provider", "clinic")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


# --- helpers ------------------------------------------------------------------------------


def _event(chart: Chart, actor: User | None, action: str, **data: Any) -> None:
    record_event(
        organization=chart.organization,
        actor=actor,
        action=f"chart.{action}",
        object_type="chart",
        object_id=chart.pk,
        data={"appointment": chart.appointment_id, **data},
    )


def _locked_draft(chart: Chart) -> Chart:
    """Re-read the chart under lock; a signed chart refuses every change (409)."""
    current = Chart.objects.select_for_update().get(
        pk=chart.pk, organization_id=chart.organization_id
    )
    if current.is_locked:
        raise Conflict(
            "This chart is signed and locked; nothing was changed. Add an addendum instead.",
            [FieldError("chart", "Signed charts cannot change.")],
            code="chart_locked",
        )
    return current


def _require_treatment(chart: Chart) -> None:
    """Refuse (409) to record treatment on a visit whose treatment has not started."""
    status = (
        Appointment.objects.filter(pk=chart.appointment_id).values_list("status", flat=True).get()
    )
    if status not in TREATED_STATUSES:
        raise Conflict(
            "Treatment has not started: press Start in the appointment (it checks intake, "
            "reviews and consent), then chart products and settings and sign. Nothing was "
            "changed.",
            [FieldError("chart", "Start the treatment first.")],
            code="treatment_not_started",
        )


def _row_of(qs: Any, pk: object, field_name: str) -> Any:
    """One row of the chart, or 404 naming the field."""
    found = qs.filter(pk=int(str(pk))).first() if str(pk).isdigit() else None
    if found is None:
        reason = f"No {field_name} with id {pk} on this chart."
        raise NotFound(reason, [FieldError(field_name, reason)])
    return found


def _touch(chart: Chart, now: datetime) -> None:
    chart.updated_at = now
    chart.save(update_fields=["updated_at"])


def who_signed(chart: Chart) -> str:
    user = chart.signed_by
    return (user.full_name or user.email) if user else ""


def provider_of(appointment: Appointment) -> Resource | None:
    """The appointment's provider: the first service's, else any line's."""
    lines = sorted(appointment.lines.all(), key=lambda line: line.position)
    return next((line.provider for line in lines if line.provider_id), None)


def _money(value: Any, field_name: str, bounds: tuple[Decimal, Decimal], places: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise Invalid.on(field_name, "Give a number.") from None
    low, high = bounds
    if not amount.is_finite() or not low <= amount <= high:
        raise Invalid.on(field_name, f"Give a number from {low} to {high}.")
    if amount != amount.quantize(Decimal(places)):
        raise Invalid.on(field_name, f"Use at most {len(places) - 2} decimals.")
    return amount


# --- reads --------------------------------------------------------------------------------


def appointment_for_chart(organization: Organization, appointment_id: object) -> Appointment:
    """The organization's appointment with its client, location and services, or 404."""
    lines = AppointmentService.objects.select_related("service", "provider").order_by("position")
    qs = Appointment.objects.select_related("location", "client").prefetch_related(
        Prefetch("lines", queryset=lines)
    )
    return get_owned(qs, organization=organization, pk=appointment_id, field="appointment")


def chart_of(organization: Organization, chart_id: object) -> Chart:
    """One chart of the organization (no content loaded, no audit), or 404."""
    return get_owned(Chart, organization=organization, pk=chart_id, field="chart")


def chart_detail(organization: Organization, appointment: Appointment) -> Chart | None:
    """The appointment's chart with everything on it, in a constant number of queries."""
    qs = (
        Chart.objects.filter(organization=organization, appointment=appointment)
        .select_related("signed_by", "provider")
        .prefetch_related(
            Prefetch("injectables", queryset=InjectableEntry.objects.order_by("id")),
            Prefetch("device_settings", queryset=DeviceSetting.objects.select_related("device")),
            Prefetch("photos", queryset=ChartPhoto.objects.order_by("taken_at", "id")),
            Prefetch("addenda", queryset=ChartAddendum.objects.select_related("author")),
            Prefetch("aftercare", queryset=AftercareSent.objects.select_related("sent_by")),
        )
    )
    return qs.first()


def view_chart(
    *, organization: Organization, actor: User | None, appointment: Appointment
) -> Chart | None:
    """The appointment's chart for a staff member; the read is audited when there is one."""
    chart = chart_detail(organization, appointment)
    if chart is not None:
        with transaction.atomic():
            _event(
                chart,
                actor,
                "viewed",
                injectables=len(chart.injectables.all()),
                photos=len(chart.photos.all()),
                addenda=len(chart.addenda.all()),
            )
    return chart


@dataclass(frozen=True)
class ChargeLine:
    kind: str
    product: str
    quantity: Decimal
    unit: str
    lot_number: str
    expiry: date


@dataclass(frozen=True)
class DeviceUse:
    device_id: int
    device: str
    area: str
    passes: int


@dataclass(frozen=True)
class Charges:
    """What was used at a visit, for billing: never notes, photos or injection sites."""

    appointment_id: int
    chart_status: str
    services: list[tuple[int, str]]
    products: list[ChargeLine] = field(default_factory=list)
    devices: list[DeviceUse] = field(default_factory=list)


def chart_charges(
    *, organization: Organization, actor: User | None, appointment: Appointment
) -> Charges:
    """The services, products with quantities and lots, and devices of a visit."""
    services = [(line.service_id, line.service.name) for line in appointment.lines.all()]
    chart = (
        Chart.objects.filter(organization=organization, appointment=appointment)
        .only("id", "status", "organization", "appointment")
        .prefetch_related(
            Prefetch(
                "injectables",
                queryset=InjectableEntry.objects.only(
                    "id", "chart_id", "kind", "product", "quantity", "unit", "lot_number", "expiry"
                ).order_by("id"),
            ),
            Prefetch(
                "device_settings",
                queryset=DeviceSetting.objects.select_related("device").only(
                    "id", "chart_id", "area", "passes", "device__id", "device__name"
                ),
            ),
        )
        .first()
    )
    if chart is None:
        return Charges(appointment_id=appointment.pk, chart_status="not_started", services=services)
    products = [
        ChargeLine(e.kind, e.product, e.quantity, e.unit, e.lot_number, e.expiry)
        for e in chart.injectables.all()
    ]
    devices = [
        DeviceUse(s.device_id, s.device.name, s.area, s.passes) for s in chart.device_settings.all()
    ]
    with transaction.atomic():
        _event(chart, actor, "charges_viewed", products=len(products), devices=len(devices))
    return Charges(appointment.pk, chart.status, services, products, devices)


@dataclass(frozen=True)
class ChartSummary:
    """One chart of a client for the record's list: no notes, no photo bytes."""

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

    @property
    def photo_count(self) -> int:
        return len(self.photo_ids)


def client_charts(
    *, organization: Organization, actor: User | None, client: Client
) -> list[ChartSummary]:
    """The client's charts, newest visit first, in five queries whatever the history."""
    if client.organization_id != organization.pk:
        raise NotFound(f"No client with id {client.pk} in your organization.")
    lines = AppointmentService.objects.select_related("service").only(
        "id", "appointment_id", "position", "service__id", "service__name"
    )
    charts = (
        Chart.objects.filter(organization=organization, client=client)
        .select_related("appointment", "provider", "signed_by")
        .only(
            "id",
            "status",
            "signed_at",
            "appointment__id",
            "appointment__start",
            "provider__name",
            "signed_by__full_name",
            "signed_by__email",
        )
        .prefetch_related(
            Prefetch("appointment__lines", queryset=lines.order_by("position")),
            Prefetch(
                "injectables",
                queryset=InjectableEntry.objects.only(
                    "id", "chart_id", "product", "quantity", "unit"
                ).order_by("id"),
            ),
            Prefetch("photos", queryset=ChartPhoto.objects.only("id", "chart_id").order_by("id")),
        )
        .order_by("-appointment__start", "-id")
    )
    found = [
        ChartSummary(
            chart_id=chart.pk,
            appointment_id=chart.appointment.pk,
            start=chart.appointment.start,
            services=", ".join(line.service.name for line in chart.appointment.lines.all()),
            provider=chart.provider.name if chart.provider else "",
            status=chart.status,
            signed_by=who_signed(chart),
            signed_at=chart.signed_at,
            entries=[
                f"{e.product} {face_sites.plain(e.quantity)} {DoseUnit(e.unit).label}"
                for e in chart.injectables.all()
            ],
            photo_ids=[p.pk for p in chart.photos.all()],
        )
        for chart in charts
    ]
    with transaction.atomic():
        record_event(
            organization=organization,
            actor=actor,
            action="client.charts_viewed",
            object_type="client",
            object_id=client.pk,
            data={"charts": len(found)},
        )
    return found


def read_photo(
    *, organization: Organization, actor: User | None, photo_id: object, thumbnail: bool = False
) -> tuple[bytes, str]:
    """A photo's decrypted bytes and content type; every read is audited."""
    photo = get_owned(ChartPhoto, organization=organization, pk=photo_id, field="photo")
    column = "thumbnail" if thumbnail else "image"
    content = ChartPhotoContent.objects.filter(photo=photo).values_list(column, flat=True).first()
    if content is None:
        raise NotFound("No photo with this id in your organization.")
    with transaction.atomic():
        record_event(
            organization=organization,
            actor=actor,
            action="chart.photo_viewed",
            object_type="chart_photo",
            object_id=photo.pk,
            data={"chart": photo.chart_id, "size": column},
        )
    return bytes(content), ("image/jpeg" if thumbnail else photo.content_type)


# --- opening and notes --------------------------------------------------------------------


def open_chart(
    *, appointment: Appointment, actor: User | None, now: datetime | None = None
) -> Chart:
    """The appointment's chart, started now if needed; once the client is here or later."""
    now = now or timezone.now()
    with transaction.atomic():
        existing = Chart.objects.filter(appointment=appointment).first()
        if existing is not None:
            return existing
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        # Two providers may open it at once: the second waits on the lock, then finds it.
        existing = Chart.objects.filter(appointment=appointment).first()
        if existing is not None:
            return existing
        if current.status not in CHARTABLE_STATUSES:
            raise Conflict(
                "A chart starts once the client is checked in "
                f"(this appointment is {current.get_status_display().lower()}).",
                [FieldError("appointment", "Not checked in yet.")],
                code="not_chartable",
            )
        chart = Chart.objects.create(
            organization_id=current.organization_id,
            appointment=current,
            client_id=current.client_id,
            provider=provider_of(appointment),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        _event(chart, actor, "opened", provider=chart.provider_id)
    return chart


def update_chart_notes(*, chart: Chart, actor: User | None, notes: str) -> Chart:
    """Replace the chart's notes while it is a draft."""
    notes = notes.replace("\r\n", "\n")
    if "\x00" in notes:
        raise Invalid.on("notes", "Notes may not contain NUL characters.")
    if len(notes) > MAX_NOTES:
        raise Invalid.on("notes", f"Keep notes under {MAX_NOTES} characters.")
    with transaction.atomic():
        current = _locked_draft(chart)
        current.notes = notes
        current.updated_at = timezone.now()
        current.save(update_fields=["notes", "updated_at"])
        _event(current, actor, "notes_changed", length=len(notes))
    return current


# --- injectables --------------------------------------------------------------------------


def _clean_text(value: str, field_name: str, label: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid.on(field_name, f"Give the {label}.")
    if len(value) > limit or "\x00" in value:
        raise Invalid.on(field_name, f"Keep the {label} under {limit} characters.")
    return value


def add_injectable(
    *,
    chart: Chart,
    actor: User | None,
    kind: str,
    product: str,
    quantity: Any,
    unit: str,
    lot_number: str,
    expiry: date | None,
    sites: Any = (),
) -> InjectableEntry:
    """Chart a product injected: how much, which lot (not expired that day), and where."""
    if kind not in UNITS_BY_KIND:
        raise Invalid.on("kind", "Choose neurotoxin, filler, biostimulator or other.")
    product = _clean_text(product, "product", "product name", 120)
    if unit not in UNITS_BY_KIND[kind]:
        wanted = " or ".join(sorted(DoseUnit(u).label for u in UNITS_BY_KIND[kind]))
        raise Invalid.on("unit", f"{InjectableKind(kind).label} is charted in {wanted}.")
    try:
        amount = face_sites.quantity_of(quantity, "quantity", maximum=MAX_DOSE[DoseUnit(unit)])
        placed = face_sites.check_sites(list(sites or []), amount)
    except face_sites.SiteError as problem:
        raise Invalid.on(problem.field, problem.reason) from None
    lot = _clean_text(lot_number, "lot_number", "lot number", 60)
    if expiry is None:
        raise Invalid.on("expiry", "Give the lot's expiry date.")
    with transaction.atomic():
        current = _locked_draft(chart)
        _require_treatment(current)
        appointment = Appointment.objects.select_related("location").get(pk=current.appointment_id)
        day = appointment.start.astimezone(appointment.location.zone).date()
        if expiry < day:
            raise Invalid.on(
                "expiry",
                f"Lot {lot} expired on {expiry:%d %b %Y}, before this treatment: "
                "do not use it; nothing was charted.",
            )
        entry = InjectableEntry.objects.create(
            organization_id=current.organization_id,
            chart=current,
            kind=kind,
            product=product,
            quantity=amount,
            unit=unit,
            lot_number=lot,
            expiry=expiry,
            sites=placed,
        )
        _touch(current, entry.created_at)
        _event(current, actor, "injectable_added", entry=entry.pk, sites=len(placed))
    return entry


def remove_injectable(*, chart: Chart, actor: User | None, entry_id: object) -> None:
    """Take an entry off a draft chart."""
    with transaction.atomic():
        current = _locked_draft(chart)
        entry = _row_of(InjectableEntry.objects.filter(chart=current), entry_id, "entry")
        entry.delete()
        _touch(current, timezone.now())
        _event(current, actor, "injectable_removed", entry=int(str(entry_id)))


# --- device settings ----------------------------------------------------------------------


def add_device_setting(
    *,
    chart: Chart,
    actor: User | None,
    device_id: object,
    area: str = "",
    fluence: Any,
    pulse_width_ms: Any,
    spot_size_mm: Any,
    passes: Any,
) -> DeviceSetting:
    """Chart the parameters an energy device was used at on one area."""
    device = get_owned(
        Resource.objects.filter(kind=ResourceKind.DEVICE),
        organization=chart.organization,
        pk=device_id,
        field="device",
        label="device",
    )
    area = (area or "").strip()
    if len(area) > 80 or "\x00" in area:
        raise Invalid.on("area", "Keep the area under 80 characters.")
    values = {
        "fluence": _money(fluence, "fluence", DEVICE_LIMITS["fluence"], "0.01"),
        "pulse_width_ms": _money(
            pulse_width_ms, "pulse_width_ms", DEVICE_LIMITS["pulse_width_ms"], "0.001"
        ),
        "spot_size_mm": _money(spot_size_mm, "spot_size_mm", DEVICE_LIMITS["spot_size_mm"], "0.1"),
    }
    if isinstance(passes, bool) or not str(passes).strip().isdigit():
        raise Invalid.on("passes", f"Give the passes as a whole number from 1 to {MAX_PASSES}.")
    count = int(str(passes).strip())
    if not 1 <= count <= MAX_PASSES:
        raise Invalid.on("passes", f"Give the passes as a whole number from 1 to {MAX_PASSES}.")
    with transaction.atomic():
        current = _locked_draft(chart)
        _require_treatment(current)
        setting = DeviceSetting.objects.create(
            organization_id=current.organization_id,
            chart=current,
            device=device,
            area=area,
            passes=count,
            **values,
        )
        _touch(current, setting.created_at)
        _event(current, actor, "device_setting_added", setting=setting.pk, device=device.pk)
    return setting


def remove_device_setting(*, chart: Chart, actor: User | None, setting_id: object) -> None:
    """Take a device setting off a draft chart."""
    with transaction.atomic():
        current = _locked_draft(chart)
        setting = _row_of(DeviceSetting.objects.filter(chart=current), setting_id, "setting")
        setting.delete()
        _touch(current, timezone.now())
        _event(current, actor, "device_setting_removed", setting=int(str(setting_id)))


# --- photos -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanPhoto:
    image: bytes
    thumbnail: bytes
    content_type: str
    sha256: str


def clean_photo(data: bytes) -> CleanPhoto:
    """A JPEG or PNG, turned upright, without EXIF or GPS, with a small JPEG thumbnail."""
    if not data:
        raise Invalid.on("photo", "Choose a photo to upload.")
    if len(data) > MAX_PHOTO_BYTES:
        raise Invalid.on("photo", "The photo is larger than 15 MB: take it at a lower size.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in {"JPEG", "PNG"}:
                raise Invalid.on("photo", "Upload a JPEG or PNG photo.")
            if probe.width * probe.height > MAX_PHOTO_PIXELS:
                raise Invalid.on("photo", "The photo has too many pixels: take it smaller.")
            probe.load()
            upright = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise Invalid.on("photo", "This file is not a readable JPEG or PNG photo.") from None
    # Metadata (camera, time, GPS position) stays behind: only the pixels are kept.
    upright.info = {}
    out = io.BytesIO()
    if kind == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=92)
        content_type = "image/jpeg"
    else:
        upright.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    small = upright.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if small.mode not in ("RGB", "L"):
        flat = Image.new("RGB", small.size, "white")
        flat.paste(small, mask=small.getchannel("A") if "A" in small.getbands() else None)
        small = flat
    thumb = io.BytesIO()
    small.save(thumb, format="JPEG", quality=80)
    return CleanPhoto(
        out.getvalue(), thumb.getvalue(), content_type, hashlib.sha256(data).hexdigest()
    )


def add_photo(
    *,
    chart: Chart,
    actor: User | None,
    upload: IO[bytes] | bytes,
    kind: str,
    area: str = "",
) -> ChartPhoto:
    """Store a before or after photo, encrypted, with its thumbnail."""
    if kind not in PhotoKind.values:
        raise Invalid.on("kind", "Say whether the photo is before or after the treatment.")
    area = (area or "").strip()
    if len(area) > 80 or "\x00" in area:
        raise Invalid.on("area", "Keep the area under 80 characters.")
    data = upload if isinstance(upload, bytes) else upload.read(MAX_PHOTO_BYTES + 1)
    clean = clean_photo(data)
    with transaction.atomic():
        current = _locked_draft(chart)
        photo = ChartPhoto.objects.create(
            organization_id=current.organization_id,
            chart=current,
            client_id=current.client_id,
            kind=kind,
            area=area,
            content_type=clean.content_type,
            size=len(clean.image),
            sha256=clean.sha256,
            uploaded_by=actor,
        )
        ChartPhotoContent.objects.create(photo=photo, image=clean.image, thumbnail=clean.thumbnail)
        _touch(current, photo.taken_at)
        _event(current, actor, "photo_added", photo=photo.pk, kind=kind, size=len(clean.image))
    return photo


# --- signing and addenda ------------------------------------------------------------------


def sign_chart(*, chart: Chart, actor: User, now: datetime | None = None) -> Chart:
    """The chart's provider signs it, which locks it; an empty chart is not signed."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked_draft(chart)
        _require_treatment(current)
        provider = current.provider
        own = getattr(actor, "provider_resource", None)
        if actor.role != Role.PROVIDER or own is None:
            raise Conflict(
                "Only a provider linked to their schedule column can sign a chart.",
                [FieldError("chart", "Sign in as the treating provider.")],
                code="not_the_provider",
            )
        if provider is not None and own.pk != provider.pk:
            raise Conflict(
                f"Only {provider.name}, who treated the client, can sign this chart.",
                [FieldError("chart", "Not your chart.")],
                code="not_the_provider",
            )
        if not current.notes.strip() and not current.injectables.exists():
            raise Invalid.on("notes", "Write a note or chart a product before signing.")
        current.status = ChartStatus.SIGNED
        current.signed_by = actor
        current.signed_at = now
        current.updated_at = now
        current.provider = provider or own
        current.save(update_fields=["status", "signed_by", "signed_at", "updated_at", "provider"])
        _event(current, actor, "signed")
        # Billing (a floor above) builds the visit's draft invoice in this transaction.
        chart_signed.send(sender=Chart, chart=current, appointment=current.appointment, actor=actor)
    return current


def add_addendum(*, chart: Chart, actor: User, text: str) -> ChartAddendum:
    """A later note on a signed chart; the chart itself stays as it was signed."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise Invalid.on("text", "Write the addendum.")
    if len(text) > MAX_ADDENDUM or "\x00" in text:
        raise Invalid.on("text", f"Keep an addendum under {MAX_ADDENDUM} characters.")
    with transaction.atomic():
        current = Chart.objects.select_for_update().get(pk=chart.pk)
        if not current.is_locked:
            raise Conflict(
                "The chart is still a draft: change its notes instead of adding an addendum.",
                [FieldError("text", "Addenda are for signed charts.")],
                code="chart_not_signed",
            )
        addendum = ChartAddendum.objects.create(
            organization_id=current.organization_id, chart=current, text=text, author=actor
        )
        _event(current, actor, "addendum_added", addendum=addendum.pk, length=len(text))
    return addendum


# --- aftercare ----------------------------------------------------------------------------


def _check_placeholders(text: str, field_name: str) -> None:
    unknown = sorted(set(_PLACEHOLDER.findall(text)) - set(PLACEHOLDERS))
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise Invalid.on(field_name, f"Unknown placeholder {{{unknown[0]}}}: use {allowed}.")


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Put the visit's words into a template; anything else in braces stays as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def aftercare_templates(organization: Organization) -> list[AftercareTemplate]:
    """The organization's aftercare templates with their services, by name."""
    return list(
        AftercareTemplate.objects.filter(organization=organization).prefetch_related(
            Prefetch("services", queryset=Service.objects.only("id", "name"))
        )
    )


def templates_for(organization: Organization, appointment: Appointment) -> list[AftercareTemplate]:
    """The active aftercare templates of the appointment's services."""
    service_ids = {line.service_id for line in appointment.lines.all()}
    return list(
        AftercareTemplate.objects.filter(
            organization=organization, is_active=True, services__in=service_ids
        )
        .distinct()
        .order_by("name", "id")
    )


def _template_values(
    organization: Organization, values: dict[str, Any], current: AftercareTemplate | None
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, limit in (("name", 200), ("subject", 200), ("body", 10_000)):
        if name in values and values[name] is not None:
            clean[name] = _clean_text(str(values[name]), name, name, limit)
    for name in ("subject", "body"):
        if name in clean:
            _check_placeholders(clean[name], name)
    if "name" in clean:
        clash = AftercareTemplate.objects.filter(
            organization=organization, name__iexact=clean["name"]
        )
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise Invalid.on("name", f"An aftercare template named {clean['name']!r} exists.")
    return clean


def create_aftercare_template(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    subject: str,
    body: str,
    service_ids: Iterable[int] = (),
) -> AftercareTemplate:
    """A new aftercare template, attached to services."""
    with transaction.atomic():
        clean = _template_values(
            organization, {"name": name, "subject": subject, "body": body}, None
        )
        services = owned_services(organization, service_ids)
        template = AftercareTemplate.objects.create(organization=organization, **clean)
        template.services.set(services)
        record_event(
            organization=organization,
            actor=actor,
            action="aftercare.template_created",
            object_type="aftercare_template",
            object_id=template.pk,
            data={"services": sorted(s.pk for s in services)},
        )
    return template


def update_aftercare_template(
    *,
    organization: Organization,
    actor: User | None,
    template: AftercareTemplate,
    changes: dict[str, Any],
) -> AftercareTemplate:
    """Change a template's text, services or whether it is offered."""
    with transaction.atomic():
        current = AftercareTemplate.objects.select_for_update().get(
            pk=template.pk, organization=organization
        )
        clean = _template_values(organization, changes, current)
        for name, value in clean.items():
            setattr(current, name, value)
        if changes.get("is_active") is not None:
            current.is_active = bool(changes["is_active"])
        current.save()
        if changes.get("services") is not None:
            current.services.set(owned_services(organization, changes["services"]))
        record_event(
            organization=organization,
            actor=actor,
            action="aftercare.template_changed",
            object_type="aftercare_template",
            object_id=current.pk,
            data={"fields": sorted(k for k, v in changes.items() if v is not None)},
        )
    return current


def render_aftercare(
    chart: Chart, appointment: Appointment, template: AftercareTemplate
) -> tuple[str, str]:
    """The subject and body the client would receive."""
    provider = chart.provider.name if chart.provider else ""
    values = {
        "first_name": appointment.client.preferred_name or appointment.client.first_name,
        "service": ", ".join(line.service.name for line in appointment.lines.all()),
        "provider": provider,
        "clinic": chart.organization.name,
    }
    return fill_placeholders(template.subject, values), fill_placeholders(template.body, values)


def send_aftercare(
    *, chart: Chart, actor: User | None, template_id: object, now: datetime | None = None
) -> AftercareSent:
    """E-mail the client a template's instructions and keep the exact text sent."""
    template = get_owned(
        AftercareTemplate.objects.filter(is_active=True),
        organization=chart.organization,
        pk=template_id,
        field="template",
        label="aftercare template",
    )
    appointment = appointment_for_chart(chart.organization, chart.appointment_id)
    client = appointment.client
    if not client.email:
        raise Invalid.on("template", "The client has no e-mail address: add one first.")
    if not may_contact(client, Channel.EMAIL, Purpose.TRANSACTIONAL):
        raise Invalid.on(
            "template", "The client declined e-mails about their visits: hand them a printout."
        )
    subject, body = render_aftercare(chart, appointment, template)
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[client.email]
    )
    # Send first, outside any transaction, then record: a failed send records nothing and
    # says so; a crash between the two leaves it unrecorded, and staff can send it again.
    try:
        message.send(fail_silently=False)
    except Exception as error:  # any mail backend failure: SMTP, DNS, socket, timeout
        log.warning("Aftercare for chart %s not sent: %s", chart.pk, error)
        raise Conflict(
            "The e-mail could not be sent just now; nothing was recorded. Try again, or "
            "hand the client a printout.",
            [FieldError("template", "Not sent.")],
            code="aftercare_not_sent",
        ) from error
    with transaction.atomic():
        sent = AftercareSent.objects.create(
            organization_id=chart.organization_id,
            chart=chart,
            template=template,
            subject=subject,
            body=body,
            sent_to=client.email,
            sent_at=now or timezone.now(),
            sent_by=actor,
        )
        _event(chart, actor, "aftercare_sent", template=template.pk, sent=sent.pk)
    return sent
