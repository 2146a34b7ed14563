"""The clinical half of a visit: intake forms and requests, review tasks, consent templates and
signatures, the treatment gate's overrides, charts with injectables, device settings, photos,
aftercare and addenda.

Clinical text (answers, notes, signatures, photos) sits on encrypted fields; the services
audit every read and change.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.clinical import intake_rules
from medspa.core.fields import EncryptedBinaryField, EncryptedJSONField, EncryptedTextField
from medspa.core.models import Organization
from medspa.scheduling.models import Appointment, Resource


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


# --- Intake requests and review tasks -------------------------------------------------------


class IntakeRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the client"
    SUBMITTED = "submitted", "Submitted"
    CANCELLED = "cancelled", "Cancelled"


class IntakeRequest(models.Model):
    """A form a client owes before an appointment: created when the appointment is booked."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="intake_requests")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="intake_requests", null=True, blank=True
    )
    template = models.ForeignKey(IntakeTemplate, on_delete=models.PROTECT, related_name="+")
    # The version the client is asked to fill: the one published when the request was made.
    version = models.ForeignKey(IntakeTemplateVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=12, choices=IntakeRequestStatus.choices, default=IntakeRequestStatus.PENDING
    )
    answers = EncryptedJSONField(null=True, blank=True)
    # Review flags found in the answers: [{"key": ..., "reason": ...}]; clinical, so encrypted.
    flags = EncryptedJSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.CharField(max_length=254, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "template"],
                condition=~Q(status="cancelled"),
                name="intake_request_once_per_appointment",
            )
        ]
        indexes = [models.Index(fields=["client", "status"], name="intake_request_client")]

    def __str__(self) -> str:
        return f"Intake {self.template_id} for client {self.client_id}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for a provider"
    CLEARED = "cleared", "Cleared to treat"
    NOT_CLEARED = "not_cleared", "Not cleared"


class ReviewTask(models.Model):
    """Intake answers a provider must look at: the software flags, a person decides."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="review_tasks")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="review_tasks", null=True, blank=True
    )
    intake_request = models.OneToOneField(
        IntakeRequest, on_delete=models.CASCADE, related_name="review_task"
    )
    # The provider expected to decide (the appointment's provider), if known.
    assigned_to = models.ForeignKey(
        Resource, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    decision_note = EncryptedTextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["status", "created_at", "id"]
        indexes = [models.Index(fields=["organization", "status"], name="review_task_open")]

    def __str__(self) -> str:
        return f"Review for client {self.client_id} ({self.status})"


# --- Consent ------------------------------------------------------------------------------


class ConsentTemplate(models.Model):
    """A consent a client signs before a service ("Neurotoxin treatment consent")."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="consent_templates"
    )
    name = models.CharField(max_length=200)
    services = models.ManyToManyField(Service, related_name="consent_templates", blank=True)
    # How long a signature stays valid; None: until a version that requires re-signing.
    valid_days = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="consent_template_name")
        ]

    def __str__(self) -> str:
        return self.name


class ConsentVersionQuerySet(models.QuerySet["ConsentTemplateVersion"]):
    def published(self) -> ConsentVersionQuerySet:
        return self.filter(published_at__isnull=False)


class ConsentTemplateVersion(models.Model):
    """One numbered text of a consent: a draft until published, then never edited."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="The exact text the client reads and signs.")
    # Whether signatures of earlier versions stop counting once this one is published.
    requires_resignature = models.BooleanField(default=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[ConsentVersionQuerySet] = ConsentVersionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["template_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="consent_version_number"),
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(published_at__isnull=True),
                name="consent_version_one_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class ConsentSignature(models.Model):
    """A client's signature of one consent version: immutable once written."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="consent_signatures")
    version = models.ForeignKey(
        ConsentTemplateVersion, on_delete=models.PROTECT, related_name="signatures"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="consents"
    )
    typed_name = models.CharField(max_length=200)
    # The drawn signature as a PNG data URL from signature_pad.
    signature_image = EncryptedTextField()
    text_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the exact text signed.")
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Staff member who handed over the tablet, if signed in the clinic.
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["client", "version"], name="consent_signature_client")]

    def __str__(self) -> str:
        return f"{self.typed_name} signed {self.version_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A signed consent is immutable.")
        super().save(*args, **kwargs)


# --- The treatment gate ----------------------------------------------------------------------


