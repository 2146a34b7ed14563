"""Small helpers shared by the consent tests (and the tenancy walk)."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw

from medspa.clinical.consent import (
    consent_text_sha256,
    create_template,
    publish_version,
    sign_consent,
    start_draft,
)
from medspa.clinical.models import ConsentSignature, ConsentTemplate, ConsentTemplateVersion
from medspa.scheduling.models import Appointment
from tests.conftest import Clinic

NEUROTOXIN_TEXT = (
    "I understand that neurotoxin relaxes the treated muscles for three to four months.\n\n"
    "Possible effects include bruising, headache and, rarely, a drooping eyelid."
)


def drawn_png(width: int = 300, height: int = 100, *, blank: bool = False) -> bytes:
    """A PNG like signature_pad's: transparent, with a stroke unless blank."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line(
            [(10, 80), (80, 20), (150, 70), (280, 30)], fill="black", width=3
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(raw: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(raw).decode()


SIGNATURE = data_url(drawn_png())


def neurotoxin_consent(
    clinic: Clinic,
    *,
    valid_days: int | None = None,
    body: str = NEUROTOXIN_TEXT,
    name: str = "Neurotoxin consent",
    now: datetime | None = None,
) -> ConsentTemplate:
    """A published neurotoxin consent (version 1), attached to the neurotoxin service."""
    template = create_template(
        organization=clinic.organization,
        actor=None,
        name=name,
        valid_days=valid_days,
        service_ids=[clinic.neurotoxin.pk],
        title="Consent to neurotoxin treatment",
        body=body,
    )
    publish_version(
        organization=clinic.organization, actor=None, version=template.versions.get(), now=now
    )
    return template


def new_version(
    clinic: Clinic,
    template: ConsentTemplate,
    *,
    requires_resignature: bool,
    body: str | None = None,
    now: datetime | None = None,
) -> ConsentTemplateVersion:
    """Write and publish the template's next version."""
    draft = start_draft(
        organization=clinic.organization,
        actor=None,
        template=template,
        body=body,
        requires_resignature=requires_resignature,
    )
    return publish_version(organization=clinic.organization, actor=None, version=draft, now=now)


def latest(template: ConsentTemplate) -> ConsentTemplateVersion:
    return ConsentTemplateVersion.objects.published().filter(template=template).latest("number")


def sign(
    appointment: Appointment,
    version: ConsentTemplateVersion,
    *,
    now: datetime | None = None,
    **overrides: Any,
) -> ConsentSignature:
    """The appointment's client signs this version, as on the visit page."""
    values: dict[str, Any] = {
        "typed_name": "Maya Patel",
        "signature_image": SIGNATURE,
        "text_sha256": consent_text_sha256(version),
        "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)",
    }
    values.update(overrides)
    return sign_consent(appointment=appointment, version=version, now=now, **values)


def their_consent_ids(theirs: Clinic, appointment: Appointment) -> dict[str, int]:
    """Another organization's consent, version and signature, for the tenancy walk."""
    template = neurotoxin_consent(theirs, name="Their neurotoxin consent")
    signature = sign(appointment, latest(template))
    return {
        "consent": template.pk,
        "consent_version": latest(template).pk,
        "signature": signature.pk,
    }
