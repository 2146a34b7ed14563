"""Every write of billing: drafts from the chart, lines, discounts, tips, issuing, payments, voids.

Each use case is one transaction and one audit event; every money movement posts one
balanced journal entry through `ledger.services` in that same transaction, so an invoice and
its books commit or roll back together. A draft is recalculated after each change; an
issued invoice is never edited (corrections are credit notes, a later part).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from medspa.billing import money
from medspa.billing.gateways import CardRef, ChargeRequest, GatewayResult, gateway_named
from medspa.billing.models import (
    CHARGE_KINDS,
    PAYABLE,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineKind,
    Payment,
    TaxCategory,
    TaxRate,
)
from medspa.billing.promotion_models import line_in_scope
from medspa.billing.tenders import Tender, register_tender, tender_kinds, tender_named
from medspa.catalog.models import Product, ProductCategory
from medspa.clinical.models import Chart, ChartStatus
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from medspa.core.models import Location, Organization, User
from medspa.ledger.models import JournalEntry
from medspa.ledger.services import Posting, post_entry, reverse_entry
from medspa.scheduling.models import Appointment, AppointmentStatus, Resource

logger = logging.getLogger("medspa.billing")

MAX_LINES = 200
MAX_LINE_CENTS = 10_000_000_00  # ten million a line: far above any sale, far below overflow
MAX_QUANTITY = Decimal("100000")
MAX_TENDERS = 10

# Which revenue account a charge line credits when the invoice is issued.
REVENUE_ACCOUNT = {
    LineKind.SERVICE: "service_revenue",
    LineKind.PRODUCT: "service_revenue",  # product used in a treatment is part of the service
    LineKind.RETAIL: "retail_revenue",
    LineKind.FEE: "fees",
}


# --- checks -------------------------------------------------------------------------------


def _cents(value: Any, field: str, *, allow_zero: bool = False) -> int:
    """A whole amount in cents: an int (never a float or a Decimal), positive, bounded."""
    if type(value) is not int:
        raise Invalid.on(field, "Give the amount in whole cents (an integer).")
    if value < 0 or (value == 0 and not allow_zero):
        raise Invalid.on(field, "The amount must be above zero.")
    if value > MAX_LINE_CENTS:
        raise Invalid.on(field, "The amount is too large.")
    return value


def _quantity(value: Any, field: str = "quantity") -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid.on(field, "Give the quantity as a number, e.g. 1 or 1.25.") from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise Invalid.on(field, "The quantity must be above zero.")
    if quantity != quantity.quantize(Decimal("0.01")):
        raise Invalid.on(field, "Quantities carry at most two decimals.")
    return quantity


# Keys the billing code writes itself (a credit note's payment and refund) start with this;
# a key a client sends may not, so the two can never collide.
INTERNAL_KEY_PREFIX = "medspa-internal:"


def client_key(value: str | None) -> str:
    """A client's Idempotency-Key, checked: present, short, not in the internal namespace."""
    key = _text(value, "Idempotency-Key", required=True)
    if key.startswith(INTERNAL_KEY_PREFIX):
        raise Invalid.on("Idempotency-Key", "This Idempotency-Key prefix is reserved.")
    return key


def _text(value: str | None, field: str, *, required: bool, limit: int = 200) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid.on(field, "This is required.")
    if len(text) > limit or "\x00" in text:
        raise Invalid.on(field, f"Keep it under {limit} characters.")
    return text


def _locked(invoice: Invoice) -> Invoice:
    # The organization and location come along (tax rates and the books need them) without
    # being locked: only the invoice row is, so one clinic's checkouts do not queue up.
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization", "location")
        .get(pk=invoice.pk)
    )


def _locked_draft(invoice: Invoice) -> Invoice:
    current = _locked(invoice)
    if not current.is_draft:
        raise Conflict(
            f"Invoice {current.display_number} was issued and is never edited; "
            "correct it with a credit note.",
            [FieldError("invoice", "Only a draft can change.")],
            code="invoice_issued",
        )
    return current


def _event(invoice: Invoice, actor: User | None, action: str, **data: Any) -> None:
    record_event(
        organization=invoice.organization,
        actor=actor,
        action=f"billing.{action}",
        object_type="invoice",
        object_id=invoice.pk,
        data=data,
    )


# --- tax and totals -----------------------------------------------------------------------


def tax_rates_at(location: Location) -> dict[str, int]:
    """The location's tax rate per category, in basis points (no rate: 0)."""
    return dict(
        TaxRate.objects.filter(
            organization_id=location.organization_id, location=location
        ).values_list("category", "rate_bp")
    )


PRICED_FIELDS = ("amount_cents", "discount_cents", "tax_rate_bp", "tax_cents")
# The invoice's amount columns are 32-bit integers (PostgreSQL's integer): stay inside them.
MAX_INVOICE_CENTS = 2**31 - 1


