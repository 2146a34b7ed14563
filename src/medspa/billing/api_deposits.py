"""Booking policies, deposits and proposed fees: thin API routes (the rules live in
billing/deposits.py and catalog/policies.py).

As in billing/api.py, a record is looked up in the caller's organization before the role is
checked: another organization's id answers 404, one's own record 403 for a role that may not
act on it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import StrictInt

from medspa.billing import deposits, fees
from medspa.billing.api import _caller
from medspa.billing.card_models import CardOnFile
from medspa.billing.deposit_models import Deposit, ProposedFee
from medspa.catalog.models import Service
from medspa.catalog.policies import policy_for, set_booking_policy
from medspa.catalog.policy_models import BookingPolicy
from medspa.core.errors import Invalid, NotFound
from medspa.core.idempotency import run_idempotent
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import IdempotencyKey, ListOut, Name, ShortText, Staff, staff
from medspa.scheduling.models import Appointment

router = Router(tags=["deposits and fees"])

MAX_PAGE = 200


# --- schemas ------------------------------------------------------------------------------


class PolicyIn(Schema):
    """Fields left out keep their value."""

    deposit_kind: Name | None = None
    deposit_amount_cents: StrictInt | None = None
    deposit_percent_bp: StrictInt | None = None
    cancel_window_hours: StrictInt | None = None
    late_cancel_deposit: Name | None = None
    no_show_deposit: Name | None = None
    refund_to: Name | None = None
    late_cancel_fee_cents: StrictInt | None = None
    no_show_fee_cents: StrictInt | None = None


class PolicyOut(Schema):
    service: int
    currency: str
    deposit_kind: str
    deposit_amount_cents: int
    deposit_percent_bp: int
    cancel_window_hours: int
    late_cancel_deposit: str
    no_show_deposit: str
    refund_to: str
    late_cancel_fee_cents: int
    no_show_fee_cents: int
    is_default: bool

    @staticmethod
    def resolve_service(obj: BookingPolicy) -> int:
        return obj.service_id

    @staticmethod
    def resolve_currency(obj: BookingPolicy) -> str:
        return str(obj.service.organization.currency)

    @staticmethod
    def resolve_is_default(obj: BookingPolicy) -> bool:
        return obj.pk is None


class DepositPaymentIn(Schema):
    tender: Name
    amount_cents: StrictInt
    reference: ShortText = ""
    # With the "card" tender when Stripe is set up: the client's card on file.
    card: int | None = None


class DepositRefundIn(Schema):
    reason: ShortText = ""
    # "original" (back to the tender) or "account_credit"; a deposit the policy gave back
    # goes where the policy said.
    method: Name | None = None
    reference: ShortText = ""


class DepositOut(Schema):
    id: int
    appointment: int
    client: int
    status: str
    currency: str
    amount_cents: int
    paid_cents: int
    held_cents: int
    applied_cents: int
    refunded_cents: int
    forfeited_cents: int
    tender: str
    reference: str
    paid_at: datetime | None
    applied_invoice: int | None
    refund_method: str
    refund_error: str
    refunded_at: datetime | None
    forfeited_at: datetime | None

    @staticmethod
    def resolve_appointment(obj: Deposit) -> int:
        return obj.appointment_id

    @staticmethod
    def resolve_client(obj: Deposit) -> int:
        return obj.client_id

    @staticmethod
    def resolve_applied_invoice(obj: Deposit) -> int | None:
        return obj.applied_invoice_id


class FeeOut(Schema):
    id: int
    appointment: int
    client: int
    client_name: str
    kind: str
    status: str
    currency: str
    policy_fee_cents: int
    forfeited_cents: int
    amount_cents: int
    proposed_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    waive_reason: str
    invoice: int | None

    @staticmethod
    def resolve_appointment(obj: ProposedFee) -> int:
        return obj.appointment_id

    @staticmethod
    def resolve_client(obj: ProposedFee) -> int:
        return obj.client_id

    @staticmethod
    def resolve_client_name(obj: ProposedFee) -> str:
        return str(obj.client)

    @staticmethod
    def resolve_decided_by(obj: ProposedFee) -> int | None:
        return obj.decided_by_id

    @staticmethod
    def resolve_invoice(obj: ProposedFee) -> int | None:
        return obj.invoice_id


class FeeConfirmIn(Schema):
    # "card": charged now to the card on file; "invoice" (the default, which charges
    # nothing): an open invoice to collect at the next visit.
    method: Name = "invoice"
    card: int | None = None


class FeeWaiveIn(Schema):
    reason: ShortText


# --- helpers ------------------------------------------------------------------------------


def _service(who: Staff, service_id: int) -> Service:
    return get_owned(
        Service.objects.select_related("organization"),
        organization=who.organization,
        pk=service_id,
        field="service_id",
    )


def _visit_deposit(who: Staff, appointment_id: int) -> Deposit:
    appointment = get_owned(
        Appointment, organization=who.organization, pk=appointment_id, field="appointment"
    )
    found = deposits.deposit_for(appointment)
    if found is None:
        raise NotFound("This visit's services ask for no deposit.", [])
    return found


def _card(who: Staff, card_id: int | None) -> CardOnFile | None:
    if card_id is None:
        return None
    return get_owned(CardOnFile, organization=who.organization, pk=card_id, field="card")


def _need_key(key: str | None) -> str:
    if not key:
        raise Invalid.on("Idempotency-Key", "Send an Idempotency-Key header: a retry acts once.")
    return key


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


# --- routes: policies ---------------------------------------------------------------------


@router.get("/services/{service_id}/policy", response=PolicyOut)
def get_policy(request: HttpRequest, service_id: int) -> BookingPolicy:
    """The service's booking policy (the defaults when none was set)."""
    who = staff(request, "services.view")
    return policy_for(_service(who, service_id))


