"""Intake forms: the API routes of the clinical app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from medspa.clinical import intake_rules
from medspa.clinical.models import IntakeQuestion, IntakeTemplate, IntakeTemplateVersion
from medspa.clinical.selectors import template_detail, template_list, version_with_questions
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
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, LongText, Name, ShortText, staff

router = Router(tags=["intake"])

ServiceIds = Annotated[list[int], Field(max_length=200)]


class TemplateIn(Schema):
    name: ShortText
    description: LongText = ""
    services: ServiceIds = []


class QuestionIn(Schema):
    key: Name
    label: ShortText
    kind: Name
    required: bool = False
    help_text: LongText = ""
    choices: Annotated[list[ShortText], Field(max_length=50)] = []
    min_value: float | None = None
    max_value: float | None = None
    review_when: dict[str, Any] | None = None
    review_reason: ShortText = ""


class QuestionPatchIn(Schema):
    """The fields to change; those left out stay as they are."""

    key: Name | None = None
    label: ShortText | None = None
    kind: Name | None = None
    required: bool | None = None
    help_text: LongText | None = None
    choices: Annotated[list[ShortText], Field(max_length=50)] | None = None
    min_value: float | None = None
    max_value: float | None = None
    review_when: dict[str, Any] | None = None
    review_reason: ShortText | None = None


class OrderIn(Schema):
    keys: Annotated[list[Name], Field(max_length=200)]


class PublishIn(Schema):
    notes: LongText | None = None


class DraftIn(Schema):
    notes: LongText = ""


class ServicesIn(Schema):
    services: ServiceIds


class CheckIn(Schema):
    version: int
    answers: dict[Name, Any]


class QuestionOut(Schema):
    id: int
    position: int
    key: str
    label: str
    help_text: str
    kind: str
    required: bool
    choices: list[str]
    min_value: float | None
    max_value: float | None
    review_when: dict[str, Any] | None
    review_reason: str


class VersionOut(Schema):
    id: int
    number: int
    is_draft: bool
    published_at: datetime | None
    created_at: datetime
    notes: str
    questions: list[QuestionOut]

    @staticmethod
    def resolve_questions(obj: IntakeTemplateVersion) -> list[IntakeQuestion]:
        return list(obj.questions.all())


class VersionSummaryOut(Schema):
    id: int
    number: int
    is_draft: bool
    published_at: datetime | None


class ServiceRefOut(Schema):
    id: int
    name: str


class TemplateSummaryOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    created_at: datetime
    services: list[ServiceRefOut]
    versions: list[VersionSummaryOut]

    @staticmethod
    def resolve_services(obj: IntakeTemplate) -> list[Any]:
        return list(obj.services.all())

    @staticmethod
    def resolve_versions(obj: IntakeTemplate) -> list[IntakeTemplateVersion]:
        return list(obj.versions.all())


class TemplateOut(TemplateSummaryOut):
    versions: list[VersionOut]  # type: ignore[assignment]


class FlagOut(Schema):
    key: str
    reason: str


class CheckOut(Schema):
    valid: bool
    errors: dict[str, str]
    flags: list[FlagOut]


@router.get("/intake/templates", response=ListOut[TemplateSummaryOut])
def list_templates(request: HttpRequest) -> dict[str, object]:
    """The organization's intake forms with their services and versions."""
    who = staff(request, "intake.view")
    items = list(template_list(who.organization))
    return {"items": items, "count": len(items)}


@router.get("/intake/templates/{template_id}", response=TemplateOut)
def get_template(request: HttpRequest, template_id: int) -> IntakeTemplate:
    """One intake form with every version and its questions."""
    who = staff(request, "intake.view")
    return template_detail(who.organization, template_id)


@router.post("/intake/templates", response={201: TemplateOut})
def post_template(request: HttpRequest, payload: TemplateIn) -> Status[IntakeTemplate]:
    """Create an intake form with an empty draft version 1."""
    who = staff(request, "intake.manage")
    template = create_template(
        organization=who.organization,
        actor=who.user,
        name=payload.name,
        description=payload.description,
        service_ids=payload.services,
    )
    return Status(201, template_detail(who.organization, template.pk))