def _priced(line: InvoiceLine) -> tuple[int, int, int, int]:
    return (line.amount_cents, line.discount_cents, line.tax_rate_bp, line.tax_cents)


def _price(invoice: Invoice, lines: Sequence[InvoiceLine], rates: dict[str, int]) -> None:
    """Price lines in memory: percent discounts, the discount's spread, tax per line, totals.

    Sets each line's figures and the invoice's totals; writes nothing, so a new draft's lines
    are inserted already priced and an existing draft writes only what moved.
    """
    charges = [line for line in lines if line.kind in CHARGE_KINDS]
    for line in charges:
        line.tax_rate_bp = rates.get(line.tax_category, 0)
    gross = sum(line.amount_cents for line in charges)
    # Discounts in order; each takes at most what is left of what it covers (all charges,
    # or a promotion code's scope), so no line and no total ever goes below 0.
    discounts = [line for line in lines if line.kind == LineKind.DISCOUNT]
    taken, shares = money.spread_discounts(
        [line.amount_cents for line in charges],
        [
            money.Discount(
                percent_bp=line.discount_percent_bp,
                # The amount asked; what it takes may be less.
                amount_cents=line.unit_price_cents,
                covers=[line_in_scope(line.discount_scope, c.kind, c.tax_category) for c in charges]
                if line.discount_scope
                else None,
            )
            for line in discounts
        ],
    )
    for line, take in zip(discounts, taken, strict=True):
        line.amount_cents = -take
    discount = sum(taken)
    for line, share in zip(charges, shares, strict=True):
        line.discount_cents = share
        line.tax_cents = money.tax_on(line.amount_cents - share, line.tax_rate_bp)
    fees = sum(line.amount_cents for line in lines if line.kind == LineKind.FEE)
    tips = sum(line.amount_cents for line in lines if line.kind == LineKind.TIP)
    tax = sum(line.tax_cents for line in charges)
    total = gross + fees - discount + tax + tips
    if gross + fees > MAX_INVOICE_CENTS or total > MAX_INVOICE_CENTS:
        raise Invalid.on(
            "lines",
            f"An invoice totals at most {money.format_cents(MAX_INVOICE_CENTS, invoice.currency)}"
            ": split the sale over several invoices. Nothing was changed.",
        )
    invoice.subtotal_cents = gross + fees
    invoice.discount_cents = discount
    invoice.tax_cents = tax
    invoice.tip_cents = tips
    invoice.total_cents = total


TOTAL_FIELDS = ["subtotal_cents", "discount_cents", "tax_cents", "tip_cents", "total_cents"]


def _recalculate(invoice: Invoice) -> list[InvoiceLine]:
    """Price a saved draft again and write what moved; returns its lines in order."""
    lines = list(InvoiceLine.objects.filter(invoice=invoice).order_by("position", "id"))
    before = {line.pk: _priced(line) for line in lines}
    totals = tuple(getattr(invoice, field) for field in TOTAL_FIELDS)
    _price(invoice, lines, tax_rates_at(invoice.location))
    # Write only the lines whose figures moved: `bulk_update` builds a CASE per field over
    # every line, which cost more than the whole checkout's other queries together.
    for line in lines:
        figures = _priced(line)
        if figures != before[line.pk]:
            InvoiceLine.objects.filter(pk=line.pk).update(
                **dict(zip(PRICED_FIELDS, figures, strict=True))
            )
    if tuple(getattr(invoice, field) for field in TOTAL_FIELDS) != totals:
        invoice.save(update_fields=TOTAL_FIELDS)
    return lines


