"""Given-state builders for the treatment gate's tests: forms, reviews, consents, check-in."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from medspa.catalog.models import Service
from medspa.clinical.models import (
    ConsentSignature,
    ConsentTemplate,
    ConsentTemplateVersion,
    IntakeRequest,
    IntakeRequestStatus,
    IntakeTemplate,
    IntakeTemplateVersion,
    ReviewTask,
)
from medspa.scheduling.models import Appointment
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment, change_status
from tests.conftest import Clinic

REASON = "Consent signed on paper, scanned later"


def checked_in(
    clinic: Clinic, *, services: list[Service] | None = None, hour: int = 16
) -> Appointment:
    """A client checked in today for a neurotoxin (by default) appointment."""
    appointment = book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(hour, days_ahead=0),
        wanted=[Wanted(s) for s in (services or [clinic.neurotoxin])],
        now=clinic.at(8, days_ahead=0),
    )
    return change_status(
        appointment=appointment, actor=None, status="checked_in", now=clinic.at(hour, days_ahead=0)
    )


def start(
    clinic: Clinic, appointment: Appointment, role: str | None = None, **kw: str
) -> Appointment:
    actor = clinic.users[role] if role else None
    return change_status(appointment=appointment, actor=actor, status="in_treatment", **kw)


def intake_template(clinic: Clinic, name: str = "Health history") -> IntakeTemplate:
    # Attached to no service: no booking receiver creates requests behind the test's back.
    template = IntakeTemplate.objects.create(organization=clinic.organization, name=name)
    IntakeTemplateVersion.objects.create(
        organization=clinic.organization, template=template, number=1, published_at=timezone.now()
    )
    return template


def intake(
    clinic: Clinic,
    appointment: Appointment,
    status: str = IntakeRequestStatus.PENDING,
    review: str | None = None,
    name: str = "Health history",
) -> IntakeRequest:
    template = intake_template(clinic, name)
    request = IntakeRequest.objects.create(
        organization=clinic.organization,
        client=appointment.client,
        appointment=appointment,
        template=template,
        version=template.versions.get(),
        status=status,
    )
    if review is not None:
        ReviewTask.objects.create(
            organization=clinic.organization,
            client=appointment.client,
            appointment=appointment,
            intake_request=request,
            status=review,
        )
    return request


def consent(
    clinic: Clinic, name: str = "Neurotoxin consent", valid_days: int | None = None
) -> ConsentTemplateVersion:
    template = ConsentTemplate.objects.create(
        organization=clinic.organization, name=name, valid_days=valid_days
    )
    template.services.add(clinic.neurotoxin)
    return ConsentTemplateVersion.objects.create(
        organization=clinic.organization,
        template=template,
        number=1,
        title=name,
        body="I understand the risks.",
        published_at=timezone.now() - timedelta(days=30),
    )


def sign(clinic: Clinic, version: ConsentTemplateVersion, at: datetime | None = None) -> None:
    ConsentSignature.objects.create(
        organization=clinic.organization,
        client=clinic.client,
        version=version,
        typed_name=clinic.client.full_name,
        signature_image="data:image/png;base64,iVBORw0KGgo=",
        text_sha256="0" * 64,
        signed_at=at or timezone.now(),
    )
