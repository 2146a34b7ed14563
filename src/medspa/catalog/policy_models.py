"""A service's booking policy: the deposit asked at booking and what a cancellation costs.

Amounts are integer cents; a percent deposit is in basis points of the booked price. A
service without a row follows the defaults (no deposit, a 24-hour window, no fees).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.core.models import Organization

MAX_WINDOW_HOURS = 24 * 14
MAX_POLICY_CENTS = 100_000_00  # a thousand dollars: far above any clinic's fee


class DepositKind(models.TextChoices):
    NONE = "none", "No deposit"
    AMOUNT = "amount", "A fixed amount"
    PERCENT = "percent", "A percent of the price"


class DepositOutcome(models.TextChoices):
    FORFEIT = "forfeit", "Kept by the clinic"
    REFUND = "refund", "Given back"


class RefundTo(models.TextChoices):
    ORIGINAL = "original", "To the original payment"
    ACCOUNT_CREDIT = "account_credit", "As account credit"


class BookingPolicy(models.Model):
    """What booking a service asks for up front, and what cancelling it late or not coming costs."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    service = models.OneToOneField(
        "catalog.Service", on_delete=models.CASCADE, related_name="booking_policy"
    )
    deposit_kind = models.CharField(
        max_length=10, choices=DepositKind.choices, default=DepositKind.NONE
    )
    deposit_amount_cents = models.PositiveIntegerField(default=0)
    deposit_percent_bp = models.PositiveIntegerField(default=0)
    # A cancellation later than this many hours before the start (wall clock at the
    # location) is late.
    cancel_window_hours = models.PositiveSmallIntegerField(default=24)
    late_cancel_deposit = models.CharField(
        max_length=10, choices=DepositOutcome.choices, default=DepositOutcome.FORFEIT
    )
    no_show_deposit = models.CharField(
        max_length=10, choices=DepositOutcome.choices, default=DepositOutcome.FORFEIT
    )
    # Where a deposit given back goes: the card or cash it came from, or account credit.
    refund_to = models.CharField(max_length=20, choices=RefundTo.choices, default=RefundTo.ORIGINAL)
    late_cancel_fee_cents = models.PositiveIntegerField(default=0)
    no_show_fee_cents = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(deposit_percent_bp__lte=10_000),
                name="bookingpolicy_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(cancel_window_hours__lte=MAX_WINDOW_HOURS),
                name="bookingpolicy_window_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"Booking policy of {self.service_id}"
