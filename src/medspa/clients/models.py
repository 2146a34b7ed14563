"""Client records: identity, contact, preferences, tags and consent to be contacted."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from medspa.core.fields import EncryptedJSONField, EncryptedTextField
from medspa.core.models import Organization


class Channel(models.TextChoices):
    """A way to reach a client."""

    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone call"


class PreferredChannel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone call"
    NONE = "none", "No preference"


class Purpose(models.TextChoices):
    """Why the clinic writes: about the client's own visits, or to sell."""

    TRANSACTIONAL = "transactional", "Visits and account (reminders, receipts)"
    MARKETING = "marketing", "Offers and news"


class ClientQuerySet(models.QuerySet["Client"]):
    def active(self) -> ClientQuerySet:
        """Clients that are still records of their own (not merged into another)."""
        return self.filter(is_active=True)

    def tagged(self, slug: str) -> ClientQuerySet:
        return self.filter(tag_rows__slug=slug).distinct()


class Client(models.Model):
    """A person who books treatments at the clinic."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="clients")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +16175550123")
    email = models.EmailField(blank=True)
    birth_date = models.DateField(null=True, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True, help_text="State or province")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166-1 alpha-2")
    preferred_provider = models.ForeignKey(
        "scheduling.Resource",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="preferred_by",
        limit_choices_to={"kind": "provider"},
    )
    preferred_channel = models.CharField(
        max_length=10, choices=PreferredChannel.choices, default=PreferredChannel.NONE
    )
    staff_notes = models.TextField(blank=True, help_text="For staff; never clinical notes.")
    # A merged record stays (old links, audit) but points to the record that kept its history.
    is_active = models.BooleanField(default=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[ClientQuerySet] = ClientQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["organization", "last_name", "first_name"], name="client_name"),
            models.Index(fields=["organization", "phone"], name="client_phone"),
            models.Index(fields=["organization", "email"], name="client_email"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def tags(self) -> list[str]:
        """The client's tag slugs, sorted (prefetch `tag_rows` to read many clients at once)."""
        return sorted(row.slug for row in self.tag_rows.all())


class ClientTag(models.Model):
    """One short label on a client ("vip", "bride-2026"), for lists and filters."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="tag_rows")
    slug = models.SlugField(max_length=40)

    class Meta:
        ordering = ["slug"]
        constraints = [models.UniqueConstraint(fields=["client", "slug"], name="client_tag_unique")]
        indexes = [models.Index(fields=["organization", "slug"], name="client_tag_slug")]

    def __str__(self) -> str:
        return self.slug


class CommunicationConsent(models.Model):
    """One decision of a client about being contacted; rows are never edited, the latest counts."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="communication_consents"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=40, help_text='e.g. "front desk", "portal", "import"')
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [
            models.Index(
                fields=["client", "channel", "purpose", "recorded_at"], name="consent_latest"
            )
        ]

    def __str__(self) -> str:
        verb = "grants" if self.granted else "refuses"
        return f"{self.client} {verb} {self.purpose} by {self.channel}"


# Conditions a provider must know before treating; intake and review build on them.
MEDICAL_FLAGS: dict[str, str] = {
    "pregnant_or_nursing": "Pregnant or nursing",
    "blood_thinners": "Takes blood thinners",
    "isotretinoin_recent": "Isotretinoin in the last 6 months",
    "keloids": "History of keloid scarring",
    "autoimmune": "Autoimmune condition",
    "cold_sores": "History of cold sores",
    "implant_or_pacemaker": "Pacemaker or metal implant",
    "photosensitising_medication": "Photosensitising medication",
    "recent_tan": "Recent sun exposure or tanning",
}


class MedicalHistory(models.Model):
    """One version of a client's allergies, medications and medical flags; the latest counts.

    Clinical data: encrypted at rest, read and written only by clinical roles, and every
    read and change is audited. Versions are never edited, so what staff knew when stays.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="medical_histories")
    allergies = EncryptedJSONField(default=list)
    medications = EncryptedJSONField(default=list)
    medical_flags = EncryptedJSONField(default=list)
    notes = EncryptedTextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["client", "recorded_at"], name="medical_history_client")]

    def __str__(self) -> str:
        return f"Medical history of {self.client_id} at {self.recorded_at:%Y-%m-%d}"
