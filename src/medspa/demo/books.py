"""The demo clinic's books: prices, tax, and every past visit checked out through billing.

Runs after the clinical records, from its own random stream. Each completed visit with a
signed chart is invoiced from the chart, sometimes with a retail product and a tip, issued
when the visit ended and paid at once (mostly by card on the terminal, some in cash, a few
split), all through the billing services, so the ledger holds what a real desk would post.
A few clients bring back an unopened retail product (a refund to the card or cash) or get
goodwill account credit, and every past business day with money in the drawer is closed
with a till count that now and then is a few dollars off, with the reason.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from medspa.billing import close as till
from medspa.billing import refunds
from medspa.billing import services as billing
from medspa.billing.models import Invoice, InvoiceLine, LineKind, RefundMethod, TaxCategory
from medspa.catalog.models import Product, ProductCategory, ProductUnit
from medspa.clinical.models import Chart, ChartStatus
from medspa.core import identity
from medspa.core.models import Location, Organization, Role, User
from medspa.demo import offers

# (name, category, unit, price per unit in cents): what the demo clinic charges.
PRODUCTS = (
    ("Botox Cosmetic", ProductCategory.INJECTABLE, ProductUnit.UNITS, 1_400),
    ("Dysport", ProductCategory.INJECTABLE, ProductUnit.UNITS, 500),
    ("Xeomin", ProductCategory.INJECTABLE, ProductUnit.UNITS, 1_300),
    ("Restylane Kysse", ProductCategory.INJECTABLE, ProductUnit.ML, 75_000),
    ("Juvederm Volbella XC", ProductCategory.INJECTABLE, ProductUnit.ML, 70_000),
    ("Juvederm Voluma XC", ProductCategory.INJECTABLE, ProductUnit.ML, 85_000),
    ("Restylane-L", ProductCategory.INJECTABLE, ProductUnit.ML, 70_000),
    ("RHA 4", ProductCategory.INJECTABLE, ProductUnit.ML, 80_000),
    ("Juvederm Volux XC", ProductCategory.INJECTABLE, ProductUnit.ML, 90_000),
    ("Sculptra", ProductCategory.INJECTABLE, ProductUnit.ML, 11_000),
    ("SkinMedica TNS Advanced+ Serum", ProductCategory.RETAIL, ProductUnit.EACH, 29_500),
    ("EltaMD UV Clear SPF 46", ProductCategory.RETAIL, ProductUnit.EACH, 4_100),
    ("Alastin Regenerating Skin Nectar", ProductCategory.RETAIL, ProductUnit.EACH, 22_500),
    ("ZO Skin Health Daily Power Defense", ProductCategory.RETAIL, ProductUnit.EACH, 16_000),
)
RETAIL = [name for name, category, _, _ in PRODUCTS if category == ProductCategory.RETAIL]
# Retail is taxed; services and injectables are not (Massachusetts and Colorado alike).
RETAIL_TAX = {
    "America/New_York": (625, "MA sales tax"),
    "America/Denver": (881, "Denver sales tax"),
}
# What the receipts print: the company and its federal number, each site's sales tax account.
LEGAL_NAME = "Lumen Aesthetics LLC"
EIN = "84-2917365"
SALES_TAX_ACCOUNT = {
    "America/New_York": ("MA sales tax reg.", "SLS-30418827"),
    "America/Denver": ("CO sales tax acct.", "40187723-0001"),
}


def _set_prices(organization: Organization, actor: User | None) -> None:
    identity.update_billing_identity(
        organization=organization,
        actor=actor,
        changes={"legal_name": LEGAL_NAME, "tax_number_label": "EIN", "tax_number": EIN},
    )
    Product.objects.bulk_create(
        Product(organization=organization, name=name, category=category, unit=unit, price_cents=p)
        for name, category, unit, p in PRODUCTS
    )
    for location in Location.objects.filter(organization=organization):
        if location.time_zone in SALES_TAX_ACCOUNT:
            account_label, number = SALES_TAX_ACCOUNT[location.time_zone]
            identity.update_location_tax_number(
                location=location,
                actor=actor,
                changes={"tax_number_label": account_label, "tax_number": number},
            )
        rate, label = RETAIL_TAX.get(location.time_zone, (0, "Sales tax"))
        billing.set_tax_rate(
            location=location, actor=actor, category=TaxCategory.RETAIL, rate_bp=rate, name=label
        )


def check_out_past_visits(
    *, organization: Organization, now: datetime, seed: int
) -> dict[str, int]:
    """Invoice, issue and pay every completed visit with a signed chart; counts written."""
    rng = random.Random(f"books|{seed}")
    desk = User.objects.filter(organization=organization, role=Role.FRONT_DESK).first()
    _set_prices(organization, desk)
    codes = offers.set_up_offers(organization=organization, now=now, seed=seed)
    retail = {p.name: p for p in Product.objects.filter(organization=organization, name__in=RETAIL)}
    charts = (
        Chart.objects.filter(organization=organization, status=ChartStatus.SIGNED)
        .select_related("appointment", "appointment__location", "provider")
        .order_by("appointment__start", "pk")
    )
    invoices = payments = 0
    # Local business days that took money, per location, and the last payment's time.
    days: dict[tuple[int, date], datetime] = {}
    returns: list[tuple[Invoice, datetime]] = []
    for chart in charts:
        appointment = chart.appointment
        invoice, _ = billing.build_invoice_from_chart(appointment=appointment, actor=desk)
        if rng.random() < 0.12:
            billing.add_line(
                invoice=invoice,
                actor=desk,
                kind=LineKind.RETAIL,
                product=retail[rng.choice(RETAIL)],
                quantity=1,
            )
        if chart.provider is not None and rng.random() < 0.3:
            services = sum(
                line.amount_cents
                for line in InvoiceLine.objects.filter(invoice=invoice, kind=LineKind.SERVICE)
            )
            tip = (services * rng.choice((10, 15, 20)) // 100) // 100 * 100
            if tip > 0:
                billing.add_tip(
                    invoice=invoice, actor=desk, provider=chart.provider, amount_cents=tip
                )
        closed = appointment.end + timedelta(minutes=rng.randint(2, 15))
        offers.offer_at_checkout(invoice=invoice, desk=desk, codes=codes, now=closed)
        invoice.refresh_from_db()
        if invoice.total_cents == 0:
            # A complimentary follow-up: nothing to charge, so no invoice stays open.
            billing.void_invoice(
                invoice=invoice, actor=desk, reason="Complimentary follow-up", now=closed
            )
            continue
        invoice = billing.issue_invoice(invoice=invoice, actor=desk, now=closed)
        total = invoice.total_cents
        roll = rng.random()
        if roll < 0.08 and total > 2_000:
            cash = total // 2 // 100 * 100
            tenders = [
                billing.TenderIn("cash", cash),
                billing.TenderIn("card_external", total - cash, f"T{rng.randint(100000, 999999)}"),
            ]
        elif roll < 0.2:
            tenders = [billing.TenderIn("cash", total)]
        else:
            tenders = [billing.TenderIn("card_external", total, f"T{rng.randint(100000, 999999)}")]
        paid_at = closed + timedelta(minutes=1)
        billing.record_payment(
            invoice=invoice,
            tenders=tenders,
            idempotency_key=f"demo-{invoice.pk}",
            actor=desk,
            now=paid_at,
        )
        invoices += 1
        payments += len(tenders)
        location = appointment.location
        days[(location.pk, paid_at.astimezone(location.zone).date())] = paid_at
        if rng.random() < 0.03:
            returns.append((invoice, paid_at))
    given = _refunds(returns, desk=desk, now=now, rng=rng, days=days)
    closes = _close_days(organization, days, desk=desk, now=now, rng=rng)
    return {"invoices": invoices, "payments": payments, "refunds": given, "closes": closes}


GOODWILL = (
    "Goodwill: bruising took longer to settle than expected",
    "Goodwill: the visit started 30 minutes late",
    "Goodwill: touch-up needed after the first treatment",
)


def _refunds(
    returns: list[tuple[Invoice, datetime]],
    *,
    desk: User | None,
    now: datetime,
    rng: random.Random,
    days: dict[tuple[int, date], datetime],
) -> int:
    """A returned retail product back to the tender it was paid with, or goodwill credit."""
    given = 0
    # The client comes back on a later day the desk was open (during its takings), never on
    # a day the clinic was closed: a drawer that only paid out cannot be counted.
    open_days: dict[int, list[tuple[date, datetime]]] = {}
    for (location_id, day), last in sorted(days.items()):
        open_days.setdefault(location_id, []).append((day, last))
    for invoice, paid_at in returns:
        later = [
            last
            for day, last in open_days.get(invoice.location_id, [])
            if day > paid_at.astimezone(invoice.location.zone).date()
        ][:6]
        if not later:
            continue
        when = rng.choice(later) - timedelta(minutes=rng.randint(5, 90))
        if when >= now:
            continue
        invoice.refresh_from_db()  # paid since it was issued
        retail = invoice.lines.filter(kind=LineKind.RETAIL).first()
        payment = invoice.payments.order_by("-amount_cents").first()
        if retail is not None and payment is not None:
            amount = retail.amount_cents - retail.discount_cents + retail.tax_cents
            amount = min(amount, payment.amount_cents)
            method, reason = RefundMethod.ORIGINAL, f"Returned unopened: {retail.description}"
        elif rng.random() < 0.4:
            # Part of what was paid, never all of it: the visit happened.
            amount = min(rng.choice((2_500, 5_000, 7_500)), invoice.paid_cents // 2)
            payment, method, reason = None, RefundMethod.ACCOUNT_CREDIT, rng.choice(GOODWILL)
        else:
            continue
        if amount <= 0:
            continue
        refunds.refund_invoice(
            invoice=invoice,
            amount_cents=amount,
            method=method,
            reason=reason,
            idempotency_key=f"demo-refund-{invoice.pk}",
            actor=desk,
            payment_id=payment.pk if payment is not None else None,
            now=when,
        )
        key = (invoice.location_id, when.astimezone(invoice.location.zone).date())
        days[key] = max(days.get(key, when), when)
        given += 1
    return given


# Why a till is off, by the sign of the difference.
TILL_SHORT = (
    "Change given twice for one cash payment",
    "Coins short after making change all day",
)
TILL_OVER = (
    "A cash tip left in the drawer instead of the tip jar",
    "A client's change not handed back; the client was called",
)


def _close_days(
    organization: Organization,
    days: dict[tuple[int, date], datetime],
    *,
    desk: User | None,
    now: datetime,
    rng: random.Random,
) -> int:
    """Close each past business day: the count matches, or is a few dollars off, explained."""
    locations = {loc.pk: loc for loc in Location.objects.filter(organization=organization)}
    closes = 0
    for (location_id, business_date), last in sorted(days.items()):
        location = locations[location_id]
        if business_date >= till.local_today(location, now):
            continue  # today's till is still open: the desk closes it tonight
        expected = till.expected_cash(location, business_date)
        drift = rng.choice((-2_000, -500, -100, 100, 1_000)) if rng.random() < 0.06 else 0
        if expected + drift < 0:
            drift = 0  # nothing in the drawer to miscount
        counted = max(expected + drift, 0)
        why = rng.choice(TILL_SHORT if counted < expected else TILL_OVER) if drift else ""
        if expected < 0:
            why = "Cash refund paid from the float; the float was topped up from the safe"
        till.close_day(
            location=location,
            business_date=business_date,
            counted_cents=counted,
            explanation=why,
            actor=desk,
            now=min(last + timedelta(hours=1), now),
        )
        closes += 1
    return closes