def _next_position(invoice: Invoice) -> int:
    last = (
        InvoiceLine.objects.filter(invoice=invoice)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    if last is not None and last + 1 > MAX_LINES:
        raise Invalid.on("lines", f"An invoice holds at most {MAX_LINES} lines.")
    return 0 if last is None else last + 1


# --- drafts -------------------------------------------------------------------------------


def _product_prices(organization: Organization) -> dict[str, Product]:
    return {
        p.name.casefold(): p
        for p in Product.objects.filter(organization=organization, is_active=True)
    }


def build_invoice_from_chart(
    *, appointment: Appointment, actor: User | None
) -> tuple[Invoice, bool]:
    """The visit's draft invoice from what was done; the existing one if already built.

    Services performed come at the price booked (the catalog's service price when booked;
    the catalog has no per-location price); each charted product at its catalog price per
    unit or mL, or at 0 flagged "needs a price", which blocks issuing until staff set it.
    """
    with transaction.atomic():
        visit = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("organization", "location", "client")
            .get(pk=appointment.pk)
        )
        existing = visit.invoices.exclude(status=InvoiceStatus.VOID).first()
        if existing is not None:
            return existing, False
        if visit.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
            raise Conflict(
                f"The appointment is {visit.get_status_display().lower()}: nothing to charge.",
                [FieldError("appointment", "Charge a fee for it instead (a later part).")],
                code="appointment_not_billable",
            )
        chart = Chart.objects.filter(appointment=visit).first()
        if chart is not None and chart.status != ChartStatus.SIGNED:
            raise Conflict(
                "The chart is still a draft: the provider signs it before checkout.",
                [FieldError("appointment", "Sign the chart first.")],
                code="chart_not_signed",
            )
        organization = visit.organization
        invoice = Invoice.objects.create(
            organization=organization,
            location=visit.location,
            client=visit.client,
            appointment=visit,
            currency=organization.currency,
            created_by=actor,
        )
        lines: list[InvoiceLine] = []
        for booked in visit.lines.select_related("service").order_by("position"):
            lines.append(
                InvoiceLine(
                    organization=organization,
                    invoice=invoice,
                    position=len(lines),
                    kind=LineKind.SERVICE,
                    description=booked.service.name,
                    quantity=Decimal(1),
                    unit_price_cents=booked.price_cents,
                    amount_cents=booked.price_cents,
                    tax_category=TaxCategory.SERVICE,
                    provider_id=booked.provider_id,
                    source_type="appointment_service",
                    source_id=booked.pk,
                )
            )
        missing = 0
        if chart is not None:
            products = _product_prices(organization)
            for entry in chart.injectables.order_by("id"):
                product = products.get(entry.product.strip().casefold())
                # A price per mL does not price units: treat a unit mismatch as no price.
                priced = product is not None and product.unit == entry.unit
                unit_price = product.price_cents if priced and product else 0
                missing += 0 if priced else 1
                lines.append(
                    InvoiceLine(
                        organization=organization,
                        invoice=invoice,
                        position=len(lines),
                        kind=LineKind.PRODUCT,
                        description=entry.product,
                        quantity=entry.quantity,
                        unit=entry.unit,
                        unit_price_cents=unit_price,
                        amount_cents=money.line_amount(entry.quantity, unit_price),
                        tax_category=TaxCategory.INJECTABLE,
                        needs_price=not priced,
                        provider_id=chart.provider_id,
                        source_type="injectable_entry",
                        source_id=entry.pk,
                        product_id=product.pk if product else None,
                    )
                )
        _price(invoice, lines, tax_rates_at(visit.location))
        InvoiceLine.objects.bulk_create(lines)
        invoice.save(update_fields=TOTAL_FIELDS)
        record_event(
            organization=organization,
            actor=actor,
            action="billing.invoice_built",
            object_type="invoice",
            object_id=invoice.pk,
            data={"appointment": visit.pk, "lines": len(lines), "needs_price": missing},
        )
    return invoice, True


def add_line(
    *,
    invoice: Invoice,
    actor: User | None,
    product: Product | None = None,
    description: str | None = None,
    quantity: Any = 1,
    unit_price_cents: int | None = None,
    kind: str = LineKind.RETAIL,
) -> InvoiceLine:
    """A retail item (from the catalog, or described and priced by hand) or a fee."""
    if kind not in (LineKind.RETAIL, LineKind.FEE):
        raise Invalid.on("kind", "Add a retail item or a fee; discounts and tips have their own.")
    qty = _quantity(quantity)
    if product is not None:
        if product.organization_id != invoice.organization_id:
            raise Invalid.on("product", "No such product in your organization.")
        if not product.is_active:
            raise Invalid.on("product", f"{product.name} is no longer sold.")
        text = _text(description, "description", required=False) or product.name
        price = (
            product.price_cents
            if unit_price_cents is None
            else _cents(unit_price_cents, "unit_price_cents", allow_zero=True)
        )
        category = (
            TaxCategory.INJECTABLE
            if product.category == ProductCategory.INJECTABLE
            else TaxCategory.RETAIL
        )
        unit = product.unit
    else:
        text = _text(description, "description", required=True)
        if unit_price_cents is None:
            raise Invalid.on("unit_price_cents", "Give the price, or pick a product.")
        price = _cents(unit_price_cents, "unit_price_cents", allow_zero=True)
        category, unit = TaxCategory.RETAIL, ""
    amount = money.line_amount(qty, price)
    if amount > MAX_LINE_CENTS:
        raise Invalid.on("quantity", "The line is too large.")
    with transaction.atomic():
        current = _locked_draft(invoice)
        line = InvoiceLine.objects.create(
            organization_id=current.organization_id,
            invoice=current,
            position=_next_position(current),
            kind=kind,
            description=text,
            quantity=qty,
            unit=unit,
            unit_price_cents=price,
            amount_cents=amount,
            tax_category=category if kind == LineKind.RETAIL else "",
            product_id=product.pk if product else None,
        )
        _recalculate(current)
        _event(current, actor, "line_added", line=line.pk, kind=kind, amount_cents=amount)
    return line


