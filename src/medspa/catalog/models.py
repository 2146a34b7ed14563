"""What a clinic sells: services made of segments that hold providers, rooms and devices."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from medspa.core.models import Location, Organization


class ServiceCategory(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    INJECTABLE = "injectable", "Injectable"
    LASER = "laser", "Laser and light"
    SKIN = "skin", "Skin treatment"
    BODY = "body", "Body"
    WELLNESS = "wellness", "Wellness"


class Service(models.Model):
    """A bookable treatment: an ordered list of segments and what each one holds."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField(max_length=200)
    category = models.CharField(
        max_length=20, choices=ServiceCategory.choices, default=ServiceCategory.SKIN
    )
    description = models.TextField(blank=True)
    price_cents = models.PositiveIntegerField(help_text="Price in minor units (cents).")
    # Capabilities are slugs: the provider's skill or certification, the room's type, the
    # device's type. Empty means the service does not need that kind of resource.
    provider_capability = models.CharField(max_length=60, blank=True)
    room_type = models.CharField(max_length=60, blank=True)
    device_type = models.CharField(max_length=60, blank=True)
    # Buffers hold the resources of the first/last segment outside the client's time.
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    locations = models.ManyToManyField(
        Location, related_name="services", blank=True, help_text="Empty: offered everywhere."
    )
    color = models.CharField(max_length=7, default="#5b8def")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="service_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceSegment(models.Model):
    """One step of a service: its length and which resources it holds."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    duration_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    holds_provider = models.BooleanField(default=True)
    holds_room = models.BooleanField(default=True)
    holds_device = models.BooleanField(default=False)

    class Meta:
        ordering = ["service_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["service", "position"], name="segment_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.name} ({self.duration_minutes} min)"


class ProductCategory(models.TextChoices):
    RETAIL = "retail", "Retail"
    INJECTABLE = "injectable", "Injectable"


class ProductUnit(models.TextChoices):
    UNITS = "units", "units"
    ML = "ml", "mL"
    EACH = "each", "each"


class Product(models.Model):
    """A product the clinic charges for: sold retail, or used on the chart (per unit or mL)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="products"
    )
    # Matched (case-insensitively) to the product a provider charts, e.g. "Botox Cosmetic".
    name = models.CharField(max_length=120)
    category = models.CharField(
        max_length=12, choices=ProductCategory.choices, default=ProductCategory.RETAIL
    )
    unit = models.CharField(max_length=8, choices=ProductUnit.choices, default=ProductUnit.EACH)
    price_cents = models.PositiveIntegerField(help_text="Price of one unit, in minor units.")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="product_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


from medspa.catalog.policy_models import (  # noqa: E402,F401
    BookingPolicy,
    DepositKind,
    DepositOutcome,
    RefundTo,
)
