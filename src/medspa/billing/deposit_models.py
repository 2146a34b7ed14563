"""Deposits taken at booking (a liability until applied, refunded or forfeited) and the
late-cancellation and no-show fees proposed to staff, who confirm or waive each one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from medspa.billing.card_models import CardOnFile
from medspa.clients.models import Client
from medspa.core.models import Location, Organization
from medspa.scheduling.models import Appointment


class DepositStatus(models.TextChoices):
    DUE = "due", "Due"
    HELD = "held", "Held"
    APPLIED = "applied", "Applied at checkout"
    REFUND_DUE = "refund_due", "To give back"
    REFUNDED = "refunded", "Refunded"
    FORFEITED = "forfeited", "Forfeited"
    # Never paid, and no longer asked: the visit was cancelled, or checked out without it.
    CANCELLED = "cancelled", "Not taken"


class Deposit(models.Model):
    """The deposit a visit's services ask for: due at booking, then held until it is applied to
    the visit's invoice, given back, or kept by the clinic under its cancellation policy.

    What is held is always `paid - applied - refunded - forfeited`; the ledger's
    `deposits_held` account is the sum of that over every deposit.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="deposit"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="deposits")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=12, choices=DepositStatus.choices, default=DepositStatus.DUE
    )
    amount_cents = models.PositiveIntegerField()
    paid_cents = models.PositiveIntegerField(default=0)
    applied_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    forfeited_cents = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    # How it was paid: a tender kind (cash, cheque, card_external, card) and its gateway.
    tender = models.CharField(max_length=30, blank=True)
    gateway = models.CharField(max_length=30, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    card = models.ForeignKey(
        CardOnFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    payment_entry_id = models.BigIntegerField(null=True, blank=True)
    # Applied to the visit's invoice when it was issued (Dr deposits_held, Cr receivable).
    applied_invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    applied_entry_id = models.BigIntegerField(null=True, blank=True)
    # Given back: where (original tender or account credit), why, and the gateway's answer.
    refund_method = models.CharField(max_length=20, blank=True)
    refund_reason = models.CharField(max_length=300, blank=True)
    refund_reference = models.CharField(max_length=200, blank=True)
    refund_attempts = models.PositiveSmallIntegerField(default=0)
    refund_error = models.CharField(max_length=300, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    refund_entry_id = models.BigIntegerField(null=True, blank=True)
    forfeited_at = models.DateTimeField(null=True, blank=True)
    forfeit_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="deposit_positive"),
            models.CheckConstraint(
                condition=Q(paid_cents=0) | Q(paid_cents=F("amount_cents")),
                name="deposit_paid_whole",
            ),
            models.CheckConstraint(
                condition=Q(
                    paid_cents__gte=F("applied_cents") + F("refunded_cents") + F("forfeited_cents")
                ),
                name="deposit_never_spent_twice",
            ),
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="deposit_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"Deposit {self.amount_cents} for {self.appointment_id}"

    @property
    def held_cents(self) -> int:
        return self.paid_cents - self.applied_cents - self.refunded_cents - self.forfeited_cents


class BookingTerms(models.Model):
    """The cancellation terms a visit was booked under (its services' policies combined, as
    they stood at booking): a later change of policy does not change what a client agreed
    to. Kept only for visits whose services have a policy set."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="booking_terms"
    )
    terms = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Terms of {self.appointment_id}"


class FeeKind(models.TextChoices):
    LATE_CANCEL = "late_cancel", "Late cancellation"
    NO_SHOW = "no_show", "No-show"


class FeeStatus(models.TextChoices):
    PROPOSED = "proposed", "Waiting for staff"
    CHARGED = "charged", "Charged to the card on file"
    INVOICED = "invoiced", "On an invoice to collect"
    WAIVED = "waived", "Waived"


class ProposedFee(models.Model):
    """A late-cancellation or no-show fee the policy calls for, less any deposit kept: never
    charged until a staff member confirms it (card on file, or an invoice) or waives it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="proposed_fee"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="proposed_fees")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=FeeKind.choices)
    status = models.CharField(max_length=10, choices=FeeStatus.choices, default=FeeStatus.PROPOSED)
    currency = models.CharField(max_length=3)
    # The policy's fee, the deposit already kept for the same visit, and what is left to ask.
    policy_fee_cents = models.PositiveIntegerField()
    forfeited_cents = models.PositiveIntegerField(default=0)
    amount_cents = models.PositiveIntegerField()
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    waive_reason = models.CharField(max_length=300, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    card = models.ForeignKey(
        CardOnFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="fee_positive"),
            models.CheckConstraint(
                condition=~Q(status="waived") | ~Q(waive_reason=""), name="fee_waiver_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "proposed_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} fee {self.amount_cents} for {self.appointment_id}"
