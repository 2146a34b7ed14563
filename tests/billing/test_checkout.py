"""Checkout from the chart: the draft invoice, its changes, issuing, payments and voids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medspa.billing import services
from medspa.billing.models import Invoice, InvoiceStatus, LineKind, Payment
from medspa.billing.services import TenderIn
from medspa.core.errors import Conflict, Invalid
from medspa.ledger.models import JournalEntry
from medspa.ledger.selectors import account_balance
from tests.billing.helpers import balanced, botox_priced, desk, signed_visit, taxed
from tests.conftest import Clinic, build_clinic
from tests.scheduling.test_concurrency import race


def test_signing_the_chart_builds_the_draft_with_services_and_units_at_product_prices(
    clinic: Clinic, outsider: Clinic
) -> None:
    botox_priced(clinic, 1400)
    botox_priced(outsider, 9900)  # another clinic's price never applies

    invoice = signed_visit(clinic)

    lines = list(invoice.lines.order_by("position"))
    assert [(x.kind, x.description, x.amount_cents) for x in lines] == [
        (LineKind.SERVICE, "Neurotoxin", 45000),
        (LineKind.PRODUCT, "Botox Cosmetic", 28000),
    ]
    assert lines[1].quantity == Decimal("20.00") and lines[1].unit == "units"
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    assert invoice.total_cents == 73000
    again, created = services.build_invoice_from_chart(appointment=invoice.appointment, actor=None)
    assert (again.pk, created) == (invoice.pk, False)


def test_a_product_without_a_price_is_flagged_and_blocks_issuing_until_priced(
    clinic: Clinic,
) -> None:
    invoice = signed_visit(clinic, product="Dysport")
    product = invoice.lines.get(kind=LineKind.PRODUCT)
    assert product.needs_price and product.amount_cents == 0

    with pytest.raises(Invalid, match="Set a price for Dysport"):
        services.issue_invoice(invoice=invoice, actor=desk(clinic))

    services.set_line_price(invoice=invoice, line=product, actor=desk(clinic), unit_price_cents=450)
    issued = services.issue_invoice(invoice=invoice, actor=desk(clinic))
    assert issued.total_cents == 45000 + 20 * 450


def test_discounts_by_percent_and_amount_need_a_reason_and_never_go_below_zero(
    clinic: Clinic,
) -> None:
    botox_priced(clinic)
    invoice = signed_visit(clinic)  # 730.00
    with pytest.raises(Invalid, match="required"):
        services.add_discount(invoice=invoice, actor=None, reason=" ", percent_bp=1000)

    services.add_discount(invoice=invoice, actor=None, reason="Loyalty", percent_bp=1000)
    services.add_discount(invoice=invoice, actor=None, reason="Referral", amount_cents=5000)
    invoice.refresh_from_db()
    assert (invoice.discount_cents, invoice.total_cents) == (7300 + 5000, 73000 - 12300)

    with pytest.raises(Invalid, match="left to discount"):
        services.add_discount(invoice=invoice, actor=None, reason="Oops", amount_cents=60701)
    invoice.refresh_from_db()
    assert invoice.total_cents == 60700  # nothing changed


def test_tax_per_location_and_category_rounds_half_up_per_line_after_the_discount(
    clinic: Clinic,
) -> None:
    botox_priced(clinic, 1333)  # 20 units: 266.60
    taxed(clinic, service=0, injectable=625, retail=888)
    invoice = signed_visit(clinic)
    services.add_line(
        invoice=invoice, actor=None, description="SPF 50", unit_price_cents=3333, quantity=3
    )
    services.add_discount(invoice=invoice, actor=None, reason="Staff", amount_cents=1001)

    invoice.refresh_from_db()
    lines = {x.description: x for x in invoice.lines.all()}
    # 1001 spread over 45000 / 26660 / 9999 by amount, largest remainder first.
    assert [lines[n].discount_cents for n in ("Neurotoxin", "Botox Cosmetic", "SPF 50")] == [
        552,  # 551.63
        327,  # 326.80
        122,  # 122.57: the smallest remainder gets no extra cent
    ]
    assert lines["Neurotoxin"].tax_cents == 0
    assert lines["Botox Cosmetic"].tax_cents == 1646  # 26333 * 6.25% = 1645.81
    assert lines["SPF 50"].tax_cents == 877  # 9877 * 8.88% = 877.08
    assert invoice.total_cents == 45000 + 26660 + 9999 - 1001 + 1646 + 877


def test_a_tip_goes_to_the_provider_untaxed_and_is_owed_to_them(clinic: Clinic) -> None:
    botox_priced(clinic)
    taxed(clinic, service=500, injectable=500)
    invoice = signed_visit(clinic)
    services.add_tip(invoice=invoice, actor=None, provider=clinic.injector, amount_cents=2000)
    issued = services.issue_invoice(invoice=invoice, actor=desk(clinic))

    assert issued.tip_cents == 2000 and issued.tax_cents == 3650
    assert account_balance(clinic.organization, "tips_payable") == 2000
    assert account_balance(clinic.organization, "sales_tax_payable") == 3650
    assert account_balance(clinic.organization, "accounts_receivable") == issued.total_cents
    assert len(balanced(issued)) == 1


def test_an_issued_invoice_is_never_edited(clinic: Clinic) -> None:
    invoice = signed_visit(clinic, product="Unpriced")
    line = invoice.lines.get(kind=LineKind.PRODUCT)
    services.remove_line(invoice=invoice, line=line, actor=None)
    issued = services.issue_invoice(invoice=invoice, actor=None)

    with pytest.raises(Conflict, match="credit note"):
        services.add_line(invoice=issued, actor=None, description="Serum", unit_price_cents=100)
    with pytest.raises(Conflict):
        services.remove_line(invoice=issued, line=issued.lines.get(), actor=None)
    with pytest.raises(Conflict):
        services.issue_invoice(invoice=issued, actor=None)


def test_numbers_are_sequential_per_organization_and_only_on_issue(
    clinic: Clinic, outsider: Clinic
) -> None:
    first, second, third = (clinic.book(h) for h in (9, 11, 13))
    drafts = [
        services.build_invoice_from_chart(appointment=a, actor=None)[0]
        for a in (first, second, third)
    ]
    theirs, _ = services.build_invoice_from_chart(appointment=outsider.book(9), actor=None)

    numbers = [services.issue_invoice(invoice=d, actor=None).number for d in (drafts[2], drafts[0])]
    assert numbers == [1, 2]
    assert services.issue_invoice(invoice=theirs, actor=None).number == 1
    assert Invoice.objects.get(pk=drafts[1].pk).number is None


@pytest.mark.django_db(transaction=True)
def test_two_desks_issuing_at_once_get_consecutive_numbers() -> None:
    clinic = build_clinic("Race")
    drafts = [
        services.build_invoice_from_chart(appointment=clinic.book(h), actor=None)[0]
        for h in (9, 11, 13, 15)
    ]

    results = race([lambda d=d: services.issue_invoice(invoice=d, actor=None) for d in drafts])

    assert all(isinstance(r, Invoice) for r in results), results
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def issued_visit(clinic: Clinic) -> Invoice:
    botox_priced(clinic)
    return services.issue_invoice(invoice=signed_visit(clinic), actor=desk(clinic))  # 730.00


def test_split_tender_cash_and_card_is_one_entry_and_pays_in_full(clinic: Clinic) -> None:
    invoice = issued_visit(clinic)
    taken = services.record_payment(
        invoice=invoice,
        tenders=[TenderIn("cash", 20000), TenderIn("card_external", 53000, "slip 0042")],
        idempotency_key="k1",
        actor=desk(clinic),
    )
    assert taken.invoice.status == InvoiceStatus.PAID and taken.invoice.paid_cents == 73000
    assert [(p.kind, p.amount_cents, p.reference) for p in taken.payments] == [
        ("cash", 20000, taken.payments[0].reference),
        ("card_external", 53000, "slip 0042"),
    ]
    assert len({p.journal_entry_id for p in taken.payments}) == 1
    assert account_balance(clinic.organization, "cash") == 20000
    assert account_balance(clinic.organization, "card_clearing") == 53000
    assert account_balance(clinic.organization, "accounts_receivable") == 0
    assert len(balanced(invoice)) == 2


def test_partial_then_full_payment(clinic: Clinic) -> None:
    invoice = issued_visit(clinic)
    part = services.record_payment(
        invoice=invoice, tenders=[TenderIn("cash", 30000)], idempotency_key="a", actor=None
    )
    assert (part.invoice.status, part.invoice.balance_cents) == ("partially_paid", 43000)
    rest = services.record_payment(
        invoice=invoice,
        tenders=[TenderIn("cheque", 43000, "#118")],
        idempotency_key="b",
        actor=None,
    )
    assert (rest.invoice.status, rest.invoice.balance_cents) == ("paid", 0)
    with pytest.raises(Conflict, match="paid"):
        services.record_payment(
            invoice=invoice, tenders=[TenderIn("cash", 1)], idempotency_key="c", actor=None
        )


@pytest.mark.parametrize(
    ("tenders", "field"),
    [
        ([TenderIn("cash", 50000), TenderIn("card_external", 23001)], "tenders"),  # above owed
        ([TenderIn("cash", 0)], "tenders.0.amount_cents"),
        ([TenderIn("cash", -100)], "tenders.0.amount_cents"),
        ([TenderIn("cash", 10.5)], "tenders.0.amount_cents"),  # type: ignore[arg-type]
        ([TenderIn("cash", Decimal("10"))], "tenders.0.amount_cents"),  # type: ignore[arg-type]
        ([TenderIn("bitcoin", 100)], "tenders.0.kind"),
        ([TenderIn("account_credit", 100)], "tenders"),  # no credit on account
        ([], "tenders"),
    ],
)
def test_bad_tenders_are_refused_and_change_nothing(
    clinic: Clinic, tenders: list[TenderIn], field: str
) -> None:
    invoice = issued_visit(clinic)
    entries = JournalEntry.objects.count()
    with pytest.raises(Invalid) as refused:
        services.record_payment(invoice=invoice, tenders=tenders, idempotency_key="k", actor=None)
    assert refused.value.errors[0].field == field
    invoice.refresh_from_db()
    assert (invoice.paid_cents, invoice.status) == (0, "open")
    assert not Payment.objects.exists() and JournalEntry.objects.count() == entries


def test_a_replayed_key_pays_once_and_a_reused_key_is_refused(clinic: Clinic) -> None:
    invoice = issued_visit(clinic)
    tenders = [TenderIn("cash", 10000), TenderIn("card_external", 5000)]
    first = services.record_payment(
        invoice=invoice, tenders=tenders, idempotency_key="k", actor=None
    )
    again = services.record_payment(
        invoice=invoice, tenders=tenders, idempotency_key="k", actor=None
    )

    assert again.replayed and [p.pk for p in again.payments] == [p.pk for p in first.payments]
    assert Invoice.objects.get(pk=invoice.pk).paid_cents == 15000
    assert len(balanced(invoice)) == 2
    with pytest.raises(Invalid, match="different payment"):
        services.record_payment(
            invoice=invoice, tenders=[TenderIn("cash", 999)], idempotency_key="k", actor=None
        )


def test_void_reverses_the_sale_and_takes_no_payment_after(clinic: Clinic) -> None:
    invoice = issued_visit(clinic)
    voided = services.void_invoice(invoice=invoice, actor=None, reason="Charged the wrong client")

    assert voided.status == InvoiceStatus.VOID and voided.void_entry_id is not None
    reversal = JournalEntry.objects.get(pk=voided.void_entry_id)
    assert reversal.reverses_id == voided.sale_entry_id
    for key in ("accounts_receivable", "service_revenue", "sales_tax_payable"):
        assert account_balance(clinic.organization, key) == 0
    with pytest.raises(Conflict, match="void"):
        services.record_payment(
            invoice=invoice, tenders=[TenderIn("cash", 100)], idempotency_key="v", actor=None
        )
    # The visit can be invoiced again once its invoice is void.
    fresh, created = services.build_invoice_from_chart(appointment=invoice.appointment, actor=None)
    assert created and fresh.pk != invoice.pk


def test_an_invoice_with_payments_is_not_voided(clinic: Clinic) -> None:
    invoice = issued_visit(clinic)
    services.record_payment(
        invoice=invoice, tenders=[TenderIn("cash", 100)], idempotency_key="p", actor=None
    )
    with pytest.raises(Conflict, match="refund"):
        services.void_invoice(invoice=invoice, actor=None, reason="Changed mind")
    assert Invoice.objects.get(pk=invoice.pk).status == "partially_paid"


def test_an_invoice_beyond_what_its_columns_hold_is_refused_and_unchanged(clinic: Clinic) -> None:
    invoice = signed_visit(clinic)
    lines = invoice.lines.count()
    for name in ("Package", "Second package"):
        services.add_line(
            invoice=invoice, actor=desk(clinic), description=name, unit_price_cents=900_000_000
        )
    invoice.refresh_from_db()
    total = invoice.total_cents
    with pytest.raises(Invalid, match="totals at most"):
        services.add_line(
            invoice=invoice, actor=desk(clinic), description="Third", unit_price_cents=900_000_000
        )
    invoice.refresh_from_db()
    assert invoice.total_cents == total and invoice.lines.count() == lines + 2
