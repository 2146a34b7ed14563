"""Builders shared by the intake request, portal and review tests."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image, ImageDraw

from medspa.clinical import consent
from medspa.clinical.models import (
    ConsentTemplateVersion,
    IntakeRequest,
    IntakeTemplate,
    ReviewTask,
)
from medspa.scheduling.models import Appointment
from tests.clinical.helpers import screening
from tests.conftest import Clinic

CONSENT_BODY = "I understand the risks of neurotoxin treatment.\n\nBruising may occur."
# Answers to the screening form (tests/clinical/helpers.py): none needs review.
CALM = {"pregnant": False, "medications": ["Aspirin"]}
FLAGGED = {"pregnant": True, "medications": ["Warfarin"]}


def neurotoxin_consent(clinic: Clinic) -> ConsentTemplateVersion:
    """A published neurotoxin consent of the clinic; its current version."""
    template = consent.create_template(
        organization=clinic.organization,
        actor=None,
        name="Neurotoxin consent",
        service_ids=[clinic.neurotoxin.pk],
        body=CONSENT_BODY,
    )
    version = ConsentTemplateVersion.objects.get(template=template)
    return consent.publish_version(organization=clinic.organization, actor=None, version=version)


def visit_with_forms(
    clinic: Clinic, *, with_consent: bool = False
) -> tuple[Appointment, IntakeRequest]:
    """A neurotoxin booking whose screening form was requested at booking."""
    screening(clinic)
    if with_consent:
        neurotoxin_consent(clinic)
    appointment = clinic.book(10)
    return appointment, IntakeRequest.objects.get(appointment=appointment)


def drawn_signature() -> str:
    """A PNG data URL with a stroke on it, like signature_pad's toDataURL()."""
    image = Image.new("RGBA", (120, 40), (0, 0, 0, 0))
    ImageDraw.Draw(image).line((5, 30, 60, 5, 115, 30), fill=(20, 20, 20, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def their_intake_ids(theirs: Clinic, appointment: Appointment) -> dict[str, Any]:
    """An intake request and a review task of another organization, for tenancy walks."""
    template = IntakeTemplate.objects.create(organization=theirs.organization, name="Their form")
    version = template.versions.create(organization=theirs.organization, number=1)
    request = IntakeRequest.objects.create(
        organization=theirs.organization,
        client=appointment.client,
        appointment=appointment,
        template=template,
        version=version,
        status="submitted",
        answers={"pregnant": True},
        flags=[{"key": "pregnant", "reason": "Pregnancy", "label": "Pregnant?"}],
    )
    task = ReviewTask.objects.create(
        organization=theirs.organization,
        client=appointment.client,
        appointment=appointment,
        intake_request=request,
    )
    return {"request": request.pk, "review": task.pk}
