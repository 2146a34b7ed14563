"""Intake forms: templates attached to services, their numbered versions and questions."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.catalog.models import Service
from medspa.clinical import intake_rules
from medspa.core.models import Organization


class QuestionKind(models.TextChoices):
    TEXT = intake_rules.TEXT, "Text"
    NUMBER = intake_rules.NUMBER, "Number"
    YES_NO = intake_rules.YES_NO, "Yes / no"
    SINGLE_CHOICE = intake_rules.SINGLE_CHOICE, "One choice"
    MULTIPLE_CHOICE = intake_rules.MULTIPLE_CHOICE, "Several choices"
    DATE = intake_rules.DATE, "Date"
    SIGNATURE = intake_rules.SIGNATURE, "Signature"


class IntakeTemplate(models.Model):
    """A form a client fills before a service ("Health history", "Neurotoxin screening")."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="intake_templates"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    services = models.ManyToManyField(Service, related_name="intake_templates", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "intake template"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="intake_template_name")
        ]

    def __str__(self) -> str:
        return self.name


class IntakeVersionQuerySet(models.QuerySet["IntakeTemplateVersion"]):
    def published(self) -> IntakeVersionQuerySet:
        return self.filter(published_at__isnull=False)

    def drafts(self) -> IntakeVersionQuerySet:
        return self.filter(published_at__isnull=True)


class IntakeTemplateVersion(models.Model):
    """One numbered version of a template: a draft until published, then never edited."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(IntakeTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True, help_text="What changed in this version.")

    objects: ClassVar[IntakeVersionQuerySet] = IntakeVersionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["template_id", "number"]
        verbose_name = "intake form version"
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="intake_version_number"),
            # Only one draft per template at a time.
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(published_at__isnull=True),
                name="intake_version_one_draft",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="intake_version_number_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class IntakeQuestion(models.Model):
    """One question of a version, with the answers that need a provider's review."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        IntakeTemplateVersion, on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=50, help_text="Stable name of the answer, e.g. pregnant")
    label = models.CharField(max_length=300)
    help_text = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=QuestionKind.choices)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    # {"equals": true} / {"any_of": [...]} / {"min": x, "max": y}: see intake_rules.
    review_when = models.JSONField(null=True, blank=True)
    review_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["version_id", "position", "id"]
        verbose_name = "intake question"
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="intake_question_key"),
        ]

    def __str__(self) -> str:
        return self.key

    def as_rule(self) -> intake_rules.Question:
        """The question as plain data for intake_rules."""
        return intake_rules.Question(
            key=self.key,
            kind=self.kind,
            required=self.required,
            choices=tuple(self.choices or ()),
            min_value=self.min_value,
            max_value=self.max_value,
            review_when=self.review_when,
            review_reason=self.review_reason,
            label=self.label,
        )