def set_line_price(
    *, invoice: Invoice, line: InvoiceLine, actor: User | None, unit_price_cents: int
) -> InvoiceLine:
    """Price a line on a draft (a charted product the catalog has no price for)."""
    price = _cents(unit_price_cents, "unit_price_cents", allow_zero=True)
    with transaction.atomic():
        current = _locked_draft(invoice)
        target = line_of(current, line.pk)
        if target.kind not in CHARGE_KINDS and target.kind != LineKind.FEE:
            raise Invalid.on("line", "Change a discount or a tip by removing it and adding anew.")
        amount = money.line_amount(target.quantity, price)
        if amount > MAX_LINE_CENTS:
            raise Invalid.on("unit_price_cents", "The line is too large.")
        previous = target.unit_price_cents
        target.unit_price_cents = price
        target.amount_cents = amount
        target.needs_price = False
        target.save(update_fields=["unit_price_cents", "amount_cents", "needs_price"])
        _recalculate(current)
        _event(current, actor, "line_priced", line=target.pk, was=previous, now=price)
    target.refresh_from_db()
    return target


def line_of(invoice: Invoice, line_id: Any) -> InvoiceLine:
    try:
        return InvoiceLine.objects.get(invoice=invoice, pk=int(line_id))
    except (InvoiceLine.DoesNotExist, ValueError, TypeError):
        reason = f"No line {line_id} on this invoice."
        raise NotFound(reason, [FieldError("line", reason)]) from None


def remove_line(*, invoice: Invoice, line: InvoiceLine, actor: User | None) -> None:
    """Take a line off a draft; the discounts and tax follow."""
    with transaction.atomic():
        current = _locked_draft(invoice)
        target = line_of(current, line.pk)
        kind, amount = target.kind, target.amount_cents
        target.delete()
        freed = _free_promotions(current, why="line removed", line_id=line.pk)
        _recalculate(current)
        _event(
            current,
            actor,
            "line_removed",
            line=line.pk,
            kind=kind,
            amount_cents=amount,
            **({"promotion_codes_freed": freed} if freed else {}),
        )


def _free_promotions(invoice: Invoice, *, why: str, line_id: int | None = None) -> list[str]:
    # A promotion code's use is counted while its line is on a live invoice (billing/
    # promotions.py, which builds on this module: imported here when needed).
    from medspa.billing.promotions import release_redemptions

    return release_redemptions(invoice=invoice, why=why, line_id=line_id)


