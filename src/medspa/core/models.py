"""Organizations, locations, staff, API tokens, the audit log and idempotency records."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    """Accept only IANA zone names that the tz database knows."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as America/New_York.")


# An idle session ends between 5 minutes and 12 hours, as the organization sets.
IDLE_TIMEOUT_MIN_MINUTES = 5
IDLE_TIMEOUT_MAX_MINUTES = 720


class Organization(models.Model):
    """A clinic business: the tenant every other row belongs to."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(default=timezone.now)
    # Changes whenever locations, services, resources or working hours change, so that
    # workers can keep those in memory and know when to reload them.
    schedule_token = models.UUIDField(default=uuid.uuid4, editable=False)
    # Staff of these roles (Role values) must sign in with a second factor.
    mfa_required_roles = models.JSONField(default=list, blank=True)
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[
            MinValueValidator(IDLE_TIMEOUT_MIN_MINUTES),
            MaxValueValidator(IDLE_TIMEOUT_MAX_MINUTES),
        ],
        help_text="A signed-in session ends after this many minutes without activity.",
    )
    # Printed on invoices and receipts: the business's legal name and tax registration.
    legal_name = models.CharField(
        max_length=200, blank=True, help_text="As registered, if not the trading name."
    )
    tax_number_label = models.CharField(
        max_length=40, blank=True, default="Tax ID", help_text="e.g. EIN, VAT no., GST/HST no."
    )
    tax_number = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    idle_timeout_minutes__gte=IDLE_TIMEOUT_MIN_MINUTES,
                    idle_timeout_minutes__lte=IDLE_TIMEOUT_MAX_MINUTES,
                ),
                name="organization_idle_timeout_bounds",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def requires_second_factor(self, role: str) -> bool:
        """Whether staff of this role must sign in with a second factor."""
        return role in self.mfa_required_roles


class Location(models.Model):
    """A clinic site with its own time zone and booking rules."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="locations"
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    # Booking rules of this site; the availability engine takes them as plain numbers.
    slot_granularity_minutes = models.PositiveSmallIntegerField(
        default=15, choices=[(5, "5 minutes"), (10, "10 minutes"), (15, "15 minutes")]
    )
    booking_lead_minutes = models.PositiveIntegerField(default=60)
    booking_horizon_days = models.PositiveIntegerField(default=180)
    is_active = models.BooleanField(default=True)
    # A site's own tax registration (a state seller's permit, a branch's GST number), printed
    # on its invoices and receipts beside the organization's.
    tax_number_label = models.CharField(max_length=40, blank=True)
    tax_number = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="location_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    FRONT_DESK = "front_desk", "Front desk"
    PROVIDER = "provider", "Provider"
    BILLING = "billing", "Billing"


# The roles that read clinical data (charts, intake, consent): where a second factor matters.
CLINICAL_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.PROVIDER})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff member who signs in; belongs to exactly one organization with one role."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="staff", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRONT_DESK)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.full_name or self.email


class ApiToken(models.Model):
    """A bearer token for programs; only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class AuditEvent(models.Model):
    """One append-only line of the audit log, chained to the previous one by hash."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="audit_events", null=True
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "object_type", "object_id"], name="audit_object"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """The newest hash of an organization's audit chain; its row lock orders appends."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="audit_head", null=True
    )
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit head {self.last_hash[:12]}"


class IdempotencyRecord(models.Model):
    """The first answer to a write that carried an Idempotency-Key, replayed on retries."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100, help_text="The route the key was used on.")
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "key"], name="idempotency_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.key}"
