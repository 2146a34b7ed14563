"""Payment plans and failed-payment follow-ups: thin API routes over billing/plans.py.

As in billing/api.py, the record is looked up in the caller's organization before the role
is checked: another organization's id answers 404, one's own record 403 for a role that may
not act on it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import StrictInt

from medspa.billing import plans
from medspa.billing.api import _caller, _invoice
from medspa.billing.plan_models import (
    Instalment,
    InstalmentAttempt,
    PaymentFollowUp,
    PaymentPlan,
)
from medspa.billing.stripe_gateway import card_on_file_of
from medspa.core.errors import NotFound
from medspa.core.permissions import require
from medspa.core.web import ListOut, Name, ShortText, staff

router = Router(tags=["billing"])

MAX_PAGE = 200


# --- schemas ------------------------------------------------------------------------------


class PlanIn(Schema):
    # A card on file of the invoice's client, with the client's consent recorded.
    card: StrictInt | None = None
    # "weekly" or "monthly" from first_date, count times; or "dates", one per instalment.
    cadence: Name = "monthly"
    count: StrictInt | None = None
    first_date: date | None = None
    dates: Annotated[list[date], Field(max_length=plans.MAX_INSTALMENTS + 1)] | None = None
    note: ShortText = ""


class CancelIn(Schema):
    reason: ShortText


class ResolveIn(Schema):
    # "paid" (another way), "new_card" (with card), or "written_off" (with a note saying why).
    resolution: Name = ""
    note: ShortText = ""
    card: StrictInt | None = None


class AttemptOut(Schema):
    number: int
    at: datetime
    amount_cents: int
    outcome: str
    reason: str
    reference: str


class InstalmentOut(Schema):
    id: int
    number: int
    due_date: date
    planned_cents: int
    amount_cents: int
    status: str
    next_attempt_at: datetime | None
    attempts: int
    declines: int
    last_error: str
    payment: int | None
    paid_at: datetime | None
    tries: list[AttemptOut]

    @staticmethod
    def resolve_next_attempt_at(obj: Instalment) -> datetime | None:
        return obj.next_attempt_at if obj.status == "scheduled" else None

    @staticmethod
    def resolve_payment(obj: Instalment) -> int | None:
        return obj.payment_id

    @staticmethod
    def resolve_tries(obj: Instalment) -> list[InstalmentAttempt]:
        return list(obj.tries.all())


class PlanOut(Schema):
    id: int
    invoice: int
    client: int
    card: int
    card_label: str
    status: str
    cadence: str
    total_cents: int
    instalment_count: int
    note: str
    created_at: datetime
    ended_at: datetime | None
    end_reason: str
    instalments: list[InstalmentOut]

    @staticmethod
    def resolve_invoice(obj: PaymentPlan) -> int:
        return obj.invoice_id

    @staticmethod
    def resolve_client(obj: PaymentPlan) -> int:
        return obj.client_id

    @staticmethod
    def resolve_card(obj: PaymentPlan) -> int:
        return obj.card_id

    @staticmethod
    def resolve_card_label(obj: PaymentPlan) -> str:
        return str(obj.card)

    @staticmethod
    def resolve_instalments(obj: PaymentPlan) -> list[Instalment]:
        return list(obj.instalments.all())


class FollowUpOut(Schema):
    id: int
    status: str
    plan: int
    invoice: int
    invoice_number: str
    client: int
    client_name: str
    card_label: str
    amount_cents: int
    reason: str
    created_at: datetime
    resolution: str
    resolution_note: str
    resolved_at: datetime | None

    @staticmethod
    def resolve_plan(obj: PaymentFollowUp) -> int:
        return obj.plan_id

    @staticmethod
    def resolve_invoice(obj: PaymentFollowUp) -> int:
        return obj.invoice_id

    @staticmethod
    def resolve_invoice_number(obj: PaymentFollowUp) -> str:
        return obj.invoice.display_number

    @staticmethod
    def resolve_client(obj: PaymentFollowUp) -> int:
        return obj.client_id

    @staticmethod
    def resolve_client_name(obj: PaymentFollowUp) -> str:
        return str(obj.client)

    @staticmethod
    def resolve_card_label(obj: PaymentFollowUp) -> str:
        return str(obj.plan.card)


# --- routes -------------------------------------------------------------------------------


@router.post("/invoices/{invoice_id}/plan", response={201: PlanOut})
def create_plan(request: HttpRequest, invoice_id: int, payload: PlanIn) -> Status[PaymentPlan]:
    """Spread the invoice's balance over instalments charged to the client's card on file.

    An instalment due today is charged on the worker's next pass (within a minute).
    """
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    card = card_on_file_of(who.organization, payload.card) if payload.card is not None else None
    plan = plans.create_plan(
        invoice=invoice,
        card=card,
        actor=who.user,
        cadence=payload.cadence,
        count=payload.count,
        first_date=payload.first_date,
        dates=payload.dates,
        note=payload.note,
    )
    return Status(201, plans.plan_of(who.organization, plan.pk))


@router.get("/invoices/{invoice_id}/plan", response=PlanOut)
def get_plan(request: HttpRequest, invoice_id: int) -> PaymentPlan:
    """The invoice's active plan, else its latest one; 404 when it never had one."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.view")
    plan = plans.plan_for_invoice(invoice)
    if plan is None:
        raise NotFound("This invoice has no payment plan.")
    return plan


@router.post("/plans/{plan_id}/cancel", response=PlanOut)
def cancel_plan(request: HttpRequest, plan_id: int, payload: CancelIn) -> PaymentPlan:
    """Stop the plan: nothing more is charged (an instalment being charged finishes)."""
    who = _caller(request)
    plan = plans.plan_of(who.organization, plan_id)
    require(who.user, "billing.checkout")
    plans.cancel_plan(plan=plan, actor=who.user, reason=payload.reason)
    return plans.plan_of(who.organization, plan.pk)


@router.get("/payment-follow-ups", response=ListOut[FollowUpOut])
def list_follow_ups(request: HttpRequest, status: str = "open") -> dict[str, Any]:
    """Failed plans for a person to work through, the longest waiting first (at most 200)."""
    who = staff(request, "billing.follow_ups")
    items = list(plans.follow_ups_for(who.organization, status=status or None)[:MAX_PAGE])
    return {"items": items, "count": len(items)}


@router.post("/payment-follow-ups/{follow_up_id}/resolve", response=FollowUpOut)
def resolve_follow_up(
    request: HttpRequest, follow_up_id: int, payload: ResolveIn
) -> PaymentFollowUp:
    """Close a follow-up: paid another way, a new card for the plan, or written off (why)."""
    who = _caller(request)
    follow_up = plans.follow_up_of(who.organization, follow_up_id)
    require(who.user, "billing.follow_ups")
    card = card_on_file_of(who.organization, payload.card) if payload.card is not None else None
    plans.resolve_follow_up(
        follow_up=follow_up,
        actor=who.user,
        resolution=payload.resolution,
        note=payload.note,
        card=card,
    )
    return plans.follow_up_of(who.organization, follow_up.pk)
