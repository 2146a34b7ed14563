"""Billing's answers to the floors below: a signed chart builds the visit's draft invoice; a
booking asks for its deposit; a cancellation or no-show settles it and proposes a fee."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from medspa.billing.deposits import request_deposit, settle_visit
from medspa.billing.services import build_invoice_from_chart
from medspa.clinical.signals import chart_signed
from medspa.core.errors import DomainError
from medspa.scheduling.signals import appointment_booked, appointment_status_changed

logger = logging.getLogger(__name__)


@receiver(chart_signed, dispatch_uid="billing.draft_from_chart")
def draft_invoice_when_signed(sender: Any, *, appointment: Any, actor: Any, **kwargs: Any) -> None:
    """Build the draft; a refusal (e.g. a cancelled visit) never blocks signing the chart."""
    try:
        # Its own savepoint: a refusal rolls back the draft only, never the signature.
        with transaction.atomic():
            build_invoice_from_chart(appointment=appointment, actor=actor)
    except DomainError as exc:
        logger.info("No draft invoice for appointment %s: %s", appointment.pk, exc.detail)


@receiver(appointment_booked, dispatch_uid="billing.deposit_at_booking")
def ask_for_deposit(sender: Any, *, appointment: Any, actor: Any, **kwargs: Any) -> None:
    """The deposit the visit's services ask for, in the booking's transaction."""
    request_deposit(appointment=appointment, actor=actor)


@receiver(appointment_status_changed, dispatch_uid="billing.deposit_on_cancel")
def settle_deposit_and_fees(
    sender: Any, *, appointment: Any, actor: Any, status: str, **kwargs: Any
) -> None:
    """A cancellation or a no-show: the deposit refunded or kept, a fee proposed to staff."""
    settle_visit(appointment=appointment, actor=actor, status=status)
