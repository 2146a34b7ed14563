"""A client's card on file (Stripe keeps the card; we keep its reference and the consent)
and the Stripe events already handled, so a webhook delivered twice is processed once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.clients.models import Client
from medspa.core.models import Organization


class CardOnFile(models.Model):
    """A card the client agreed to have charged later (no-show fees, instalments, checkout)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cards_on_file")
    stripe_customer_id = models.CharField(max_length=100)
    stripe_payment_method_id = models.CharField(max_length=100)
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    # The consent as the client saw it, when and in front of whom: the proof a later charge
    # without the client present was agreed to.
    consent_text = models.TextField()
    consented_at = models.DateTimeField(default=timezone.now)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "stripe_payment_method_id"],
                name="cardonfile_unique_payment_method",
            ),
            models.CheckConstraint(condition=~Q(consent_text=""), name="cardonfile_has_consent"),
        ]

    def __str__(self) -> str:
        return f"{self.brand.title()} ending {self.last4}"


class StripeEvent(models.Model):
    """One webhook event from Stripe, kept so its replay changes nothing."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    # Known once the event is matched to a payment; unknown events belong to no one.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["processed_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
