"""Writes to intake forms: templates, draft questions, publishing, new drafts, services.

Each service is one transaction and one audit event. A published version is never edited:
changes go into a new draft that starts as a copy of the latest version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from medspa.clinical import intake_rules
from medspa.clinical.models import IntakeQuestion, IntakeTemplate, IntakeTemplateVersion
from medspa.clinical.selectors import owned_services
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid, NotFound
from medspa.core.models import Organization, User

MAX_QUESTIONS = 200
MAX_CHOICES = 50
QUESTION_FIELDS = (
    "key",
    "label",
    "help_text",
    "kind",
    "required",
    "choices",
    "min_value",
    "max_value",
    "review_when",
    "review_reason",
)


def _event(
    organization: Organization,
    actor: User | None,
    action: str,
    template: IntakeTemplate | int,
    **data: Any,
) -> None:
    template_id = template if isinstance(template, int) else template.pk
    record_event(
        organization=organization,
        actor=actor,
        action=f"intake.{action}",
        object_type="intake_template",
        object_id=template_id,
        data=data,
    )


def _locked_draft(
    organization: Organization, version: IntakeTemplateVersion
) -> IntakeTemplateVersion:
    """Re-read the version under lock; refuse (409) unless it is still a draft."""
    locked = (
        IntakeTemplateVersion.objects.select_for_update()
        .filter(organization=organization, pk=version.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No intake form version with this id in your organization.")
    if not locked.is_draft:
        raise Conflict(
            f"Version {locked.number} is published and cannot change; start a new draft.",
            [FieldError("version", "Published versions are immutable.")],
            code="version_published",
        )
    return locked


def _check_owner(organization: Organization, template: IntakeTemplate) -> None:
    if template.organization_id != organization.pk:
        raise NotFound("No intake template with this id in your organization.")


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid.on("name", "Give the form a name of 1 to 200 characters.")
    return name


@transaction.atomic
def create_template(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    description: str = "",
    service_ids: Iterable[int] = (),
) -> IntakeTemplate:
    """Create a template with an empty draft version 1, optionally attached to services."""
    name = _clean_name(name)
    if IntakeTemplate.objects.filter(organization=organization, name__iexact=name).exists():
        raise Invalid.on("name", f"A form named {name!r} already exists.")
    services = owned_services(organization, service_ids)
    template = IntakeTemplate.objects.create(
        organization=organization, name=name, description=description.strip()
    )
    template.services.set(services)
    IntakeTemplateVersion.objects.create(
        organization=organization, template=template, number=1, created_by=actor
    )
    _event(organization, actor, "template_created", template, name=name)
    return template


def _checked_question(values: Mapping[str, Any]) -> dict[str, Any]:
    """The question's fields, cleaned, or Invalid naming the field that is wrong."""
    clean = dict(values)
    clean["key"] = str(clean["key"]).strip()
    clean["label"] = str(clean["label"]).strip()
    clean["review_reason"] = str(clean.get("review_reason") or "").strip()
    clean["help_text"] = str(clean.get("help_text") or "").strip()
    clean["choices"] = [str(c).strip() for c in clean.get("choices") or []]
    if not clean["label"] or len(clean["label"]) > 300:
        raise Invalid.on("label", "Give the question a label of 1 to 300 characters.")
    if len(clean["choices"]) > MAX_CHOICES:
        raise Invalid.on("choices", f"A question has at most {MAX_CHOICES} choices.")
    if len(clean["review_reason"]) > 300:
        raise Invalid.on("review_reason", "Say it in at most 300 characters.")
    problem = intake_rules.rule_problem(
        intake_rules.Question(
            key=clean["key"],
            kind=clean["kind"],
            required=bool(clean.get("required")),
            choices=tuple(clean["choices"]),
            min_value=clean.get("min_value"),
            max_value=clean.get("max_value"),
            review_when=clean.get("review_when"),
            review_reason=clean["review_reason"],
        )
    )
    if problem is not None:
        raise Invalid.on(*problem)
    return clean


def _key_taken(version: IntakeTemplateVersion, key: str, *, other_than: int | None = None) -> None:
    taken = IntakeQuestion.objects.filter(version=version, key=key)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise Invalid.on("key", f"This form already has a question {key!r}.")


@transaction.atomic
def add_question(
    *,
    organization: Organization,
    actor: User | None,
    version: IntakeTemplateVersion,
    key: str,
    label: str,
    kind: str,
    required: bool = False,
    help_text: str = "",
    choices: list[str] | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    review_when: dict[str, Any] | None = None,
    review_reason: str = "",
) -> IntakeQuestion:
    """Append a question to a draft version."""
    version = _locked_draft(organization, version)
    clean = _checked_question(
        {
            "key": key,
            "label": label,
            "kind": kind,
            "required": required,
            "help_text": help_text,
            "choices": choices,
            "min_value": min_value,
            "max_value": max_value,
            "review_when": review_when,
            "review_reason": review_reason,
        }
    )
    _key_taken(version, clean["key"])
    count = version.questions.count()
    if count >= MAX_QUESTIONS:
        raise Invalid.on("key", f"A form has at most {MAX_QUESTIONS} questions.")
    question = IntakeQuestion.objects.create(
        organization=organization, version=version, position=count, **clean
    )
    _event(
        organization,
        actor,
        "question_added",
        version.template_id,
        version=version.number,
        key=question.key,
    )
    return question


