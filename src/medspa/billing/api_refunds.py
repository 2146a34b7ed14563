"""Refunds, credit notes, a client's account credit and the daily close: thin API routes.

As in billing/api.py, the record is looked up in the caller's organization before the role
is checked: another organization's id answers 404, one's own record 403 for a role that may
not act on it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import StrictInt

from medspa.billing import close, refunds
from medspa.billing.api import InvoiceOut, _caller, _detail, _invoice
from medspa.billing.models import CreditNote, Refund
from medspa.clients.models import Client
from medspa.core.errors import Invalid
from medspa.core.idempotency import run_idempotent
from medspa.core.models import Location
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import IdempotencyKey, Name, ShortText, Staff

router = Router(tags=["billing"])


# --- schemas ------------------------------------------------------------------------------


class RefundIn(Schema):
    amount_cents: StrictInt
    reason: ShortText
    # "original" (back to the payment's tender) or "account_credit".
    method: Name = "original"
    payment: int | None = None
    # The external terminal's refund slip number.
    reference: ShortText = ""


class CreditNoteIn(Schema):
    amount_cents: StrictInt
    reason: ShortText
    # Needed only when part of the credit was already paid: where that part goes back.
    method: Name | None = None
    payment: int | None = None
    reference: ShortText = ""


class RefundOut(Schema):
    id: int
    invoice: int
    payment: int | None
    credit_note: int | None
    amount_cents: int
    method: str
    tender: str
    reason: str
    reference: str
    refunded_at: datetime

    @staticmethod
    def resolve_invoice(obj: Refund) -> int:
        return obj.invoice_id

    @staticmethod
    def resolve_payment(obj: Refund) -> int | None:
        return obj.payment_id

    @staticmethod
    def resolve_credit_note(obj: Refund) -> int | None:
        return obj.credit_note_id


class RefundsOut(Schema):
    invoice: InvoiceOut
    refunded_cents: int
    refundable_cents: int
    items: list[RefundOut]


class CreditNoteOut(Schema):
    id: int
    number: int
    display_number: str
    invoice: int
    amount_cents: int
    applied_cents: int
    reason: str
    issued_at: datetime

    @staticmethod
    def resolve_invoice(obj: CreditNote) -> int:
        return obj.invoice_id


class CreditNoteIssuedOut(Schema):
    credit_note: CreditNoteOut
    refunds: list[RefundOut]
    invoice: InvoiceOut


class CreditMovementOut(Schema):
    at: datetime
    amount_cents: int
    invoice: int | None  # none for referral credit or a deposit given back as credit
    what: str


class ClientCreditOut(Schema):
    client: int
    currency: str
    balance_cents: int
    movements: list[CreditMovementOut]


class CloseIn(Schema):
    counted_cents: StrictInt
    explanation: ShortText = ""


class DailyCloseOut(Schema):
    location: int
    date: date
    currency: str
    expected_cents: int
    closed: bool
    counted_cents: int | None
    difference_cents: int | None
    explanation: str
    closed_at: datetime | None
    closed_by: str


def _refund_out(refund: Refund) -> dict[str, Any]:
    return RefundOut.from_orm(refund).model_dump(mode="json")


def _day_out(day: close.DayAtTheTill) -> dict[str, Any]:
    c = day.close
    return {
        "location": day.location.pk,
        "date": day.business_date,
        "currency": day.location.organization.currency,
        "expected_cents": day.expected_cents,
        "closed": c is not None,
        "counted_cents": c.counted_cents if c else None,
        "difference_cents": c.difference_cents if c else None,
        "explanation": c.explanation if c else "",
        "closed_at": c.closed_at if c else None,
        "closed_by": str(c.closed_by) if c and c.closed_by else "",
    }


# --- routes -------------------------------------------------------------------------------


@router.get("/invoices/{invoice_id}/refunds", response=RefundsOut)
def list_refunds(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    """The invoice's refunds, what was refunded and what can still be."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.view")
    return {
        "invoice": _detail(who, invoice),
        "refunded_cents": refunds.refunded(invoice),
        "refundable_cents": refunds.refundable(invoice),
        "items": list(refunds.refunds_of(invoice)),
    }


