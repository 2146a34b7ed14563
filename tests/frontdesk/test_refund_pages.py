"""The invoice page's money after checkout: the PDF, "Send receipt" with its record, refunds and
credit notes with messages next to their fields, the client's account credit; roles, the
outsider, a double tap, bounded queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client as HttpClient

from medspa.billing.models import CreditNote, InvoiceStatus, Refund
from medspa.billing.receipt_models import ReceiptSending
from medspa.core.models import AuditEvent, Role
from medspa.ledger.selectors import trial_balance
from tests.billing.refund_helpers import issued, paid
from tests.conftest import Clinic

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(clinic: Clinic, role: str = Role.BILLING) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def token(page: str, name: str) -> str:
    return page.split(f'name="{name}" value="')[1].split('"')[0]


def test_billing_refunds_part_of_a_card_payment_from_the_page(clinic: Clinic) -> None:
    invoice = paid(clinic, ("card_external", 30000), ("cash", 15000))
    card = invoice.payments.get(kind="card_external")
    billing = signed_in(clinic)
    page = billing.get(f"/invoices/{invoice.pk}/").content.decode()
    form = {
        "refund_key": token(page, "refund_key"),
        "payment": str(card.pk),
        "method": "original",
        "amount": "100.00",
        "reason": "One area not treated",
        "reference": "R-881",
    }

    first = billing.post(f"/invoices/{invoice.pk}/refund", form, **HTMX)
    double = billing.post(f"/invoices/{invoice.pk}/refund", form, **HTMX)

    assert first.status_code == double.status_code == 200
    assert first["HX-Retarget"] == "main" and "Refunded 100.00 to card (terminal)." in (
        first.content.decode()
    )
    assert "Already refunded: 100.00." in double.content.decode()
    refund = Refund.objects.get()
    assert (refund.amount_cents, refund.tender) == (10000, "card_external")
    assert refund.reference == "R-881"
    shown = billing.get(f"/invoices/{invoice.pk}/").content.decode()
    assert f"Refund R{refund.pk} to card (terminal)" in shown and "One area not treated" in shown
    assert "350.00 USD" in shown  # paid and not yet refunded
    assert trial_balance(clinic.organization).balanced


def test_a_refund_above_what_was_paid_is_refused_next_to_the_amount(clinic: Clinic) -> None:
    invoice = paid(clinic)
    cash = invoice.payments.get()
    billing = signed_in(clinic)

    refused = billing.post(
        f"/invoices/{invoice.pk}/refund",
        {
            "refund_key": "k1",
            "payment": str(cash.pk),
            "method": "original",
            "amount": "450.01",
            "reason": "Too much",
        },
        **HTMX,
    )
    blank = billing.post(
        f"/invoices/{invoice.pk}/refund",
        {"refund_key": "k2", "payment": str(cash.pk), "amount": "", "reason": "x"},
        **HTMX,
    )

    body = refused.content.decode()
    assert refused.status_code == 422 and 'id="refund-amount-error"' in body
    assert "more than the 450.00 USD paid" in body and 'value="450.01"' in body
    assert blank.status_code == 422 and "Give the amount to give back" in blank.content.decode()
    assert Refund.objects.count() == 0


def test_a_credit_note_on_an_open_invoice_reduces_what_is_owed_once(clinic: Clinic) -> None:
    invoice = issued(clinic)
    billing = signed_in(clinic)
    page = billing.get(f"/invoices/{invoice.pk}/").content.decode()
    form = {
        "note_key": token(page, "note_key"),
        "amount": "50",
        "reason": "Price agreed at booking",
        "method": "original",
    }

    billing.post(f"/invoices/{invoice.pk}/credit-note", form, **HTMX)
    billing.post(f"/invoices/{invoice.pk}/credit-note", form, **HTMX)
    reasonless = billing.post(
        f"/invoices/{invoice.pk}/credit-note", {"note_key": "n2", "amount": "5"}, **HTMX
    )

    note = CreditNote.objects.get()
    invoice.refresh_from_db()
    assert (note.amount_cents, note.applied_cents, invoice.balance_cents) == (5000, 5000, 40000)
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert reasonless.status_code == 422 and 'id="note-reason-error"' in reasonless.content.decode()
    shown = billing.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Credit note CN000001" in shown


def test_a_refund_as_account_credit_shows_as_the_clients_credit(clinic: Clinic) -> None:
    invoice = paid(clinic)
    cash = invoice.payments.get()
    billing = signed_in(clinic)

    billing.post(
        f"/invoices/{invoice.pk}/refund",
        {
            "refund_key": "k",
            "payment": str(cash.pk),
            "method": "account_credit",
            "amount": "25",
            "reason": "Goodwill",
        },
    )

    shown = billing.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "account credit: <strong>25.00 USD</strong>" in shown
    assert "to account credit" in shown


def test_the_desk_sends_the_receipt_and_sees_where_it_went(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = paid(clinic)
    desk = signed_in(clinic, Role.FRONT_DESK)
    page = desk.get(f"/invoices/{invoice.pk}/").content.decode()
    form = {"send_key": token(page, "send_key"), "to_email": "jo@example.org"}

    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.post(f"/invoices/{invoice.pk}/send", form, **HTMX)
        desk.post(f"/invoices/{invoice.pk}/send", form, **HTMX)

    assert sent.status_code == 200 and len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jo@example.org"]
    shown = desk.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "<strong>Sent</strong> to jo@example.org" in shown
    assert ReceiptSending.objects.count() == 1


def test_a_mistyped_address_is_refused_next_to_the_field(clinic: Clinic) -> None:
    invoice = paid(clinic)
    desk = signed_in(clinic, Role.FRONT_DESK)

    refused = desk.post(
        f"/invoices/{invoice.pk}/send", {"send_key": "k", "to_email": "jo@"}, **HTMX
    )

    assert refused.status_code == 422 and 'id="send-to-error"' in refused.content.decode()
    assert ReceiptSending.objects.count() == 0 and mail.outbox == []


def test_the_pdf_opens_from_the_page_and_is_audited(clinic: Clinic) -> None:
    invoice = paid(clinic)
    desk = signed_in(clinic, Role.FRONT_DESK)

    pdf = desk.get(f"/invoices/{invoice.pk}/pdf")

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf["Content-Disposition"].startswith("inline;")
    assert AuditEvent.objects.filter(action="billing.pdf_generated").count() == 1


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER])
def test_roles_without_refund_see_no_refund_form_and_cannot_post_one(
    clinic: Clinic, role: str
) -> None:
    invoice = paid(clinic)
    cash = invoice.payments.get()
    browser = signed_in(clinic, role)

    page = browser.get(f"/invoices/{invoice.pk}/")
    post = browser.post(
        f"/invoices/{invoice.pk}/refund",
        {"refund_key": "k", "payment": str(cash.pk), "amount": "1", "reason": "x"},
    )

    if role == Role.FRONT_DESK:
        assert page.status_code == 200 and "Issue credit note" not in page.content.decode()
    else:
        assert page.status_code == 404
    assert post.status_code == 404 and Refund.objects.count() == 0


def test_another_organizations_invoice_is_404_on_every_page(
    clinic: Clinic, outsider: Clinic
) -> None:
    theirs = paid(outsider)
    billing = signed_in(clinic)

    answers = [
        billing.get(f"/invoices/{theirs.pk}/pdf").status_code,
        billing.post(f"/invoices/{theirs.pk}/send", {"send_key": "k"}).status_code,
        billing.post(f"/invoices/{theirs.pk}/refund", {"amount": "1"}).status_code,
        billing.post(f"/invoices/{theirs.pk}/credit-note", {"amount": "1"}).status_code,
    ]

    assert answers == [404, 404, 404, 404]
    assert Refund.objects.count() == CreditNote.objects.count() == 0


def test_a_paid_invoice_page_with_refunds_takes_a_bounded_number_of_queries(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: Any
) -> None:
    invoice = paid(clinic, ("card_external", 30000), ("cash", 15000))
    paid(outsider)
    billing = signed_in(clinic)
    for n, payment in enumerate(invoice.payments.all()):
        billing.post(
            f"/invoices/{invoice.pk}/refund",
            {"refund_key": f"k{n}", "payment": str(payment.pk), "amount": "10", "reason": "x"},
        )

    with django_assert_max_num_queries(20):
        page = billing.get(f"/invoices/{invoice.pk}/")

    assert page.status_code == 200 and page.content.decode().count("Refund R") == 2


def test_without_htmx_a_refusal_comes_back_on_the_whole_page(clinic: Clinic) -> None:
    invoice = paid(clinic)
    billing = signed_in(clinic)

    refused = billing.post(
        f"/invoices/{invoice.pk}/credit-note",
        {"note_key": "n1", "amount": "450.01", "reason": "Too much", "method": "account_credit"},
    )

    body = refused.content.decode()
    assert refused.status_code == 422 and "<h1>" in body
    assert 'id="note-amount-error"' in body and "at most 450.00 USD" in body
    assert 'value="450.01"' in body and CreditNote.objects.count() == 0


def test_the_printed_receipt_shows_the_legal_name_and_tax_numbers(clinic: Clinic) -> None:
    org, site = clinic.organization, clinic.location
    org.legal_name, org.tax_number_label, org.tax_number = "Lumen Aesthetics LLC", "EIN", "12-34"
    org.save()
    site.tax_number_label, site.tax_number = "MA sales tax", "SR-1"
    site.save()
    invoice = paid(clinic)

    html = signed_in(clinic).get(f"/invoices/{invoice.pk}/receipt").content.decode()

    assert "Lumen Aesthetics LLC" in html and "EIN: 12-34" in html
    assert "MA sales tax: SR-1" in html and f"/invoices/{invoice.pk}/pdf" in html