@router.post("/intake/versions/{version_id}/questions", response={201: QuestionOut})
def post_question(
    request: HttpRequest, version_id: int, payload: QuestionIn
) -> Status[IntakeQuestion]:
    """Append a question to a draft version (a published version answers 409)."""
    who = staff(request, "intake.manage")
    version = version_with_questions(who.organization, version_id)
    question = add_question(
        organization=who.organization, actor=who.user, version=version, **payload.dict()
    )
    return Status(201, question)


def _owned_question(request: HttpRequest, question_id: int) -> tuple[Any, IntakeQuestion]:
    who = staff(request, "intake.manage")
    question = get_owned(
        IntakeQuestion.objects.select_related("version"),
        organization=who.organization,
        pk=question_id,
        field="question_id",
    )
    return who, question


@router.patch("/intake/questions/{question_id}", response=QuestionOut)
def patch_question(
    request: HttpRequest, question_id: int, payload: QuestionPatchIn
) -> IntakeQuestion:
    """Change a draft's question (a published version answers 409)."""
    who, question = _owned_question(request, question_id)
    return update_question(
        organization=who.organization,
        actor=who.user,
        question=question,
        **payload.dict(exclude_unset=True),
    )


@router.delete("/intake/questions/{question_id}", response={204: None})
def delete_question(request: HttpRequest, question_id: int) -> Status[None]:
    """Remove a draft's question; the others close the gap."""
    who, question = _owned_question(request, question_id)
    remove_question(organization=who.organization, actor=who.user, question=question)
    return Status(204, None)


@router.post("/intake/versions/{version_id}/order", response=VersionOut)
def post_order(request: HttpRequest, version_id: int, payload: OrderIn) -> IntakeTemplateVersion:
    """Put a draft's questions in this order of keys (every key once)."""
    who = staff(request, "intake.manage")
    version = version_with_questions(who.organization, version_id)
    reorder_questions(
        organization=who.organization, actor=who.user, version=version, keys=payload.keys
    )
    return version_with_questions(who.organization, version_id)


@router.post("/intake/versions/{version_id}/publish", response=VersionOut)
def post_publish(
    request: HttpRequest, version_id: int, payload: PublishIn
) -> IntakeTemplateVersion:
    """Publish a draft version; it never changes after."""
    who = staff(request, "intake.manage")
    version = version_with_questions(who.organization, version_id)
    publish_version(
        organization=who.organization, actor=who.user, version=version, notes=payload.notes
    )
    return version_with_questions(who.organization, version_id)


@router.post("/intake/templates/{template_id}/drafts", response={201: VersionOut})
def post_draft(
    request: HttpRequest, template_id: int, payload: DraftIn
) -> Status[IntakeTemplateVersion]:
    """Start the next version as a copy of the latest one (409 while a draft exists)."""
    who = staff(request, "intake.manage")
    template = template_detail(who.organization, template_id)
    draft = start_draft(
        organization=who.organization, actor=who.user, template=template, notes=payload.notes
    )
    return Status(201, version_with_questions(who.organization, draft.pk))


@router.post("/intake/templates/{template_id}/services", response=TemplateOut)
def post_services(request: HttpRequest, template_id: int, payload: ServicesIn) -> IntakeTemplate:
    """Attach services: clients booking them will be asked to fill this form."""
    who = staff(request, "intake.manage")
    template = template_detail(who.organization, template_id)
    attach_services(
        organization=who.organization,
        actor=who.user,
        template=template,
        service_ids=payload.services,
    )
    return template_detail(who.organization, template_id)


@router.post("/intake/templates/{template_id}/services/detach", response=TemplateOut)
def post_detach_services(
    request: HttpRequest, template_id: int, payload: ServicesIn
) -> IntakeTemplate:
    """Detach services from the form."""
    who = staff(request, "intake.manage")
    template = template_detail(who.organization, template_id)
    detach_services(
        organization=who.organization,
        actor=who.user,
        template=template,
        service_ids=payload.services,
    )
    return template_detail(who.organization, template_id)


@router.post("/intake/check", response=CheckOut)
def post_check(request: HttpRequest, payload: CheckIn) -> dict[str, object]:
    """Try a form out: which answers are wrong and which would go to a provider for review."""
    who = staff(request, "intake.view")
    version = version_with_questions(who.organization, payload.version, field="version")
    errors, flags = intake_rules.check_answers(
        [q.as_rule() for q in version.questions.all()], payload.answers
    )
    return {
        "valid": not errors,
        "errors": errors,
        "flags": [{"key": key, "reason": reason} for key, reason in flags],
    }