@router.post("/invoices/{invoice_id}/refunds", response={201: RefundOut})
def refund_invoice(
    request: HttpRequest, invoice_id: int, payload: RefundIn, idempotency_key: IdempotencyKey
) -> HttpResponse:
    """Give money back on a payment or as account credit; send an Idempotency-Key.

    A replay with the same key returns the first refund (200) and gives nothing back twice.
    """
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.refund")
    if not idempotency_key:
        raise Invalid.on("Idempotency-Key", "Send an Idempotency-Key header: a retry refunds once.")
    taken = refunds.refund_invoice(
        invoice=invoice,
        amount_cents=payload.amount_cents,
        method=payload.method,
        reason=payload.reason,
        idempotency_key=idempotency_key,
        actor=who.user,
        payment_id=payload.payment,
        reference=payload.reference,
    )
    return HttpResponse(
        json.dumps(_refund_out(taken.refund)),
        status=200 if taken.replayed else 201,
        content_type="application/json",
    )


@router.post("/invoices/{invoice_id}/credit-notes", response={201: CreditNoteIssuedOut})
def issue_credit_note(
    request: HttpRequest, invoice_id: int, payload: CreditNoteIn, idempotency_key: IdempotencyKey
) -> HttpResponse:
    """Correct an issued invoice: reduces what is owed, refunds the rest if already paid."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.refund")
    if not idempotency_key:
        # A credit note can give money back: a retry without a key would give it twice.
        raise Invalid.on("Idempotency-Key", "Send an Idempotency-Key header: a retry credits once.")

    def act() -> tuple[int, dict[str, Any]]:
        note = refunds.issue_credit_note(
            invoice=invoice,
            amount_cents=payload.amount_cents,
            reason=payload.reason,
            actor=who.user,
            method=payload.method,
            payment_id=payload.payment,
            reference=payload.reference,
        )
        body = CreditNoteIssuedOut.from_orm(
            {
                "credit_note": note,
                "refunds": list(note.refunds.order_by("id")),
                "invoice": _detail(who, invoice),
            }
        ).model_dump(mode="json")
        return 201, body

    status, body = run_idempotent(
        organization=who.organization,
        key=idempotency_key,
        scope=f"invoice-credit-notes:{invoice.pk}",
        payload=payload.model_dump(mode="json"),
        action=act,
    )
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


@router.get("/clients/{client_id}/credit", response=ClientCreditOut)
def client_credit(request: HttpRequest, client_id: int) -> dict[str, Any]:
    """The client's account credit: the balance and what granted and spent it."""
    who = _caller(request)
    client = get_owned(Client, organization=who.organization, pk=client_id, field="client")
    require(who.user, "billing.view")
    return {
        "client": client.pk,
        "currency": who.organization.currency,
        "balance_cents": refunds.credit_balance(client),
        "movements": [
            {"at": m.at, "amount_cents": m.amount_cents, "invoice": m.invoice_id, "what": m.what}
            for m in refunds.credit_history(client)
        ],
    }


def _location(request: HttpRequest, location_id: int) -> tuple[Staff, Location]:
    who = _caller(request)
    location = get_owned(
        Location.objects.select_related("organization"),
        organization=who.organization,
        pk=location_id,
        field="location",
    )
    require(who.user, "billing.close")
    return who, location


@router.get("/locations/{location_id}/daily-close", response=DailyCloseOut)
def get_daily_close(
    request: HttpRequest, location_id: int, date: date | None = None
) -> dict[str, Any]:
    """The cash expected in the till on a local day (today by default), and its close if done."""
    _, location = _location(request, location_id)
    day = date or close.local_today(location)
    return _day_out(close.day_at_the_till(location, day))


@router.post("/locations/{location_id}/daily-close", response={201: DailyCloseOut})
def close_day(
    request: HttpRequest, location_id: int, payload: CloseIn, date: date | None = None
) -> Status[dict[str, Any]]:
    """Close the day once with the till count; a difference needs an explanation."""
    who, location = _location(request, location_id)
    day = date or close.local_today(location)
    close.close_day(
        location=location,
        business_date=day,
        counted_cents=payload.counted_cents,
        explanation=payload.explanation,
        actor=who.user,
    )
    return Status(201, _day_out(close.day_at_the_till(location, day)))
