"""Reading and changing a service's booking policy (deposit, cancellation window, fees)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from medspa.catalog.models import Service
from medspa.catalog.policy_models import (
    MAX_POLICY_CENTS,
    MAX_WINDOW_HOURS,
    BookingPolicy,
    DepositKind,
    DepositOutcome,
    RefundTo,
)
from medspa.core.audit import record_event
from medspa.core.errors import Invalid
from medspa.core.models import User
from medspa.core.permissions import require

EDITABLE = (
    "deposit_kind",
    "deposit_amount_cents",
    "deposit_percent_bp",
    "cancel_window_hours",
    "late_cancel_deposit",
    "no_show_deposit",
    "refund_to",
    "late_cancel_fee_cents",
    "no_show_fee_cents",
)


def default_policy(service: Service) -> BookingPolicy:
    """The policy of a service nobody set one for: no deposit, 24 hours, no fees (unsaved)."""
    return BookingPolicy(organization_id=service.organization_id, service=service)


def policy_for(service: Service) -> BookingPolicy:
    found = BookingPolicy.objects.filter(service=service).first()
    return found if found is not None else default_policy(service)


def policies_for(services: Iterable[Service]) -> dict[int, BookingPolicy]:
    """Each service's policy by service id, defaults included, in one query."""
    wanted = {s.pk: s for s in services}
    found = {p.service_id: p for p in BookingPolicy.objects.filter(service_id__in=list(wanted))}
    return {pk: found.get(pk) or default_policy(s) for pk, s in wanted.items()}


def _cents(value: Any, field: str) -> int:
    if type(value) is not int or value < 0:
        raise Invalid.on(field, "Give the amount in whole cents (0 or more).")
    if value > MAX_POLICY_CENTS:
        raise Invalid.on(field, "The amount is too large.")
    return value


def _choice(value: Any, field: str, choices: type[Any]) -> str:
    if value not in choices.values:
        raise Invalid.on(field, f"Choose one of: {', '.join(choices.values)}.")
    return str(value)


def check_policy(values: dict[str, Any]) -> dict[str, Any]:
    """The policy's fields checked, or Invalid naming the first wrong one."""
    kind = _choice(values["deposit_kind"], "deposit_kind", DepositKind)
    amount = _cents(values["deposit_amount_cents"], "deposit_amount_cents")
    percent = values["deposit_percent_bp"]
    if type(percent) is not int or not 0 <= percent <= 10_000:
        raise Invalid.on("deposit_percent_bp", "Give the percent in basis points, 0 to 10000.")
    if kind == DepositKind.AMOUNT and amount == 0:
        raise Invalid.on("deposit_amount_cents", "Give the deposit's amount.")
    if kind == DepositKind.PERCENT and percent == 0:
        raise Invalid.on("deposit_percent_bp", "Give the deposit's percent of the price.")
    hours = values["cancel_window_hours"]
    if type(hours) is not int or not 0 <= hours <= MAX_WINDOW_HOURS:
        raise Invalid.on(
            "cancel_window_hours", f"Give the window in whole hours, 0 to {MAX_WINDOW_HOURS}."
        )
    return {
        "deposit_kind": kind,
        # Only the figure the kind uses is kept, so a reader never wonders which one counts.
        "deposit_amount_cents": amount if kind == DepositKind.AMOUNT else 0,
        "deposit_percent_bp": percent if kind == DepositKind.PERCENT else 0,
        "cancel_window_hours": hours,
        "late_cancel_deposit": _choice(
            values["late_cancel_deposit"], "late_cancel_deposit", DepositOutcome
        ),
        "no_show_deposit": _choice(values["no_show_deposit"], "no_show_deposit", DepositOutcome),
        "refund_to": _choice(values["refund_to"], "refund_to", RefundTo),
        "late_cancel_fee_cents": _cents(values["late_cancel_fee_cents"], "late_cancel_fee_cents"),
        "no_show_fee_cents": _cents(values["no_show_fee_cents"], "no_show_fee_cents"),
    }


def set_booking_policy(
    *, service: Service, actor: User, now: datetime | None = None, **changes: Any
) -> BookingPolicy:
    """Change a service's policy (fields not given keep their value); bookings made from now on
    ask for the new deposit, and cancellations are judged by the policy in force when they
    happen."""
    require(actor, "policies.manage")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid.on(unknown[0], "Not a field of the booking policy.")
    now = now or timezone.now()
    with transaction.atomic():
        current = BookingPolicy.objects.select_for_update().filter(
            service=service
        ).first() or default_policy(service)
        before = {name: getattr(current, name) for name in EDITABLE}
        values = check_policy({**before, **changes})
        for name, value in values.items():
            setattr(current, name, value)
        current.updated_at = now
        current.updated_by = actor
        current.save()
        record_event(
            organization=service.organization,
            actor=actor,
            action="catalog.booking_policy_set",
            object_type="service",
            object_id=service.pk,
            data={
                "changed": {k: [before[k], v] for k, v in values.items() if before[k] != v},
            },
        )
    return current
