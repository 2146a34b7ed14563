"""Invoices and payments: the API routes of checkout (thin: the rules live in services).

A record is looked up in the caller's organization before the role is checked, so another
organization's id answers 404 whatever the role, and one's own record 403 when the role
may not act on it.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import StrictInt

from medspa.billing import services
from medspa.billing.api_cards import card_ref
from medspa.billing.models import Invoice, InvoiceLine, Payment
from medspa.billing.selectors import invoice_detail, invoice_of, invoices_for
from medspa.catalog.models import Product
from medspa.clients.models import Client
from medspa.core.errors import Invalid
from medspa.core.idempotency import run_idempotent
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import IdempotencyKey, ListOut, Name, ShortText, Staff, staff
from medspa.scheduling.models import Appointment, Resource

router = Router(tags=["billing"])

MAX_PAGE = 200


def _caller(request: HttpRequest) -> Staff:
    """Any staff member; the action is checked once the record is known to be theirs."""
    return staff(request, "schedule.view")


def _invoice(who: Staff, invoice_id: int, action: str) -> Invoice:
    invoice = invoice_of(who.organization, invoice_id)
    require(who.user, action)
    return invoice


# --- schemas ------------------------------------------------------------------------------


class LineIn(Schema):
    product_id: int | None = None
    description: ShortText | None = None
    quantity: Decimal = Decimal(1)
    unit_price_cents: StrictInt | None = None
    kind: Name = "retail"


class PriceIn(Schema):
    unit_price_cents: StrictInt


class DiscountIn(Schema):
    reason: ShortText
    percent_bp: StrictInt | None = None
    amount_cents: StrictInt | None = None


class TipIn(Schema):
    provider: int
    amount_cents: StrictInt


class TenderSchema(Schema):
    kind: Name
    amount_cents: StrictInt
    reference: ShortText = ""
    # A card tender's card: a card on file's id (kind card_on_file), or a Stripe payment
    # method a card reader or Stripe.js produced (kind card, when Stripe is set up).
    card: int | None = None
    payment_method: ShortText = ""


class PaymentIn(Schema):
    tenders: Annotated[list[TenderSchema], Field(min_length=1, max_length=services.MAX_TENDERS)]


class VoidIn(Schema):
    reason: ShortText


class LineOut(Schema):
    id: int
    position: int
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price_cents: int
    amount_cents: int
    discount_cents: int
    tax_category: str
    tax_rate_bp: int
    tax_cents: int
    discount_percent_bp: int | None
    # What a discount covers: "" every charge; a promotion code's "services", "retail" or
    # "category:<tax category>".
    discount_scope: str
    reason: str
    needs_price: bool
    provider: int | None
    provider_name: str
    source_type: str
    source_id: int | None

    @staticmethod
    def resolve_provider(obj: InvoiceLine) -> int | None:
        return obj.provider_id

    @staticmethod
    def resolve_provider_name(obj: InvoiceLine) -> str:
        return obj.provider.name if obj.provider_id and obj.provider else ""


class PaymentOut(Schema):
    id: int
    kind: str
    amount_cents: int
    gateway: str
    reference: str
    received_at: datetime


class InvoiceSummaryOut(Schema):
    id: int
    number: int | None
    status: str
    client: int
    client_name: str
    location: int
    appointment: int | None
    currency: str
    total_cents: int
    paid_cents: int
    balance_cents: int
    created_at: datetime
    issued_at: datetime | None

    @staticmethod
    def resolve_client(obj: Invoice) -> int:
        return obj.client_id

    @staticmethod
    def resolve_client_name(obj: Invoice) -> str:
        return str(obj.client)

    @staticmethod
    def resolve_location(obj: Invoice) -> int:
        return obj.location_id

    @staticmethod
    def resolve_appointment(obj: Invoice) -> int | None:
        return obj.appointment_id


class InvoiceOut(InvoiceSummaryOut):
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    tip_cents: int
    void_reason: str
    lines: list[LineOut]
    payments: list[PaymentOut]

    @staticmethod
    def resolve_lines(obj: Invoice) -> list[InvoiceLine]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_payments(obj: Invoice) -> list[Payment]:
        return list(obj.payments.all())


def _detail(who: Staff, invoice: Invoice) -> Invoice:
    return invoice_detail(who.organization, invoice.pk)


# --- routes -------------------------------------------------------------------------------


@router.get("/invoices", response=ListOut[InvoiceSummaryOut])
def list_invoices(
    request: HttpRequest, client: int | None = None, status: str | None = None
) -> dict[str, Any]:
    """The organization's invoices, newest first (at most 200)."""
    who = staff(request, "billing.view")
    whose = (
        get_owned(Client, organization=who.organization, pk=client, field="client")
        if client is not None
        else None
    )
    items = list(invoices_for(who.organization, client=whose, status=status)[:MAX_PAGE])
    return {"items": items, "count": len(items)}


@router.get("/invoices/{invoice_id}", response=InvoiceOut)
def get_invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    who = _caller(request)
    invoice = invoice_detail(who.organization, invoice_id)
    require(who.user, "billing.view")
    return invoice


