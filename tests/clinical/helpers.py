"""Small helpers shared by the intake form tests."""

from __future__ import annotations

from typing import Any

from medspa.clinical.models import IntakeTemplate, IntakeTemplateVersion
from medspa.clinical.services import add_question, create_template, publish_version
from medspa.core.models import AuditEvent
from tests.conftest import Clinic

PREGNANT: dict[str, Any] = {
    "key": "pregnant",
    "label": "Are you pregnant or breastfeeding?",
    "kind": "yes_no",
    "required": True,
    "review_when": {"equals": True},
    "review_reason": "Pregnancy: no neurotoxin",
}
MEDS: dict[str, Any] = {
    "key": "medications",
    "label": "Do you take any of these?",
    "kind": "multiple_choice",
    "choices": ["Warfarin", "Aspirin", "Isotretinoin"],
    "review_when": {"any_of": ["Warfarin", "Isotretinoin"]},
    "review_reason": "Blood thinners or recent isotretinoin",
}


def screening(clinic: Clinic, *, publish: bool = True) -> IntakeTemplate:
    """A neurotoxin screening form with two questions, attached to the neurotoxin service."""
    template = create_template(
        organization=clinic.organization,
        actor=None,
        name="Neurotoxin screening",
        service_ids=[clinic.neurotoxin.pk],
    )
    draft = draft_of(template)
    for question in (PREGNANT, MEDS):
        add_question(organization=clinic.organization, actor=None, version=draft, **question)
    if publish:
        publish_version(organization=clinic.organization, actor=None, version=draft)
    return template


def draft_of(template: IntakeTemplate) -> IntakeTemplateVersion:
    return IntakeTemplateVersion.objects.drafts().get(template=template)


def actions(template: IntakeTemplate) -> list[str]:
    """The audit actions recorded on a template, oldest first."""
    return list(
        AuditEvent.objects.filter(object_type="intake_template", object_id=str(template.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
