"""Intake templates, versions and questions through the services."""

from __future__ import annotations

from typing import Any

import pytest

from medspa.clinical.models import IntakeQuestion, IntakeTemplate, IntakeTemplateVersion
from medspa.clinical.selectors import current_version_for_service, current_versions_for_service
from medspa.clinical.services import (
    add_question,
    attach_services,
    create_template,
    detach_services,
    publish_version,
    remove_question,
    reorder_questions,
    start_draft,
    update_question,
)
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import AuditEvent
from tests.clinical.helpers import MEDS, PREGNANT, actions, draft_of, screening
from tests.conftest import Clinic


def keys(version: IntakeTemplateVersion) -> list[str]:
    return list(version.questions.order_by("position").values_list("key", flat=True))


def test_a_new_template_starts_with_an_empty_draft_version_1(clinic: Clinic) -> None:
    template = create_template(
        organization=clinic.organization, actor=None, name=" Health history "
    )
    draft = draft_of(template)
    assert template.name == "Health history" and draft.number == 1 and keys(draft) == []
    assert actions(template) == ["intake.template_created"]


def test_names_are_unique_within_the_organization_only(clinic: Clinic, outsider: Clinic) -> None:
    create_template(organization=clinic.organization, actor=None, name="Health history")
    create_template(organization=outsider.organization, actor=None, name="Health history")
    with pytest.raises(Invalid) as refused:
        create_template(organization=clinic.organization, actor=None, name="health HISTORY")
    assert refused.value.errors[0].field == "name"


def test_a_published_version_is_immutable(clinic: Clinic) -> None:
    template = screening(clinic)
    published = IntakeTemplateVersion.objects.get(template=template)
    question = published.questions.get(key="pregnant")
    with pytest.raises(Conflict):
        add_question(
            organization=clinic.organization,
            actor=None,
            version=published,
            key="x",
            label="X",
            kind="text",
        )
    with pytest.raises(Conflict):
        update_question(organization=clinic.organization, actor=None, question=question, label="Y")
    with pytest.raises(Conflict):
        remove_question(organization=clinic.organization, actor=None, question=question)
    with pytest.raises(Conflict):
        publish_version(organization=clinic.organization, actor=None, version=published)
    question.refresh_from_db()
    assert question.label == PREGNANT["label"] and keys(published) == ["pregnant", "medications"]


def test_a_new_draft_copies_the_latest_version_and_only_one_draft_exists(clinic: Clinic) -> None:
    template = screening(clinic)
    draft = start_draft(
        organization=clinic.organization, actor=None, template=template, notes="Add age"
    )
    assert (
        draft.number == 2
        and draft.notes == "Add age"
        and keys(draft) == ["pregnant", "medications"]
    )
    copied = draft.questions.get(key="medications")
    assert copied.review_when == MEDS["review_when"] and copied.choices == MEDS["choices"]
    with pytest.raises(Conflict):
        start_draft(organization=clinic.organization, actor=None, template=template)
    assert template.versions.count() == 2


def test_editing_a_draft_leaves_the_published_version_alone(clinic: Clinic) -> None:
    template = screening(clinic)
    draft = start_draft(organization=clinic.organization, actor=None, template=template)
    question = draft.questions.get(key="pregnant")
    update_question(
        organization=clinic.organization, actor=None, question=question, label="Pregnant?"
    )
    add_question(
        organization=clinic.organization,
        actor=None,
        version=draft,
        key="age",
        label="Age",
        kind="number",
        min_value=0,
        max_value=120,
        review_when={"max": 17},
        review_reason="A minor",
    )
    reorder_questions(
        organization=clinic.organization,
        actor=None,
        version=draft,
        keys=["age", "medications", "pregnant"],
    )
    remove_question(
        organization=clinic.organization,
        actor=None,
        question=draft.questions.get(key="medications"),
    )
    assert keys(draft) == ["age", "pregnant"]
    assert list(draft.questions.order_by("position").values_list("position", flat=True)) == [0, 1]
    v1 = template.versions.get(number=1)
    assert v1.questions.get(key="pregnant").label == PREGNANT["label"] and len(keys(v1)) == 2


