"""Payment plans: an issued invoice's balance in instalments charged to a card on file by the
worker on their dates, each charge attempt kept, and the follow-up a person works when the
card keeps declining. See docs/decisions/0009-payment-plans.md."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.billing.card_models import CardOnFile
from medspa.billing.models import Invoice, Payment
from medspa.clients.models import Client
from medspa.core.models import Organization


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PlanCadence(models.TextChoices):
    WEEKLY = "weekly", "Every week"
    MONTHLY = "monthly", "Every month"
    DATES = "dates", "On chosen dates"


class PaymentPlan(models.Model):
    """An agreement to pay an invoice's balance in instalments, charged to one card on file."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payment_plans")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="payment_plans")
    card = models.ForeignKey(CardOnFile, on_delete=models.PROTECT, related_name="payment_plans")
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    cadence = models.CharField(max_length=10, choices=PlanCadence.choices)
    # The balance the plan was made for, split over the instalments (they sum to it).
    total_cents = models.PositiveIntegerField()
    instalment_count = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    # Why it was cancelled or failed, as the desk or the worker put it.
    end_reason = models.CharField(max_length=300, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "invoice"],
                condition=Q(status="active"),
                name="paymentplan_one_active_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(instalment_count__gte=2) & Q(instalment_count__lte=24),
                name="paymentplan_2_to_24_instalments",
            ),
            models.CheckConstraint(condition=Q(total_cents__gt=0), name="paymentplan_positive"),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"Plan {self.pk} of invoice {self.invoice_id}"


class InstalmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CHARGING = "charging", "Being charged"
    PAID = "paid", "Paid"
    # Settled without a charge: the desk took a payment or a credit note reduced the balance.
    COVERED = "covered", "Covered by another payment"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Instalments still to be charged (or being charged).
OPEN_INSTALMENTS = frozenset({InstalmentStatus.SCHEDULED, InstalmentStatus.CHARGING})


class Instalment(models.Model):
    """One dated part of a plan; the worker charges it from `next_attempt_at` on."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField()  # 1..N
    due_date = models.DateField()  # the location's local date
    # What was agreed, and what is still to charge (less once other payments covered part).
    planned_cents = models.PositiveIntegerField()
    amount_cents = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=InstalmentStatus.choices, default=InstalmentStatus.SCHEDULED
    )
    # The start of the due date in the location's zone, then each retry's moment.
    next_attempt_at = models.DateTimeField()
    # Attempts started: the newest one's number makes its idempotency key. An attempt whose
    # outcome is unknown (a worker killed mid-charge, Stripe unreachable) stays open and is
    # retried under the same number, so Stripe answers it again instead of charging twice.
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_open = models.BooleanField(default=False)
    # Declines since the card last changed; at the limit the plan fails.
    declines = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="instalment_unique_number"),
            models.CheckConstraint(
                condition=Q(amount_cents__lte=models.F("planned_cents")),
                name="instalment_amount_at_most_planned",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Instalment {self.number} of plan {self.plan_id}"


class AttemptOutcome(models.TextChoices):
    PAID = "paid", "Paid"
    DECLINED = "declined", "Declined"
    ERROR = "error", "Not reached"


class InstalmentAttempt(models.Model):
    """One charge of an instalment as it went: paid, declined with the reason, or not reached."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    instalment = models.ForeignKey(Instalment, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    amount_cents = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["instalment", "at"])]

    def __str__(self) -> str:
        return f"{self.outcome} {self.amount_cents}"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class FollowUpResolution(models.TextChoices):
    PAID = "paid", "Paid another way"
    NEW_CARD = "new_card", "Charged to a new card"
    WRITTEN_OFF = "written_off", "Written off"


class PaymentFollowUp(models.Model):
    """A failed plan for a person to work through: call the client, then resolve it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(PaymentPlan, on_delete=models.PROTECT, related_name="follow_ups")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    # What was owed and why the card failed, when the follow-up was opened.
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    resolution = models.CharField(max_length=12, choices=FollowUpResolution.choices, blank=True)
    resolution_note = models.CharField(max_length=300, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "plan"],
                condition=Q(status="open"),
                name="followup_one_open_per_plan",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | ~Q(resolution=""),
                name="followup_resolved_says_how",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "created_at"])]

    def __str__(self) -> str:
        return f"Follow-up {self.pk} of plan {self.plan_id}"