@router.post("/appointments/{appointment_id}/invoice", response={200: InvoiceOut, 201: InvoiceOut})
def build_invoice(request: HttpRequest, appointment_id: int) -> Status[Invoice]:
    """The visit's draft invoice from its chart (201), or the one already built (200)."""
    who = _caller(request)
    appointment = get_owned(
        Appointment, organization=who.organization, pk=appointment_id, field="appointment"
    )
    require(who.user, "billing.checkout")
    invoice, created = services.build_invoice_from_chart(appointment=appointment, actor=who.user)
    return Status(201 if created else 200, _detail(who, invoice))


@router.post("/invoices/{invoice_id}/lines", response={201: InvoiceOut})
def add_line(request: HttpRequest, invoice_id: int, payload: LineIn) -> Status[Invoice]:
    """A retail item (from the catalog by product_id, or described and priced) or a fee."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    product = (
        get_owned(Product, organization=who.organization, pk=payload.product_id, field="product_id")
        if payload.product_id is not None
        else None
    )
    services.add_line(
        invoice=invoice,
        actor=who.user,
        product=product,
        description=payload.description,
        quantity=payload.quantity,
        unit_price_cents=payload.unit_price_cents,
        kind=payload.kind,
    )
    return Status(201, _detail(who, invoice))


@router.patch("/invoices/{invoice_id}/lines/{line_id}", response=InvoiceOut)
def price_line(request: HttpRequest, invoice_id: int, line_id: int, payload: PriceIn) -> Invoice:
    """Set a line's unit price on a draft (a charted product with no catalog price)."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    line = services.line_of(invoice, line_id)
    services.set_line_price(
        invoice=invoice, line=line, actor=who.user, unit_price_cents=payload.unit_price_cents
    )
    return _detail(who, invoice)


@router.delete("/invoices/{invoice_id}/lines/{line_id}", response=InvoiceOut)
def remove_line(request: HttpRequest, invoice_id: int, line_id: int) -> Invoice:
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    line = services.line_of(invoice, line_id)
    services.remove_line(invoice=invoice, line=line, actor=who.user)
    return _detail(who, invoice)


@router.post("/invoices/{invoice_id}/discounts", response={201: InvoiceOut})
def add_discount(request: HttpRequest, invoice_id: int, payload: DiscountIn) -> Status[Invoice]:
    """A discount by percent (basis points: 1000 is 10%) or amount, with its reason."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    services.add_discount(
        invoice=invoice,
        actor=who.user,
        reason=payload.reason,
        percent_bp=payload.percent_bp,
        amount_cents=payload.amount_cents,
    )
    return Status(201, _detail(who, invoice))


@router.post("/invoices/{invoice_id}/tips", response={201: InvoiceOut})
def add_tip(request: HttpRequest, invoice_id: int, payload: TipIn) -> Status[Invoice]:
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    provider = get_owned(
        Resource, organization=who.organization, pk=payload.provider, field="provider"
    )
    services.add_tip(
        invoice=invoice, actor=who.user, provider=provider, amount_cents=payload.amount_cents
    )
    return Status(201, _detail(who, invoice))


@router.post("/invoices/{invoice_id}/issue", response=InvoiceOut)
def issue_invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    """Give the draft its number and post the sale; it is never edited after."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    services.issue_invoice(invoice=invoice, actor=who.user)
    return _detail(who, invoice)


@router.post("/invoices/{invoice_id}/payments", response={201: InvoiceOut})
def record_payment(
    request: HttpRequest, invoice_id: int, payload: PaymentIn, idempotency_key: IdempotencyKey
) -> HttpResponse:
    """Take a payment split over tenders; send an Idempotency-Key so a retry pays once."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    if not idempotency_key:
        raise Invalid.on("Idempotency-Key", "Send an Idempotency-Key header: a retry pays once.")
    tenders = [
        services.TenderIn(
            kind=t.kind,
            amount_cents=t.amount_cents,
            reference=t.reference,
            card=card_ref(who.organization, index=i, card=t.card, payment_method=t.payment_method),
        )
        for i, t in enumerate(payload.tenders)
    ]

    def act() -> tuple[int, dict[str, Any]]:
        taken = services.record_payment(
            invoice=invoice, tenders=tenders, idempotency_key=idempotency_key, actor=who.user
        )
        body = InvoiceOut.from_orm(_detail(who, taken.invoice)).model_dump(mode="json")
        return 201, body

    if services.goes_through_a_processor(tenders):
        # The card is charged before the books' transaction opens (a slow card network must
        # not hold them); record_payment is itself keyed, so a retry charges and books once.
        status, body = act()
        return HttpResponse(json.dumps(body), status=status, content_type="application/json")
    status, body = run_idempotent(
        organization=who.organization,
        key=idempotency_key,
        scope=f"invoice-payments:{invoice.pk}",
        payload=payload.model_dump(mode="json"),
        action=act,
    )
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


@router.post("/invoices/{invoice_id}/void", response=InvoiceOut)
def void_invoice(request: HttpRequest, invoice_id: int, payload: VoidIn) -> Invoice:
    """Void an invoice with nothing paid; an issued one's sale is reversed in the books."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.void")
    services.void_invoice(invoice=invoice, actor=who.user, reason=payload.reason)
    return _detail(who, invoice)
