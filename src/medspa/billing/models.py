"""Invoices, their lines, tax rates and payments; amounts in integer cents, never float."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.clients.models import Client
from medspa.core.models import Location, Organization
from medspa.scheduling.models import Appointment, Resource


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    REFUNDED = "refunded", "Refunded"


# States in which money can still be taken.
PAYABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID})


class TaxCategory(models.TextChoices):
    SERVICE = "service", "Services"
    INJECTABLE = "injectable", "Injectables"
    RETAIL = "retail", "Retail"


class LineKind(models.TextChoices):
    SERVICE = "service", "Service"
    PRODUCT = "product", "Product used"
    RETAIL = "retail", "Retail item"
    DISCOUNT = "discount", "Discount"
    TIP = "tip", "Tip"
    FEE = "fee", "Fee"


# Lines a discount spreads over and that are taxed; tips and fees are neither.
CHARGE_KINDS = frozenset({LineKind.SERVICE, LineKind.PRODUCT, LineKind.RETAIL})


class TaxRate(models.Model):
    """The sales tax a location charges on one category of item, in basis points."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="tax_rates")
    category = models.CharField(max_length=12, choices=TaxCategory.choices)
    name = models.CharField(max_length=100, help_text="As printed, e.g. 'MA sales tax'.")
    rate_bp = models.PositiveIntegerField(help_text="Basis points: 6.25% is 625.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "location", "category"], name="taxrate_unique_category"
            ),
            models.CheckConstraint(condition=Q(rate_bp__lte=10_000), name="taxrate_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rate_bp / 100:.2f}%"


class InvoiceSequence(models.Model):
    """The last invoice number an organization issued; locked while the next one is taken."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Invoices of {self.organization_id}: last {self.last_number}"


class Invoice(models.Model):
    """What a client owes for a visit or a sale: a draft until issued, then never edited."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="invoices")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    # One live invoice per visit; a voided one leaves room for its replacement.
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    # Assigned when issued, in order and without gaps (the sequence row is locked).
    number = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    currency = models.CharField(max_length=3)
    subtotal_cents = models.PositiveIntegerField(default=0)
    discount_cents = models.PositiveIntegerField(default=0)
    tax_cents = models.PositiveIntegerField(default=0)
    tip_cents = models.PositiveIntegerField(default=0)
    total_cents = models.PositiveIntegerField(default=0)
    paid_cents = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)
    # The journal entries of the sale and of its reversal (ids in the ledger app).
    sale_entry_id = models.BigIntegerField(null=True, blank=True)
    void_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"],
                condition=Q(number__isnull=False),
                name="invoice_unique_number",
            ),
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(appointment__isnull=False) & ~Q(status="void"),
                name="invoice_one_live_per_appointment",
            ),
            models.CheckConstraint(
                condition=Q(paid_cents__lte=models.F("total_cents")),
                name="invoice_paid_at_most_total",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "created_at"])]

    def __str__(self) -> str:
        return f"Invoice {self.display_number}"

    @property
    def display_number(self) -> str:
        return f"{self.number:06d}" if self.number is not None else f"draft {self.pk}"

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT


class InvoiceLine(models.Model):
    """One line of an invoice: a service, a product used, a retail item, a discount, a tip."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=LineKind.choices)
    description = models.CharField(max_length=200)
    # Units, mL or items; two decimals so that 1.25 mL of filler can be charged.
    quantity = models.DecimalField(max_digits=9, decimal_places=2, default=1)
    unit = models.CharField(max_length=8, blank=True)
    unit_price_cents = models.IntegerField(default=0)
    # Before discount and tax; negative for a discount line.
    amount_cents = models.IntegerField()
    # A charge line's share of the invoice's discounts, and the tax on what is left.
    discount_cents = models.PositiveIntegerField(default=0)
    tax_category = models.CharField(max_length=12, choices=TaxCategory.choices, blank=True)
    tax_rate_bp = models.PositiveIntegerField(default=0)
    tax_cents = models.PositiveIntegerField(default=0)
    # A discount: by percent (basis points) or a fixed amount, always with its reason.
    discount_percent_bp = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    # What a discount spreads over: empty for every charge, else a promotion code's scope
    # ("services", "retail", "category:<tax category>"; see promotion_models.line_in_scope).
    discount_scope = models.CharField(max_length=24, blank=True)
    # No price found (a charted product with no catalog price): issuing is refused until set.
    needs_price = models.BooleanField(default=False)
    # The provider a tip goes to, or who performed the service (commission reports).
    provider = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What the line came from: "appointment_service" or "injectable_entry" and its id.
    source_type = models.CharField(max_length=30, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    product_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["invoice_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoiceline_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(kind="discount") | Q(amount_cents__gte=0),
                name="invoiceline_only_discounts_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} {self.amount_cents}"


class Payment(models.Model):
    """One tender of a payment: cash, a card on the external terminal, a cheque, credit."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    # An open set (see billing/tenders.py): gift cards and packages register their own.
    kind = models.CharField(max_length=30)
    amount_cents = models.PositiveIntegerField()
    gateway = models.CharField(max_length=30, default="manual")
    reference = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # The tenders taken in one call share the key; split_index orders them.
    idempotency_key = models.CharField(max_length=200)
    split_index = models.PositiveSmallIntegerField(default=0)
    journal_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key", "split_index"],
                name="payment_unique_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents}"