def test_publishing_refuses_an_empty_version_and_a_choice_question_without_choices(
    clinic: Clinic,
) -> None:
    template = create_template(organization=clinic.organization, actor=None, name="Laser")
    draft = draft_of(template)
    with pytest.raises(Invalid):
        publish_version(organization=clinic.organization, actor=None, version=draft)
    add_question(
        organization=clinic.organization,
        actor=None,
        version=draft,
        key="skin",
        label="Skin type",
        kind="single_choice",
    )
    with pytest.raises(Invalid) as refused:
        publish_version(organization=clinic.organization, actor=None, version=draft)
    assert refused.value.errors[0].field == "questions.skin.choices"
    draft.refresh_from_db()
    assert draft.is_draft


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": "Not A Slug"}, "key"),
        ({"key": "pregnant"}, "key"),
        ({"kind": "essay"}, "kind"),
        ({"label": "  "}, "label"),
        ({"kind": "text", "choices": ["a"]}, "choices"),
        (
            {"kind": "yes_no", "review_when": {"any_of": ["yes"]}, "review_reason": "r"},
            "review_when",
        ),
        ({"kind": "number", "min_value": 10, "max_value": 1}, "max_value"),
        ({"kind": "yes_no", "review_when": {"equals": True}}, "review_reason"),
    ],
)
def test_bad_questions_are_refused_and_change_nothing(
    clinic: Clinic, change: dict[str, Any], field: str
) -> None:
    template = screening(clinic, publish=False)
    draft = draft_of(template)
    before = (keys(draft), AuditEvent.objects.count())
    with pytest.raises(Invalid) as refused:
        add_question(
            organization=clinic.organization,
            actor=None,
            version=draft,
            **{"key": "new", "label": "New", "kind": "text", **change},
        )
    assert refused.value.errors[0].field == field
    assert (keys(draft), AuditEvent.objects.count()) == before


def test_reorder_must_name_every_question_once(clinic: Clinic) -> None:
    draft = draft_of(screening(clinic, publish=False))
    with pytest.raises(Invalid):
        reorder_questions(
            organization=clinic.organization,
            actor=None,
            version=draft,
            keys=["pregnant", "pregnant"],
        )
    assert keys(draft) == ["pregnant", "medications"]


def test_the_current_version_of_a_service_is_the_latest_published_of_active_templates(
    clinic: Clinic,
) -> None:
    template = screening(clinic)
    start_draft(organization=clinic.organization, actor=None, template=template)
    current = current_version_for_service(clinic.organization, clinic.neurotoxin)
    assert current is not None and current.number == 1
    publish_version(organization=clinic.organization, actor=None, version=draft_of(template))
    current = current_version_for_service(clinic.organization, clinic.neurotoxin)
    assert current is not None and current.number == 2
    assert current_versions_for_service(clinic.organization, clinic.facial) == []
    IntakeTemplate.objects.filter(pk=template.pk).update(is_active=False)
    assert current_version_for_service(clinic.organization, clinic.neurotoxin) is None


def test_services_are_attached_and_detached_within_the_organization(
    clinic: Clinic, outsider: Clinic
) -> None:
    template = screening(clinic)
    attach_services(
        organization=clinic.organization,
        actor=None,
        template=template,
        service_ids=[clinic.facial.pk],
    )
    detach_services(
        organization=clinic.organization,
        actor=None,
        template=template,
        service_ids=[clinic.neurotoxin.pk],
    )
    assert list(template.services.all()) == [clinic.facial]
    with pytest.raises(NotFound):
        attach_services(
            organization=clinic.organization,
            actor=None,
            template=template,
            service_ids=[clinic.laser_hair.pk, outsider.laser_hair.pk],
        )
    assert list(template.services.all()) == [clinic.facial]
    with pytest.raises(NotFound):
        attach_services(
            organization=outsider.organization,
            actor=None,
            template=template,
            service_ids=[outsider.facial.pk],
        )
    assert actions(template)[-2:] == ["intake.services_attached", "intake.services_detached"]


def test_every_change_writes_one_audit_event(clinic: Clinic) -> None:
    template = screening(clinic)
    start_draft(organization=clinic.organization, actor=None, template=template)
    assert actions(template) == [
        "intake.template_created",
        "intake.question_added",
        "intake.question_added",
        "intake.version_published",
        "intake.draft_started",
    ]
    assert IntakeQuestion.objects.filter(organization=clinic.organization).count() == 4