class GateOverride(models.Model):
    """A manager let an appointment into treatment despite the gate: manual recovery."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="gate_overrides"
    )
    # Clinical free text ("consent signed on paper; scanned after"): encrypted at rest.
    reason = EncryptedTextField()
    # What the gate was missing at the time: [{"service": id, "missing": "...", ...}].
    missing = models.JSONField(default=list)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    overridden_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-overridden_at", "-id"]

    def __str__(self) -> str:
        return f"Gate override on {self.appointment_id}"


# --- Charts -----------------------------------------------------------------------------------


class ChartStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed and locked"


class Chart(models.Model):
    """The clinical record of one appointment; signing locks it, later changes are addenda."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="chart")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="charts")
    provider = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notes = EncryptedTextField(blank=True)
    status = models.CharField(max_length=10, choices=ChartStatus.choices, default=ChartStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"], name="chart_client")]

    def __str__(self) -> str:
        return f"Chart of appointment {self.appointment_id}"

    @property
    def is_locked(self) -> bool:
        return self.status == ChartStatus.SIGNED


class InjectableKind(models.TextChoices):
    NEUROTOXIN = "neurotoxin", "Neurotoxin"
    FILLER = "filler", "Dermal filler"
    BIOSTIMULATOR = "biostimulator", "Biostimulator"
    OTHER = "other", "Other injectable"


class DoseUnit(models.TextChoices):
    UNITS = "units", "units"
    ML = "ml", "mL"


class InjectableEntry(models.Model):
    """A product injected: how much, which lot, where on the face."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="injectables")
    kind = models.CharField(max_length=20, choices=InjectableKind.choices)
    product = models.CharField(max_length=120, help_text="e.g. Botox Cosmetic, Juvederm Voluma")
    quantity = models.DecimalField(max_digits=7, decimal_places=2)
    unit = models.CharField(max_length=8, choices=DoseUnit.choices)
    lot_number = models.CharField(max_length=60)
    expiry = models.DateField()
    # [{"site": "glabella", "x": 0.5, "y": 0.3, "quantity": "4"}]: x, y in 0..1 on the diagram.
    sites = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["chart_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="injectable_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.quantity} {self.unit}"


class DeviceSetting(models.Model):
    """Energy-device parameters used on one treated area."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="device_settings")
    device = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    area = models.CharField(max_length=80, blank=True)
    fluence = models.DecimalField(max_digits=7, decimal_places=2, help_text="J/cm²")
    pulse_width_ms = models.DecimalField(max_digits=8, decimal_places=3)
    spot_size_mm = models.DecimalField(max_digits=5, decimal_places=1)
    passes = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["chart_id", "id"]

    def __str__(self) -> str:
        return f"{self.device_id} at {self.fluence} J/cm²"


class PhotoKind(models.TextChoices):
    BEFORE = "before", "Before"
    AFTER = "after", "After"


class ChartPhoto(models.Model):
    """A before or after photo; the image bytes live encrypted in ChartPhotoContent."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    chart = models.ForeignKey(Chart, on_delete=models.PROTECT, related_name="photos")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=8, choices=PhotoKind.choices)
    area = models.CharField(max_length=80, blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    taken_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["chart_id", "taken_at", "id"]
        indexes = [models.Index(fields=["client", "taken_at"], name="chart_photo_client")]

    def __str__(self) -> str:
        return f"{self.kind} photo {self.pk}"


class ChartPhotoContent(models.Model):
    """The encrypted bytes of a photo, apart so lists never load them."""

    photo = models.OneToOneField(
        ChartPhoto, on_delete=models.CASCADE, primary_key=True, related_name="content"
    )
    image = EncryptedBinaryField()
    thumbnail = EncryptedBinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Content of photo {self.photo_id}"


class AftercareTemplate(models.Model):
    """Instructions sent after a service ("No lying down for 4 hours")."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="aftercare_templates"
    )
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    services = models.ManyToManyField(Service, related_name="aftercare_templates", blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="aftercare_template_name")
        ]

    def __str__(self) -> str:
        return self.name


class AftercareSent(models.Model):
    """Aftercare instructions sent for a chart: the exact text, to whom, when."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="aftercare")
    template = models.ForeignKey(
        AftercareTemplate, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    sent_to = models.CharField(max_length=254)
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["chart_id", "sent_at", "id"]

    def __str__(self) -> str:
        return f"Aftercare for chart {self.chart_id}"


class ChartAddendum(models.Model):
    """A later note on a signed chart; the chart itself never changes after signing."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="addenda")
    text = EncryptedTextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["chart_id", "created_at", "id"]
        verbose_name_plural = "chart addenda"

    def __str__(self) -> str:
        return f"Addendum to chart {self.chart_id}"
