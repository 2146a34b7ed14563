"""Promotion codes and their redemptions; referrals between clients and the referral programme.

Imported at the bottom of `billing/models.py` so Django finds the models in the billing app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.clients.models import Client
from medspa.core.models import Organization

# What a discount line applies to, kept on the line (`InvoiceLine.discount_scope`): empty for
# every charge, else one of these; "category:<tax category>" narrows to one tax category.
SCOPE_ALL = ""
SCOPE_SERVICES = "services"  # services performed and the products used in them
SCOPE_RETAIL = "retail"  # retail items sold at the desk
CATEGORY_PREFIX = "category:"


def line_in_scope(scope: str, kind: str, tax_category: str) -> bool:
    """Whether a charge line (its kind and tax category) is one a discount's scope covers."""
    if scope == SCOPE_ALL:
        return True
    if scope == SCOPE_SERVICES:
        return kind in ("service", "product")
    if scope == SCOPE_RETAIL:
        return kind == "retail"
    if scope.startswith(CATEGORY_PREFIX):
        return tax_category == scope.removeprefix(CATEGORY_PREFIX)
    return False


class PromotionAppliesTo(models.TextChoices):
    ALL = "all", "Everything charged"
    SERVICES = "services", "Services only"
    RETAIL = "retail", "Retail only"
    CATEGORY = "category", "One tax category"


class PromotionCode(models.Model):
    """A code the client gives at checkout for a discount, by percent or amount, with limits.

    `code` is kept trimmed and upper-cased, so "welcome10 " and "WELCOME10" are one code;
    `used_count` counts live redemptions (applied and not freed) and is only changed with
    this row locked, so the limit holds however many desks apply the code at once.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=40)
    description = models.CharField(max_length=200, blank=True)
    percent_bp = models.PositiveIntegerField(null=True, blank=True)
    amount_cents = models.PositiveIntegerField(null=True, blank=True)
    applies_to = models.CharField(
        max_length=10, choices=PromotionAppliesTo.choices, default=PromotionAppliesTo.ALL
    )
    tax_category = models.CharField(max_length=12, blank=True)
    # Local dates in the organization's zone (the books' zone), both inclusive.
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    # Of what the code applies to, before discounts and tax.
    minimum_spend_cents = models.PositiveIntegerField(default=0)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    once_per_client = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    used_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-is_active", "code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="promotioncode_unique"),
            models.CheckConstraint(
                condition=Q(percent_bp__isnull=True, amount_cents__gt=0)
                | Q(amount_cents__isnull=True, percent_bp__gt=0, percent_bp__lte=10_000),
                name="promotioncode_percent_or_amount",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(used_count__lte=models.F("max_redemptions")),
                name="promotioncode_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="promotioncode_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def scope(self) -> str:
        """The discount line's scope for this code (see `line_in_scope`)."""
        if self.applies_to == PromotionAppliesTo.CATEGORY:
            return f"{CATEGORY_PREFIX}{self.tax_category}"
        if self.applies_to == PromotionAppliesTo.ALL:
            return SCOPE_ALL
        return str(self.applies_to)


class RedemptionStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    RELEASED = "released", "Freed"


class PromotionRedemption(models.Model):
    """A code used on an invoice: counted while applied; freed when its line or draft goes."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    promotion = models.ForeignKey(
        PromotionCode, on_delete=models.PROTECT, related_name="redemptions"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="promotion_redemptions"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    # The discount line; kept as a plain id because the line is deleted when removed.
    line_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.APPLIED
    )
    applied_at = models.DateTimeField(default=timezone.now)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_why = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            # A code once on an invoice at a time.
            models.UniqueConstraint(
                fields=["promotion", "invoice"],
                condition=Q(status="applied"),
                name="promotionredemption_once_per_invoice",
            )
        ]
        indexes = [models.Index(fields=["promotion", "client", "status"])]

    def __str__(self) -> str:
        return f"{self.promotion_id} on {self.invoice_id} ({self.status})"


class ReferralProgramme(models.Model):
    """What a referral earns: credit for the referrer, optionally a first-visit discount."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    is_active = models.BooleanField(default=False)
    referrer_credit_cents = models.PositiveIntegerField(default=0)
    # Basis points off the referred client's first invoice; none when not offered.
    first_visit_percent_bp = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(first_visit_percent_bp__isnull=True)
                | Q(first_visit_percent_bp__gt=0, first_visit_percent_bp__lte=10_000),
                name="referralprogramme_percent_bounds",
            )
        ]

    def __str__(self) -> str:
        return f"Referral programme of {self.organization_id}"


class Referral(models.Model):
    """A client referred by another client of the same organization: set once, never circular.

    The referrer's credit is granted once, when the referred client's first invoice is paid
    in full (`granted_*`), in the payment's transaction.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="referral")
    referrer = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="referrals_made")
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    granted_cents = models.PositiveIntegerField(default=0)
    granted_at = models.DateTimeField(null=True, blank=True)
    granted_invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    journal_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(client=models.F("referrer")), name="referral_not_self"
            ),
        ]
        indexes = [models.Index(fields=["organization", "referrer", "granted_at"])]

    def __str__(self) -> str:
        return f"{self.client_id} referred by {self.referrer_id}"