# --- refunds, credit notes and the daily close -----------------------------------------------


class RefundMethod(models.TextChoices):
    ORIGINAL = "original", "To the original method"
    ACCOUNT_CREDIT = "account_credit", "As account credit"


class CreditNoteSequence(models.Model):
    """The last credit-note number an organization issued; its own series, gap-free."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Credit notes of {self.organization_id}: last {self.last_number}"


class CreditNote(models.Model):
    """A correction of an issued invoice, which is never edited: an amount with its reason.

    On an invoice with a balance it first reduces what the client owes (`applied_cents`);
    what is left of it on a paid invoice becomes a refund or account credit (`refunds`).
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.PositiveIntegerField()
    amount_cents = models.PositiveIntegerField()
    applied_cents = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=300)
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    journal_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="creditnote_unique_number"
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="creditnote_positive"),
            models.CheckConstraint(
                condition=Q(applied_cents__lte=models.F("amount_cents")),
                name="creditnote_applied_at_most_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Credit note {self.display_number}"

    @property
    def display_number(self) -> str:
        return f"CN{self.number:06d}"


class Refund(models.Model):
    """Money given back on an invoice: to the tender it was paid with, or as account credit."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    # The payment given back; none for account credit granted against the invoice as a whole.
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount_cents = models.PositiveIntegerField()
    method = models.CharField(max_length=20, choices=RefundMethod.choices)
    # The tender kind the money went back to ("cash", "card_external", "account_credit").
    tender = models.CharField(max_length=30)
    reason = models.CharField(max_length=300)
    # The external terminal's refund slip, or the gateway's reference.
    reference = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200)
    refunded_at = models.DateTimeField(default=timezone.now)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    journal_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["refunded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="refund_unique_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_positive"),
            models.CheckConstraint(
                condition=Q(method="account_credit") | Q(payment__isnull=False),
                name="refund_original_names_payment",
            ),
        ]
        indexes = [models.Index(fields=["organization", "refunded_at"])]

    def __str__(self) -> str:
        return f"Refund {self.amount_cents} on {self.invoice_id}"


class DailyClose(models.Model):
    """A location's till count at the end of a business day against the cash expected."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="daily_closes")
    business_date = models.DateField()
    # Cash and cheques taken less those refunded that local day; may be below zero.
    expected_cents = models.IntegerField()
    counted_cents = models.PositiveIntegerField()
    difference_cents = models.IntegerField()  # counted - expected: over > 0, short < 0
    explanation = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    journal_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-business_date", "location_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "business_date"], name="dailyclose_one_per_location_day"
            ),
            models.CheckConstraint(
                condition=Q(
                    difference_cents=models.F("counted_cents") - models.F("expected_cents")
                ),
                name="dailyclose_difference_is_counted_less_expected",
            ),
            models.CheckConstraint(
                condition=Q(difference_cents=0) | ~Q(explanation=""),
                name="dailyclose_difference_explained",
            ),
        ]

    def __str__(self) -> str:
        return f"Close of {self.location_id} on {self.business_date}"


from medspa.billing.card_models import CardOnFile, StripeEvent  # noqa: E402,F401
from medspa.billing.deposit_models import (  # noqa: E402,F401
    BookingTerms,
    Deposit,
    DepositStatus,
    FeeKind,
    FeeStatus,
    ProposedFee,
)
from medspa.billing.plan_models import (  # noqa: E402,F401
    Instalment,
    InstalmentAttempt,
    PaymentFollowUp,
    PaymentPlan,
)
from medspa.billing.promotion_models import (  # noqa: E402,F401
    PromotionCode,
    PromotionRedemption,
    Referral,
    ReferralProgramme,
)
from medspa.billing.receipt_models import ReceiptSending, SendingStatus  # noqa: E402,F401
