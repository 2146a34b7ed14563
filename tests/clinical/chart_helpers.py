"""Small helpers shared by the chart tests: a checked-in visit, a chart, a photo."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from PIL import Image

from medspa.clients.models import Client
from medspa.clinical import charting
from medspa.clinical.models import AftercareTemplate, Chart, InjectableKind
from medspa.core.models import Role, User
from medspa.scheduling.models import Appointment, AppointmentStatus
from tests.conftest import Clinic
from tests.factories import ClientFactory


def treating_provider(clinic: Clinic) -> User:
    """The clinic's provider user, linked to the injector's schedule column."""
    user = clinic.users[Role.PROVIDER]
    if clinic.injector.user_id != user.pk:
        clinic.injector.user = user
        clinic.injector.save(update_fields=["user"])
        user.refresh_from_db()
    return user


def checked_in(clinic: Clinic, hour: int = 10, client: Client | None = None) -> Appointment:
    """A neurotoxin visit with the injector, the client checked in (set directly: any day)."""
    appointment = clinic.book(hour, client=client or clinic.client)
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CHECKED_IN)
    appointment.refresh_from_db()
    return appointment


def charted(
    clinic: Clinic,
    hour: int = 10,
    *,
    notes: str = "Glabella and forehead.",
    client: Client | None = None,
) -> Chart:
    """A draft chart of a visit in treatment (set directly: any day), with a note."""
    provider = treating_provider(clinic)
    chart = charting.open_chart(appointment=checked_in(clinic, hour, client), actor=provider)
    Appointment.objects.filter(pk=chart.appointment_id).update(
        status=AppointmentStatus.IN_TREATMENT
    )
    if notes:
        chart = charting.update_chart_notes(chart=chart, actor=provider, notes=notes)
    return chart


def botox(clinic: Clinic, **overrides: Any) -> dict[str, Any]:
    """The fields of a 20-unit Botox entry on glabella and forehead, lot in date."""
    return {
        "kind": InjectableKind.NEUROTOXIN,
        "product": "Botox Cosmetic",
        "quantity": "20",
        "unit": "units",
        "lot_number": "C1234A5",
        "expiry": clinic.day() + timedelta(days=365),
        "sites": [{"site": "glabella", "quantity": "12"}, {"site": "forehead", "quantity": "8"}],
        **overrides,
    }


def jpeg(width: int = 640, height: int = 480, *, exif: bytes | None = None) -> bytes:
    """A small generated JPEG, optionally with EXIF (orientation, GPS)."""
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 160, 150))
    image.paste((90, 60, 50), (0, 0, width // 4, height // 4))
    image.save(out, format="JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


def aftercare(clinic: Clinic, **overrides: Any) -> AftercareTemplate:
    values: dict[str, Any] = {
        "name": "After neurotoxin",
        "subject": "Your {service} aftercare",
        "body": "Hi {first_name}, stay upright for 4 hours. {provider} at {clinic}.",
        "service_ids": [clinic.neurotoxin.pk],
        **overrides,
    }
    return charting.create_aftercare_template(
        organization=clinic.organization, actor=None, **values
    )


def chart_names(clinic: Clinic) -> dict[str, int]:
    """Ids the permission walk fills in: a draft chart, a signed one, an aftercare template."""
    # Late in the day, away from the hours the walk books and moves at.
    patient = ClientFactory(organization=clinic.organization)
    draft = charted(clinic, 15, client=patient)
    signed = charted(clinic, 16, client=patient)
    signed = charting.sign_chart(chart=signed, actor=treating_provider(clinic))
    return {
        "chart": draft.pk,
        "signed_chart": signed.pk,
        "aftercare": aftercare(clinic).pk,
    }


def chart_ids(theirs: Clinic) -> dict[str, int]:
    """Another organization's chart records, for the tenancy walk."""
    chart = charted(theirs, 15)
    provider = treating_provider(theirs)
    entry = charting.add_injectable(chart=chart, actor=provider, **botox(theirs))
    setting = charting.add_device_setting(
        chart=chart,
        actor=provider,
        device_id=theirs.laser.pk,
        fluence="20",
        pulse_width_ms="3",
        spot_size_mm="18",
        passes=1,
    )
    photo = charting.add_photo(chart=chart, actor=provider, upload=jpeg(64, 48), kind="before")
    return {
        "chart": chart.pk,
        "entry": entry.pk,
        "setting": setting.pk,
        "photo": photo.pk,
        "aftercare": aftercare(theirs).pk,
    }


class BrokenMail(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")
