"""Billing's answers to the floors below: a signed chart builds the visit's draft invoice."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from medspa.billing.services import build_invoice_from_chart
from medspa.clinical.signals import chart_signed
from medspa.core.errors import DomainError

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