@transaction.atomic
def update_question(
    *, organization: Organization, actor: User | None, question: IntakeQuestion, **changes: Any
) -> IntakeQuestion:
    """Change fields of a draft's question; a field left out stays as it is."""
    unknown = sorted(set(changes) - set(QUESTION_FIELDS))
    if unknown:
        raise Invalid.on(unknown[0], "Not a field of a question.")
    version = _locked_draft(organization, question.version)
    current = {name: getattr(question, name) for name in QUESTION_FIELDS}
    clean = _checked_question({**current, **changes})
    _key_taken(version, clean["key"], other_than=question.pk)
    for name, value in clean.items():
        setattr(question, name, value)
    question.save(update_fields=list(QUESTION_FIELDS))
    _event(
        organization,
        actor,
        "question_updated",
        version.template_id,
        version=version.number,
        key=question.key,
        fields=sorted(changes),
    )
    return question


def _renumber(version: IntakeTemplateVersion, keys: list[str]) -> None:
    by_key = {q.key: q for q in version.questions.all()}
    for position, key in enumerate(keys):
        by_key[key].position = position
    IntakeQuestion.objects.bulk_update(by_key.values(), ["position"])


@transaction.atomic
def remove_question(
    *, organization: Organization, actor: User | None, question: IntakeQuestion
) -> None:
    """Remove a question from a draft; the others close the gap."""
    version = _locked_draft(organization, question.version)
    key = question.key
    question.delete()
    _renumber(
        version, list(version.questions.order_by("position", "id").values_list("key", flat=True))
    )
    _event(
        organization,
        actor,
        "question_removed",
        version.template_id,
        version=version.number,
        key=key,
    )


@transaction.atomic
def reorder_questions(
    *,
    organization: Organization,
    actor: User | None,
    version: IntakeTemplateVersion,
    keys: list[str],
) -> IntakeTemplateVersion:
    """Put a draft's questions in the given order of keys (all of them, each once)."""
    version = _locked_draft(organization, version)
    existing = set(version.questions.values_list("key", flat=True))
    if len(keys) != len(set(keys)) or set(keys) != existing:
        raise Invalid.on("keys", "Name every question of the draft exactly once.")
    _renumber(version, keys)
    _event(organization, actor, "questions_reordered", version.template_id, version=version.number)
    return version


@transaction.atomic
def publish_version(
    *,
    organization: Organization,
    actor: User | None,
    version: IntakeTemplateVersion,
    notes: str | None = None,
    now: datetime | None = None,
) -> IntakeTemplateVersion:
    """Publish a draft: from now on it is what clients fill, and it never changes."""
    version = _locked_draft(organization, version)
    questions = list(version.questions.all())
    if not questions:
        raise Invalid.on("version", "Add at least one question before publishing.")
    for question in questions:
        if question.kind in intake_rules.CHOICE_KINDS and not question.choices:
            raise Invalid.on(f"questions.{question.key}.choices", "Give the question its choices.")
        problem = intake_rules.rule_problem(question.as_rule())
        if problem is not None:
            raise Invalid.on(f"questions.{question.key}.{problem[0]}", problem[1])
    version.published_at = now or timezone.now()
    if notes is not None:
        version.notes = notes.strip()
    version.save(update_fields=["published_at", "notes"])
    _event(organization, actor, "version_published", version.template_id, version=version.number)
    return version


@transaction.atomic
def start_draft(
    *, organization: Organization, actor: User | None, template: IntakeTemplate, notes: str = ""
) -> IntakeTemplateVersion:
    """Open the next version as a draft holding a copy of the latest version's questions."""
    template = IntakeTemplate.objects.select_for_update().get(
        organization=organization, pk=template.pk
    )
    versions = IntakeTemplateVersion.objects.filter(template=template)
    if versions.drafts().exists():
        raise Conflict(
            "This form already has a draft; publish it first.",
            [FieldError("template", "A draft already exists.")],
            code="draft_exists",
        )
    latest = versions.order_by("-number").first()
    number = latest.number + 1 if latest else 1
    draft = IntakeTemplateVersion.objects.create(
        organization=organization,
        template=template,
        number=number,
        created_by=actor,
        notes=notes.strip(),
    )
    if latest is not None:
        IntakeQuestion.objects.bulk_create(
            IntakeQuestion(
                organization=organization,
                version=draft,
                position=q.position,
                **{name: getattr(q, name) for name in QUESTION_FIELDS},
            )
            for q in latest.questions.all()
        )
    _event(organization, actor, "draft_started", template, version=number)
    return draft


@transaction.atomic
def attach_services(
    *,
    organization: Organization,
    actor: User | None,
    template: IntakeTemplate,
    service_ids: Iterable[int],
) -> IntakeTemplate:
    """Ask clients booking these services to fill this form."""
    _check_owner(organization, template)
    services = owned_services(organization, service_ids)
    template.services.add(*services)
    _event(
        organization, actor, "services_attached", template, services=sorted(s.pk for s in services)
    )
    return template


@transaction.atomic
def detach_services(
    *,
    organization: Organization,
    actor: User | None,
    template: IntakeTemplate,
    service_ids: Iterable[int],
) -> IntakeTemplate:
    """Stop asking clients booking these services to fill this form."""
    _check_owner(organization, template)
    services = owned_services(organization, service_ids)
    template.services.remove(*services)
    _event(
        organization, actor, "services_detached", template, services=sorted(s.pk for s in services)
    )
    return template