@router.put("/services/{service_id}/policy", response=PolicyOut)
def put_policy(request: HttpRequest, service_id: int, payload: PolicyIn) -> BookingPolicy:
    """Change the policy; fields left out keep their value. Bookings from now on follow it."""
    who = _caller(request)
    service = _service(who, service_id)
    require(who.user, "policies.manage")
    changes = {k: v for k, v in payload.model_dump().items() if v is not None}
    return set_booking_policy(service=service, actor=who.user, **changes)


# --- routes: deposits ---------------------------------------------------------------------


@router.get("/deposits", response=ListOut[DepositOut])
def list_deposits(request: HttpRequest, status: str | None = None) -> dict[str, Any]:
    """The organization's deposits, newest first (at most 200); e.g. ?status=refund_due."""
    who = staff(request, "billing.view")
    items = list(deposits.deposits_for(who.organization, status=status)[:MAX_PAGE])
    return {"items": items, "count": len(items)}


@router.get("/appointments/{appointment_id}/deposit", response=DepositOut)
def get_deposit(request: HttpRequest, appointment_id: int) -> Deposit:
    who = _caller(request)
    deposit = _visit_deposit(who, appointment_id)
    require(who.user, "billing.view")
    return deposit


@router.post("/appointments/{appointment_id}/deposit/payments", response={201: DepositOut})
def take_deposit(
    request: HttpRequest,
    appointment_id: int,
    payload: DepositPaymentIn,
    idempotency_key: IdempotencyKey,
) -> HttpResponse:
    """Take the visit's deposit, exactly what is due; an Idempotency-Key makes a retry pay once."""
    who = _caller(request)
    deposit = _visit_deposit(who, appointment_id)
    require(who.user, "deposits.take")
    key = _need_key(idempotency_key)
    card = _card(who, payload.card)

    def act() -> tuple[int, dict[str, Any]]:
        taken = deposits.take_deposit(
            deposit=deposit,
            tender=payload.tender,
            amount_cents=payload.amount_cents,
            reference=payload.reference,
            card=card,
            idempotency_key=key,
            actor=who.user,
        )
        return 201, DepositOut.from_orm(taken.deposit).model_dump(mode="json")

    if deposits.charges_a_card(payload.tender):
        # Charged before the books' transaction opens; take_deposit is keyed on its own.
        status, body = act()
        return _json(status, body)
    status, body = run_idempotent(
        organization=who.organization,
        key=key,
        scope=f"deposit-payments:{deposit.pk}",
        payload=payload.model_dump(mode="json"),
        action=act,
    )
    return _json(status, body)


@router.post("/deposits/{deposit_id}/refund", response=DepositOut)
def refund_deposit(
    request: HttpRequest, deposit_id: int, payload: DepositRefundIn, idempotency_key: IdempotencyKey
) -> HttpResponse:
    """Give back what the deposit holds (or complete the refund the policy decided)."""
    who = _caller(request)
    deposit = deposits.deposit_of(who.organization, deposit_id)
    key = _need_key(idempotency_key)

    def act() -> tuple[int, dict[str, Any]]:
        done = deposits.refund_deposit(
            deposit=deposit,
            actor=who.user,
            reason=payload.reason,
            method=payload.method,
            reference=payload.reference,
        )
        return 200, DepositOut.from_orm(done).model_dump(mode="json")

    status, body = run_idempotent(
        organization=who.organization,
        key=key,
        scope=f"deposit-refund:{deposit.pk}",
        payload=payload.model_dump(mode="json"),
        action=act,
    )
    return _json(status, body)


# --- routes: fees -------------------------------------------------------------------------


@router.get("/fees", response=ListOut[FeeOut])
def list_fees(request: HttpRequest, status: str | None = None) -> dict[str, Any]:
    """Late-cancellation and no-show fees, the oldest first; ?status=proposed for the queue."""
    who = staff(request, "fees.view")
    items = list(fees.fees_for(who.organization, status=status)[:MAX_PAGE])
    return {"items": items, "count": len(items)}


@router.post("/fees/{fee_id}/confirm", response=FeeOut)
def confirm_fee(
    request: HttpRequest, fee_id: int, payload: FeeConfirmIn, idempotency_key: IdempotencyKey
) -> HttpResponse:
    """Charge the fee to the card on file, or put it on an invoice to collect."""
    who = _caller(request)
    fee = fees.fee_of(who.organization, fee_id)
    require(who.user, "fees.decide")
    key = _need_key(idempotency_key)
    card = _card(who, payload.card)

    def act() -> tuple[int, dict[str, Any]]:
        done = fees.confirm_fee(
            fee=fee, actor=who.user, method=payload.method, card=card, idempotency_key=key
        )
        return 200, FeeOut.from_orm(fees.fee_of(who.organization, done.pk)).model_dump(mode="json")

    status, body = run_idempotent(
        organization=who.organization,
        key=key,
        scope=f"fee-confirm:{fee.pk}",
        payload=payload.model_dump(mode="json"),
        action=act,
    )
    return _json(status, body)


@router.post("/fees/{fee_id}/waive", response=FeeOut)
def waive_fee(request: HttpRequest, fee_id: int, payload: FeeWaiveIn) -> ProposedFee:
    """Waive the fee, with the reason."""
    who = _caller(request)
    fee = fees.fee_of(who.organization, fee_id)
    require(who.user, "fees.decide")
    fees.waive_fee(fee=fee, actor=who.user, reason=payload.reason)
    return fees.fee_of(who.organization, fee.pk)