def _check_promotions(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    # A code's minimum spend holds at issue too: lines may have gone since it was applied.
    from medspa.billing.promotions import check_before_issue

    check_before_issue(invoice, lines)


def add_discount(
    *,
    invoice: Invoice,
    actor: User | None,
    reason: str,
    percent_bp: int | None = None,
    amount_cents: int | None = None,
) -> InvoiceLine:
    """A discount on the pre-tax subtotal, by percent (basis points) or amount, with a reason.

    It never takes the invoice below zero: an amount larger than what is left is refused;
    a percent is of the items' subtotal and follows it as lines change.
    """
    why = _text(reason, "reason", required=True, limit=300)
    if (percent_bp is None) == (amount_cents is None):
        raise Invalid.on("percent_bp", "Give either a percent or an amount, not both.")
    if percent_bp is not None:
        if type(percent_bp) is not int or not 0 < percent_bp <= money.BASIS_POINTS:
            raise Invalid.on("percent_bp", "Give a percent between 0.01% and 100% (1 to 10000).")
        label = f"Discount {percent_bp / 100:g}%: {why}"
    else:
        _cents(amount_cents, "amount_cents")
        label = f"Discount: {why}"
    with transaction.atomic():
        current = _locked_draft(invoice)
        lines = InvoiceLine.objects.filter(invoice=current)
        gross = sum(line.amount_cents for line in lines if line.kind in CHARGE_KINDS)
        left = gross - current.discount_cents
        if amount_cents is not None and amount_cents > left:
            raise Invalid.on(
                "amount_cents",
                f"Only {money.format_cents(left, current.currency)} is left to discount.",
            )
        if left <= 0:
            raise Invalid.on("invoice", "Nothing is left to discount.")
        line = InvoiceLine.objects.create(
            organization_id=current.organization_id,
            invoice=current,
            position=_next_position(current),
            kind=LineKind.DISCOUNT,
            description=label[:200],
            reason=why,
            discount_percent_bp=percent_bp,
            # The asked amount; the recalculation sets what it takes (at most what is left).
            unit_price_cents=amount_cents or 0,
            amount_cents=-(amount_cents or 0),
        )
        _recalculate(current)
        _event(
            current,
            actor,
            "discount_added",
            line=line.pk,
            percent_bp=percent_bp,
            amount_cents=amount_cents,
            reason=why,
        )
    line.refresh_from_db()
    return line


def add_tip(
    *, invoice: Invoice, actor: User | None, provider: Resource, amount_cents: int
) -> InvoiceLine:
    """A tip for a provider: not discounted, not taxed, owed to the provider (tips payable)."""
    _cents(amount_cents, "amount_cents")
    if provider.organization_id != invoice.organization_id or provider.kind != "provider":
        raise Invalid.on("provider", "Choose one of your providers.")
    with transaction.atomic():
        current = _locked_draft(invoice)
        line = InvoiceLine.objects.create(
            organization_id=current.organization_id,
            invoice=current,
            position=_next_position(current),
            kind=LineKind.TIP,
            description=f"Tip for {provider.name}"[:200],
            unit_price_cents=amount_cents,
            amount_cents=amount_cents,
            provider=provider,
        )
        _recalculate(current)
        _event(
            current,
            actor,
            "tip_added",
            line=line.pk,
            provider=provider.pk,
            amount_cents=amount_cents,
        )
    return line


# --- issuing ------------------------------------------------------------------------------


def _take_number(organization: Organization) -> int:
    """The next invoice number; the locked sequence row makes numbers gap-free and unique."""
    sequence = InvoiceSequence.objects.select_for_update().filter(organization=organization).first()
    if sequence is None:
        try:
            with transaction.atomic():
                sequence = InvoiceSequence.objects.create(organization=organization)
        except IntegrityError:  # a concurrent first issue created it: wait for its lock
            sequence = InvoiceSequence.objects.select_for_update().get(organization=organization)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def _sale_postings(invoice: Invoice, lines: Sequence[InvoiceLine]) -> list[Posting]:
    debits = {"accounts_receivable": invoice.total_cents, "discounts": invoice.discount_cents}
    credits: dict[str, int] = {
        "sales_tax_payable": invoice.tax_cents,
        "tips_payable": invoice.tip_cents,
    }
    for line in lines:
        account = REVENUE_ACCOUNT.get(LineKind(line.kind))
        if account is not None:
            credits[account] = credits.get(account, 0) + line.amount_cents
    # Zero amounts are left out: a posting is a debit or a credit above zero.
    return [Posting(a, debit_cents=c) for a, c in debits.items() if c] + [
        Posting(a, credit_cents=c) for a, c in credits.items() if c
    ]


def issue_invoice(*, invoice: Invoice, actor: User | None, now: datetime | None = None) -> Invoice:
    """Draft to open: the next number, and the sale posted to the books. Never edited after."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked_draft(invoice)
        lines = _recalculate(current)  # the tax rates as they are now, at the moment of issue
        if not lines:
            raise Invalid.on("lines", "Add what was sold before issuing the invoice.")
        unpriced = [line.description for line in lines if line.needs_price]
        if unpriced:
            raise Invalid.on(
                "lines", f"Set a price for {', '.join(unpriced)} before issuing the invoice."
            )
        _check_promotions(current, lines)
        current.number = _take_number(current.organization)
        current.issued_at = now
        current.issued_by = actor
        current.status = InvoiceStatus.PAID if current.total_cents == 0 else InvoiceStatus.OPEN
        postings = _sale_postings(current, lines)
        if postings:  # an invoice of zero with no discount moves no money
            entry = post_entry(
                organization=current.organization,
                occurred_at=now,
                memo=f"Invoice {current.display_number}",
                postings=postings,
                source_type="invoice",
                source_id=current.pk,
                location=current.location,
                actor=actor,
            )
            current.sale_entry_id = entry.pk
        current.save(update_fields=["number", "issued_at", "issued_by", "status", "sale_entry_id"])
        _event(
            current, actor, "invoice_issued", number=current.number, total_cents=current.total_cents
        )
        # The visit's deposit held pays what it can of the balance (billing/deposits.py).
        from medspa.billing.deposits import apply_held_deposit

        apply_held_deposit(invoice=current, actor=actor, now=now)
    return current


# --- payments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderIn:
    """One part of a payment as the desk enters it."""

    kind: str
    amount_cents: int
    reference: str = ""
    # The card a card tender is charged to (see billing.gateways.CardRef).
    card: CardRef | None = None


@dataclass(frozen=True)
class PaymentTaken:
    invoice: Invoice
    payments: list[Payment]
    replayed: bool


def _same_request(
    payments: Sequence[Payment], invoice: Invoice, tenders: Sequence[TenderIn]
) -> bool:
    """Whether a replay asks for what the key first paid (an empty reference matches any)."""
    if len(payments) != len(tenders) or any(p.invoice_id != invoice.pk for p in payments):
        return False
    return all(
        p.kind == t.kind
        and p.amount_cents == t.amount_cents
        and (not t.reference.strip() or p.reference == t.reference.strip())
        for p, t in zip(payments, tenders, strict=True)
    )


def _check_tenders(tenders: Sequence[TenderIn]) -> list[tuple[TenderIn, Tender]]:
    if not tenders:
        raise Invalid.on("tenders", "Give at least one tender.")
    if len(tenders) > MAX_TENDERS:
        raise Invalid.on("tenders", f"Split a payment into at most {MAX_TENDERS} tenders.")
    checked = []
    for i, tender in enumerate(tenders):
        kind = tender_named(tender.kind)
        if kind is None:
            raise Invalid.on(f"tenders.{i}.kind", f"Choose one of: {', '.join(tender_kinds())}.")
        _cents(tender.amount_cents, f"tenders.{i}.amount_cents")
        _text(tender.reference, f"tenders.{i}.reference", required=False)
        if kind.takes_card and tender.card is None:
            raise Invalid.on(f"tenders.{i}.card", f"Say which card the {kind.label} is.")
        if tender.card is not None and not kind.takes_card:
            raise Invalid.on(f"tenders.{i}.card", f"{kind.label} is not charged to a card here.")
        checked.append((tender, kind))
    # Two charges through a processor cannot both be undone if the second is declined.
    if sum(1 for _, kind in checked if kind.gateway != "manual") > 1:
        raise Invalid.on(
            "tenders", "Take one card per payment: charge a second card as its own payment."
        )
    return checked


def goes_through_a_processor(tenders: Sequence[TenderIn]) -> bool:
    """Whether a payment charges a card through a processor (Stripe), not only the desk."""
    return any(
        (kind := tender_named(t.kind)) is not None and kind.gateway != "manual" for t in tenders
    )


def _replay_or_refuse(
    current: Invoice,
    checked: Sequence[tuple[TenderIn, Tender]],
    tenders: Sequence[TenderIn],
    key: str,
) -> PaymentTaken | None:
    """The first payment under this key (a replay), or None when this one may be taken.

    Refuses, under the invoice's lock: the key used for another payment, an invoice that
    takes no payment, tenders above what is owed, a tender kind's own check (credit).
    """
    earlier = list(
        Payment.objects.filter(
            organization_id=current.organization_id, idempotency_key=key
        ).order_by("split_index")
    )
    if earlier:
        if not _same_request(earlier, current, tenders):
            raise Invalid.on(
                "Idempotency-Key",
                "This Idempotency-Key was already used with a different payment.",
                code="idempotency_key_reused",
            )
        return PaymentTaken(invoice=current, payments=earlier, replayed=True)
    if current.status not in PAYABLE:
        state = (
            "has not been issued"
            if current.is_draft
            else f"is {current.get_status_display().lower()}"
        )
        raise Conflict(
            f"Invoice {current.display_number} {state}: it takes no payment.",
            [FieldError("invoice", "Nothing to pay on this invoice.")],
            code="invoice_not_payable",
        )
    total = sum(t.amount_cents for t, _ in checked)
    if total > current.balance_cents:
        raise Invalid.on(
            "tenders",
            f"The tenders add up to {money.format_cents(total, current.currency)}, more than "
            f"the {money.format_cents(current.balance_cents, current.currency)} owed.",
            code="overpayment",
        )
    # A kind's check sees its tenders' sum: two credit tenders must not each spend it all.
    per_kind: dict[str, tuple[Tender, int]] = {}
    for tender, kind in checked:
        _, so_far = per_kind.get(kind.kind, (kind, 0))
        per_kind[kind.kind] = (kind, so_far + tender.amount_cents)
    for kind, amount in per_kind.values():
        if kind.check is not None:
            kind.check(current, amount)
    return None


def _charge_request(
    current: Invoice, tender: TenderIn, kind: Tender, key: str, index: int
) -> ChargeRequest:
    return ChargeRequest(
        amount_cents=tender.amount_cents,
        currency=current.currency,
        tender=kind.kind,
        idempotency_key=f"{key}:{index}",
        organization_id=current.organization_id,
        description=f"Invoice {current.display_number}",
        reference=tender.reference.strip(),
        card=tender.card,
        client_id=current.client_id,
    )


def _declined(kind: Tender, index: int, result: GatewayResult) -> Conflict:
    return Conflict(
        f"The {kind.label.lower()} payment was declined: {result.failure_reason}",
        [FieldError(f"tenders.{index}", "Declined.")],
        code="payment_declined",
    )


# Refusals of the recording step after which the charge must stay: the same key is being
# recorded by a twin request, which owns that very charge (the processor deduplicates keys).
KEEP_CHARGE = frozenset({"idempotency_in_progress"})


def _charge_then_record(
    *,
    invoice: Invoice,
    tenders: Sequence[TenderIn],
    checked: Sequence[tuple[TenderIn, Tender]],
    key: str,
    actor: User | None,
    now: datetime,
) -> PaymentTaken:
    """A card through a processor: checked under the lock, charged with no transaction open
    (a slow card network never holds the books' locks), then recorded.

    The processor's charge is keyed by the payment's Idempotency-Key, so a retry after a
    crash between the two steps charges nothing new and records the first charge. When the
    recording is refused (the desk took the balance meanwhile, the invoice was voided), the
    charge is given back before the refusal is answered.
    """
    with transaction.atomic():
        current = _locked(invoice)
        replay = _replay_or_refuse(current, checked, tenders, key)
    if replay is not None:
        return replay
    charged: dict[int, GatewayResult] = {}
    for index, (tender, kind) in enumerate(checked):
        if kind.gateway == "manual":
            continue
        result = gateway_named(kind.gateway).authorize(
            _charge_request(current, tender, kind, key, index)
        )
        if not result.succeeded:
            raise _declined(kind, index, result)
        charged[index] = result
    try:
        return record_payment(
            invoice=invoice,
            tenders=tenders,
            idempotency_key=key,
            actor=actor,
            now=now,
            charged=charged,
        )
    except DomainError as refusal:
        if refusal.code not in KEEP_CHARGE:
            _give_charges_back(checked, charged, key)
        raise


def _give_charges_back(
    checked: Sequence[tuple[TenderIn, Tender]], charged: Mapping[int, GatewayResult], key: str
) -> None:
    for index, result in charged.items():
        give_charge_back(
            gateway=checked[index][1].gateway, result=result, idempotency_key=f"{key}:{index}:undo"
        )


def give_charge_back(*, gateway: str, result: GatewayResult, idempotency_key: str) -> None:
    """Refund a charge the books refused to record; a failure is logged for a person (the
    webhook also reports it as "paid at Stripe, no payment recorded")."""
    try:
        gateway_named(gateway).refund(
            reference=result.reference,
            amount_cents=result.amount_cents,
            idempotency_key=idempotency_key,
        )
    except DomainError:
        logger.exception(
            "charge %s (%s cents) taken but not recorded, and not refunded: refund it at the "
            "processor",
            result.reference,
            result.amount_cents,
        )


def record_payment(
    *,
    invoice: Invoice,
    tenders: Sequence[TenderIn],
    idempotency_key: str,
    actor: User | None,
    now: datetime | None = None,
    charged: Mapping[int, GatewayResult] | None = None,
) -> PaymentTaken:
    """Take one payment, split over tenders: a Payment each, together one journal entry.

    The same idempotency key again returns the first payment and charges nothing; the key
    with a different request is refused. Refused too: a void, draft or paid invoice, tenders
    above what is owed, an amount that is not a positive whole number of cents.

    `charged` records charges billing took itself outside this transaction (the worker's
    instalments, billing/plans.py), by tender index: their gateway is not called again, and
    their key is billing's own (INTERNAL_KEY_PREFIX).
    """
    now = now or timezone.now()
    key = client_key(idempotency_key) if charged is None else idempotency_key
    checked = _check_tenders(tenders)
    if (
        charged is None
        and any(kind.gateway != "manual" for _, kind in checked)
        and not transaction.get_connection().in_atomic_block
    ):
        return _charge_then_record(
            invoice=invoice, tenders=tenders, checked=checked, key=key, actor=actor, now=now
        )
    with transaction.atomic():
        current = _locked(invoice)
        replay = _replay_or_refuse(current, checked, tenders, key)
        if replay is not None:
            return replay
        total = sum(t.amount_cents for t, _ in checked)
        payments: list[Payment] = []
        for index, (tender, kind) in enumerate(checked):
            result = (charged or {}).get(index) or gateway_named(kind.gateway).authorize(
                _charge_request(current, tender, kind, key, index)
            )
            if not result.succeeded:
                raise _declined(kind, index, result)
            payments.append(
                Payment(
                    organization_id=current.organization_id,
                    invoice=current,
                    kind=kind.kind,
                    amount_cents=tender.amount_cents,
                    gateway=kind.gateway,
                    # A processor's charge keeps its own reference (refunds and webhooks find
                    # the charge by it); at the desk, what was typed (slip, cheque number).
                    reference=result.reference
                    if kind.gateway != "manual"
                    else tender.reference.strip() or result.reference,
                    received_at=now,
                    received_by=actor,
                    idempotency_key=key,
                    split_index=index,
                )
            )
        postings = [
            Posting(kind.account, debit_cents=tender.amount_cents, memo=kind.label)
            for tender, kind in checked
        ]
        postings.append(Posting("accounts_receivable", credit_cents=total))
        entry = post_entry(
            organization=current.organization,
            occurred_at=now,
            memo=f"Payment on invoice {current.display_number}",
            postings=postings,
            source_type="payment",
            source_id=current.pk,
            location=current.location,
            actor=actor,
        )
        for payment in payments:
            payment.journal_entry_id = entry.pk
        try:
            with transaction.atomic():
                Payment.objects.bulk_create(payments)
        except IntegrityError:
            # The same key on another invoice at the same moment: one of them wins.
            raise Conflict(
                "A payment with this Idempotency-Key is being recorded; retry in a moment.",
                [FieldError("Idempotency-Key", "Retry in a moment.")],
                code="idempotency_in_progress",
            ) from None
        current.paid_cents += total
        current.status = (
            InvoiceStatus.PAID
            if current.paid_cents == current.total_cents
            else InvoiceStatus.PARTIALLY_PAID
        )
        current.save(update_fields=["paid_cents", "status"])
        if current.status == InvoiceStatus.PAID:
            # Paid in full: a referral programme may owe the client's referrer credit, in
            # this same transaction (billing/referrals.py builds on this module).
            from medspa.billing.referrals import grant_when_paid

            grant_when_paid(invoice=current, actor=actor, now=now)
        _event(
            current,
            actor,
            "payment_recorded",
            tenders=[{"kind": t.kind, "amount_cents": t.amount_cents} for t, _ in checked],
            total_cents=total,
            status=current.status,
        )
    # bulk_create set the ids (RETURNING on SQLite and PostgreSQL): no need to read them back.
    return PaymentTaken(invoice=current, payments=payments, replayed=False)


def _account_credit_covers(invoice: Invoice, amount_cents: int) -> None:
    # Credit is granted by refunds (billing/refunds.py); the client row is locked so two
    # checkouts at once cannot both spend the same credit.
    from medspa.billing.refunds import lock_client_credit

    available = max(lock_client_credit(invoice.client), 0)
    if amount_cents > available:
        raise Invalid.on(
            "tenders",
            f"{invoice.client} has {money.format_cents(available, invoice.currency)} "
            "of account credit.",
            code="not_enough_credit",
        )


register_tender(
    Tender(
        "account_credit",
        "Account credit",
        account="client_credit",
        check=_account_credit_covers,
    )
)


# --- voids --------------------------------------------------------------------------------


def void_invoice(
    *, invoice: Invoice, actor: User | None, reason: str, now: datetime | None = None
) -> Invoice:
    """Cancel an invoice nothing was paid on; an issued one's sale is reversed in the books."""
    why = _text(reason, "reason", required=True, limit=300)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(invoice)
        if current.status == InvoiceStatus.VOID:
            raise Conflict(
                f"Invoice {current.display_number} is already void.", code="invoice_void"
            )
        if current.paid_cents or current.payments.exists():
            raise Conflict(
                f"Invoice {current.display_number} has payments: refund them instead.",
                [FieldError("invoice", "Only an unpaid invoice can be voided.")],
                code="invoice_has_payments",
            )
        if current.sale_entry_id is not None:
            sale = JournalEntry.objects.get(
                organization_id=current.organization_id, pk=current.sale_entry_id
            )
            reversal = reverse_entry(
                entry=sale,
                occurred_at=now,
                memo=f"Void of invoice {current.display_number}",
                actor=actor,
            )
            current.void_entry_id = reversal.pk
        was = current.status
        freed = _free_promotions(current, why="invoice voided")
        current.status = InvoiceStatus.VOID
        current.voided_at = now
        current.void_reason = why
        current.save(update_fields=["status", "voided_at", "void_reason", "void_entry_id"])
        _event(
            current,
            actor,
            "invoice_voided",
            was=was,
            reason=why,
            **({"promotion_codes_freed": freed} if freed else {}),
        )
    return current


# --- tax rates ----------------------------------------------------------------------------


def set_tax_rate(
    *,
    location: Location,
    actor: User | None,
    category: str,
    rate_bp: int,
    name: str,
) -> TaxRate:
    """The tax a location charges on a category from now on; issued invoices keep theirs."""
    if category not in TaxCategory.values:
        raise Invalid.on("category", f"Choose one of: {', '.join(TaxCategory.values)}.")
    if type(rate_bp) is not int or not 0 <= rate_bp <= money.BASIS_POINTS:
        raise Invalid.on("rate_bp", "Give the rate in basis points, 0 to 10000 (6.25% is 625).")
    label = _text(name, "name", required=True, limit=100)
    with transaction.atomic():
        rate, _ = TaxRate.objects.update_or_create(
            organization_id=location.organization_id,
            location=location,
            category=category,
            defaults={"rate_bp": rate_bp, "name": label},
        )
        record_event(
            organization=location.organization,
            actor=actor,
            action="billing.tax_rate_set",
            object_type="location",
            object_id=location.pk,
            data={"category": category, "rate_bp": rate_bp},
        )
    return rate
