"""Small helpers shared by the billing tests: products, tax, an invoice from a signed chart."""

from __future__ import annotations

from typing import Any

from medspa.billing import services
from medspa.billing.models import Invoice, TaxCategory
from medspa.catalog.models import Product, ProductCategory, ProductUnit
from medspa.clinical import charting
from medspa.core.models import Role, User
from medspa.ledger.models import JournalEntry
from tests.clinical.chart_helpers import botox, charted, treating_provider
from tests.conftest import Clinic


def botox_priced(clinic: Clinic, price_cents: int = 1400) -> Product:
    """Botox Cosmetic at a price per unit."""
    return Product.objects.create(
        organization=clinic.organization,
        name="Botox Cosmetic",
        category=ProductCategory.INJECTABLE,
        unit=ProductUnit.UNITS,
        price_cents=price_cents,
    )


def taxed(clinic: Clinic, **rates_bp: int) -> None:
    """Tax rates at the clinic's location, by category: taxed(clinic, retail=625)."""
    for category, rate in rates_bp.items():
        services.set_tax_rate(
            location=clinic.location,
            actor=None,
            category=TaxCategory(category),
            rate_bp=rate,
            name=f"{category} tax",
        )


def signed_visit(clinic: Clinic, hour: int = 10, **injectable: Any) -> Invoice:
    """A neurotoxin visit charted with 20 units of Botox and signed: its draft invoice."""
    chart = charted(clinic, hour)
    provider = treating_provider(clinic)
    charting.add_injectable(chart=chart, actor=provider, **botox(clinic, **injectable))
    charting.sign_chart(chart=chart, actor=provider)
    return Invoice.objects.get(appointment=chart.appointment_id)


def desk(clinic: Clinic) -> User:
    return clinic.users[Role.FRONT_DESK]


def balanced(invoice: Invoice) -> list[JournalEntry]:
    """The invoice's journal entries; each one's debits equal its credits."""
    entries = list(
        JournalEntry.objects.filter(organization=invoice.organization, source_id=invoice.pk)
        .filter(source_type__in=["invoice", "payment"])
        .prefetch_related("lines")
        .order_by("id")
    )
    for entry in entries:
        lines = list(entry.lines.all())
        assert sum(x.debit_cents for x in lines) == sum(x.credit_cents for x in lines), entry
    return entries


def billing_names(clinic: Clinic) -> dict[str, int]:
    """Ids the permission walk fills in: a draft invoice of a signed chart."""
    invoice = signed_visit(clinic, 9)
    return {"invoice": invoice.pk}


def their_billing_ids(theirs: Clinic) -> dict[str, int]:
    """Another organization's invoice and one of its lines, for the tenancy walk."""
    appointment = theirs.book(14)
    invoice, _ = services.build_invoice_from_chart(appointment=appointment, actor=None)
    line = invoice.lines.get()
    return {"invoice": invoice.pk, "line": line.pk}
