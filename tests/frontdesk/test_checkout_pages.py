"""The checkout pages: the desk prices, discounts, tips, issues and takes a split payment;
the receipt; the invoices list; roles, the outsider, bad input and a double tap."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from medspa.billing import services
from medspa.billing.models import Invoice, InvoiceStatus, LineKind, Payment
from medspa.catalog.models import Product, ProductCategory
from medspa.core.models import Role
from medspa.ledger.selectors import trial_balance
from tests.billing.helpers import botox_priced, signed_visit, taxed
from tests.conftest import Clinic


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def visit(clinic: Clinic, hour: int = 10) -> Invoice:
    """A signed neurotoxin visit with 20 priced units of Botox: its draft (450 + 280)."""
    if not Product.objects.filter(organization=clinic.organization).exists():
        botox_priced(clinic)
    return signed_visit(clinic, hour)


def issued(clinic: Clinic, hour: int = 10) -> Invoice:
    return services.issue_invoice(invoice=visit(clinic, hour), actor=None)


def test_the_desk_checks_out_with_a_discount_a_tip_and_card_plus_cash(clinic: Clinic) -> None:
    taxed(clinic, service=0, injectable=625)
    invoice = visit(clinic)
    desk = signed_in(clinic)
    url = f"/invoices/{invoice.pk}"

    desk.post(
        f"{url}/discount", {"discount_kind": "percent", "discount_value": "10", "reason": "Loyalty"}
    )
    desk.post(f"{url}/tip", {"provider": clinic.injector.pk, "tip": "20"})
    desk.post(f"{url}/issue")
    invoice.refresh_from_db()
    # 730 less 10% = 657; tax 6.25% on the Botox 252 = 15.75; tip 20.
    assert (invoice.discount_cents, invoice.tax_cents, invoice.total_cents) == (7300, 1575, 69275)
    page = desk.get(f"{url}/").content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    response = desk.post(
        f"{url}/pay",
        {
            "idempotency_key": key,
            "amount_card_external": "500.00",
            "reference_card_external": "T-4411",
            "amount_cash": "192.75",
        },
        follow=True,
    )

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert "Paid ✓" in response.content.decode() and "Print receipt" in response.content.decode()
    assert sorted(invoice.payments.values_list("kind", "amount_cents")) == [
        ("card_external", 50000),
        ("cash", 19275),
    ]
    assert invoice.payments.get(kind="card_external").reference == "T-4411"
    assert trial_balance(clinic.organization).balanced


def test_a_double_tapped_payment_pays_once(clinic: Clinic) -> None:
    invoice = issued(clinic)
    desk = signed_in(clinic)
    form = {"idempotency_key": "tap-1", "amount_card_external": "100.00"}

    first = desk.post(f"/invoices/{invoice.pk}/pay", form)
    again = desk.post(f"/invoices/{invoice.pk}/pay", form)

    assert first.status_code == again.status_code == 302
    invoice.refresh_from_db()
    assert invoice.paid_cents == 10000 and invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert Payment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        ({"amount_cash": "12.345"}, "Give an amount"),
        ({"amount_cash": "-5"}, "Give an amount"),
        ({"amount_cash": "9999.00"}, "more than"),
        ({}, "Fill in what the client pays with"),
    ],
)
def test_a_payment_the_desk_mistypes_is_explained_and_takes_nothing(
    clinic: Clinic, form: dict[str, str], field_message: str
) -> None:
    invoice = issued(clinic)
    form = {"idempotency_key": "k", "amount_card_external": "", **form}

    response = signed_in(clinic).post(f"/invoices/{invoice.pk}/pay", form)

    assert response.status_code == 422
    assert field_message in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.paid_cents == 0 and not invoice.payments.exists()


def test_a_discount_without_a_reason_is_refused_next_to_the_field(clinic: Clinic) -> None:
    invoice = visit(clinic)

    response = signed_in(clinic).post(
        f"/invoices/{invoice.pk}/discount",
        {"discount_kind": "amount", "discount_value": "50", "reason": " "},
    )

    assert response.status_code == 422
    assert 'id="discount-reason-error">This is required.' in response.content.decode()
    assert not invoice.lines.filter(kind=LineKind.DISCOUNT).exists()


def test_a_product_without_a_price_is_priced_inline_before_issuing(clinic: Clinic) -> None:
    invoice = signed_visit(clinic)  # no catalog price for the Botox: it needs one
    desk = signed_in(clinic)
    line = invoice.lines.get(needs_price=True)

    refused = desk.post(f"/invoices/{invoice.pk}/issue")
    assert (
        refused.status_code == 422 and "Set a price for Botox Cosmetic" in refused.content.decode()
    )
    desk.post(f"/invoices/{invoice.pk}/lines/{line.pk}/price", {"price": "13.50"})
    desk.post(f"/invoices/{invoice.pk}/issue")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.total_cents == 45000 + 27000


def test_a_retail_item_from_the_catalog_joins_the_draft(clinic: Clinic) -> None:
    invoice = visit(clinic)
    serum = Product.objects.create(
        organization=clinic.organization,
        name="Vitamin C serum",
        category=ProductCategory.RETAIL,
        price_cents=6400,
    )

    signed_in(clinic).post(f"/invoices/{invoice.pk}/items", {"product": serum.pk, "quantity": "2"})

    line = invoice.lines.get(kind=LineKind.RETAIL)
    assert (line.description, line.amount_cents) == ("Vitamin C serum", 12800)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.MANAGER])
def test_the_desk_billing_and_managers_may_check_out(clinic: Clinic, role: str) -> None:
    invoice = issued(clinic)
    response = signed_in(clinic, role).post(
        f"/invoices/{invoice.pk}/pay", {"idempotency_key": role, "amount_cash": "10"}
    )
    assert response.status_code == 302
    assert invoice.payments.count() == 1


def test_a_provider_may_not_open_checkout_or_pay(clinic: Clinic) -> None:
    invoice = issued(clinic)
    provider = signed_in(clinic, Role.PROVIDER)

    assert provider.get("/invoices/").status_code == 404
    assert provider.get(f"/invoices/{invoice.pk}/").status_code == 404
    paid = provider.post(
        f"/invoices/{invoice.pk}/pay", {"idempotency_key": "p", "amount_cash": "1"}
    )
    assert paid.status_code == 404 and not invoice.payments.exists()


def test_another_organizations_invoice_and_visit_are_404(clinic: Clinic, outsider: Clinic) -> None:
    theirs = issued(outsider)
    desk = signed_in(clinic)

    for url in (f"/invoices/{theirs.pk}/", f"/invoices/{theirs.pk}/receipt"):
        assert desk.get(url).status_code == 404
    paid = desk.post(f"/invoices/{theirs.pk}/pay", {"idempotency_key": "x", "amount_cash": "1"})
    assert paid.status_code == 404 and not theirs.payments.exists()
    assert desk.post(f"/appointments/{theirs.appointment_id}/checkout").status_code == 404
    assert desk.get(f"/appointments/{theirs.appointment_id}/invoice").status_code == 404
    assert outsider.client.last_name not in desk.get("/invoices/").content.decode()


def test_checkout_from_the_visit_builds_the_draft_once(clinic: Clinic) -> None:
    appointment = clinic.book(11)
    desk = signed_in(clinic)

    first = desk.post(f"/appointments/{appointment.pk}/checkout")
    again = desk.get(f"/appointments/{appointment.pk}/checkout")

    invoice = Invoice.objects.get(appointment=appointment)
    assert first["Location"] == again["Location"] == f"/invoices/{invoice.pk}/"
    section = desk.get(f"/appointments/{appointment.pk}/invoice").content.decode()
    assert "Draft" in section and "Check out" in section


def test_voiding_needs_a_ticked_confirmation_and_a_reason(clinic: Clinic) -> None:
    invoice = issued(clinic)
    billing = signed_in(clinic, Role.BILLING)

    unconfirmed = billing.post(f"/invoices/{invoice.pk}/void", {"void_reason": "Wrong client"})
    assert unconfirmed.status_code == 422
    billing.post(f"/invoices/{invoice.pk}/void", {"void_reason": "Wrong client", "confirm": "yes"})

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    assert signed_in(clinic).post(f"/invoices/{invoice.pk}/void").status_code == 404  # desk


def test_the_receipt_itemises_lines_discount_tax_tip_and_payments(clinic: Clinic) -> None:
    invoice = visit(clinic)
    services.add_discount(invoice=invoice, actor=None, reason="Loyalty", percent_bp=1000)
    services.add_tip(invoice=invoice, actor=None, provider=clinic.injector, amount_cents=2000)
    invoice = services.issue_invoice(invoice=invoice, actor=None)
    services.record_payment(
        invoice=invoice,
        tenders=[services.TenderIn("cash", invoice.total_cents)],
        idempotency_key="r",
        actor=None,
    )

    html = signed_in(clinic, Role.BILLING).get(f"/invoices/{invoice.pk}/receipt").content.decode()

    for text in (
        "Botox Cosmetic",
        "20 units",
        "Discount 10%",
        "(Loyalty)",
        "Tip for",
        "Paid by cash",
    ):
        assert text in html
    assert f"{invoice.number:06d}" in html and "window.print()" in html


def test_the_checkout_page_and_the_list_take_a_bounded_number_of_queries(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: object
) -> None:
    invoices = [visit(clinic, hour) for hour in (9, 10, 11, 12)]
    issued(outsider)
    desk = signed_in(clinic)

    with django_assert_max_num_queries(14):  # type: ignore[operator]
        page = desk.get(f"/invoices/{invoices[0].pk}/")
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        listing = desk.get("/invoices/")

    assert page.status_code == listing.status_code == 200
    assert listing.content.decode().count('class="status-badge invoice-draft"') == 4
    assert 'aria-current="page">Invoices' in listing.content.decode()


def test_the_client_s_account_credit_is_a_tender_of_the_form_when_there_is_some(
    clinic: Clinic,
) -> None:
    import uuid

    from medspa.billing import refunds
    from tests.billing.refund_helpers import issued, paid

    earlier = paid(clinic, ("cash", 45000), client=clinic.client)
    desk = signed_in(clinic)
    owing = issued(clinic, 13, clinic.client)
    page = desk.get(f"/invoices/{owing.pk}/").content.decode()
    assert 'name="amount_account_credit"' not in page  # no credit yet
    refunds.refund_invoice(
        invoice=earlier,
        amount_cents=5000,
        method="account_credit",
        reason="Goodwill",
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )

    page = desk.get(f"/invoices/{owing.pk}/").content.decode()
    assert 'name="amount_account_credit"' in page and "50.00 available" in page
    too_much = desk.post(
        f"/invoices/{owing.pk}/pay",
        {"idempotency_key": "k-1", "amount_card_external": "", "amount_account_credit": "60.00"},
    )
    assert too_much.status_code == 422 and Payment.objects.filter(invoice=owing).count() == 0
    desk.post(
        f"/invoices/{owing.pk}/pay",
        {
            "idempotency_key": "k-2",
            "amount_card_external": "400.00",
            "amount_account_credit": "50.00",
        },
    )

    owing.refresh_from_db()
    assert owing.status == InvoiceStatus.PAID
    assert sorted(owing.payments.values_list("kind", flat=True)) == [
        "account_credit",
        "card_external",
    ]
