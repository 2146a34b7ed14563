"""Invoice and receipt PDFs: the clinic's identity and tax numbers, every line, tax per rate,
tips, payments by tender, refunds and credit notes, the balance; a draft is never a receipt;
the route is audited and another organization's invoice answers 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.test import Client as HttpClient

from medspa.billing import receipt_pdf, refunds, services
from medspa.billing.models import Invoice
from medspa.core.models import AuditEvent, Role, User
from tests.billing.helpers import botox_priced, signed_visit, taxed
from tests.billing.pdf_text import pdf_text
from tests.billing.refund_helpers import paid
from tests.conftest import Clinic

Caller = Callable[[User], HttpClient]


def text_of(clinic: Clinic, invoice: Invoice) -> str:
    document = receipt_pdf.document_of(clinic.organization, invoice.pk)
    return pdf_text(receipt_pdf.render_pdf(document, compress=False))


def identified(clinic: Clinic) -> None:
    org, site = clinic.organization, clinic.location
    org.legal_name, org.tax_number_label, org.tax_number = "Lumen Aesthetics LLC", "EIN", "12-34"
    org.save()
    site.address, site.tax_number_label, site.tax_number = "1 Main St", "MA permit", "ST-99"
    site.save()


def checked_out(clinic: Clinic) -> Invoice:
    """A charted visit (450 + 20 units at 14.00), 10% off, a 20.00 tip, card and cash."""
    botox_priced(clinic)
    taxed(clinic, service=0, injectable=625)
    invoice = signed_visit(clinic)
    services.add_discount(invoice=invoice, actor=None, reason="Loyalty", percent_bp=1000)
    services.add_tip(invoice=invoice, actor=None, provider=clinic.injector, amount_cents=2000)
    invoice = services.issue_invoice(invoice=invoice, actor=None)
    services.record_payment(
        invoice=invoice,
        tenders=[
            services.TenderIn("card_external", 50000, "T-4411"),
            services.TenderIn("cash", 19275),
        ],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )
    invoice.refresh_from_db()
    return invoice


def test_a_paid_invoice_prints_as_a_receipt_with_everything_on_it(clinic: Clinic) -> None:
    identified(clinic)
    invoice = checked_out(clinic)

    text = text_of(clinic, invoice)

    for expected in (
        "Receipt",
        "Lumen Aesthetics LLC",
        "EIN: 12-34",
        "MA permit: ST-99",
        "1 Main St",
        invoice.display_number,
        invoice.client.full_name,
        "Neurotoxin",
        "Botox Cosmetic",
        "20 units",
        "14.00",
        "280.00",
        "-28.00",  # the Botox's share of the 73.00 discount
        "15.75 (6.25%)",
        "Discount 10% (Loyalty)",
        "injectable tax 6.25% on 252.00",
        "Tip",
        "692.75 USD",
        "Card (terminal) · ref T-4411",
        "500.00",
        "192.75",
        "0.00 USD",
        "Thank you.",
    ):
        assert expected in text, expected
    assert "DRAFT" not in text


def test_a_draft_is_watermarked_and_never_called_a_receipt(clinic: Clinic) -> None:
    invoice = signed_visit(clinic)

    text = text_of(clinic, invoice)

    assert "DRAFT" in text and "Draft invoice" in text
    assert "Receipt" not in text and "Thank you." not in text
    assert "not yet issued" in text
    assert receipt_pdf.filename(receipt_pdf.document_of(clinic.organization, invoice.pk)) == (
        f"draft-invoice-{invoice.pk}.pdf"
    )


def test_refunds_and_credit_notes_are_listed_with_their_numbers(clinic: Clinic) -> None:
    invoice = paid(clinic, ("cash", 45000))
    cash = invoice.payments.get()
    refunds.refund_invoice(
        invoice=invoice,
        amount_cents=5000,
        method="original",
        payment_id=cash.pk,
        reason="Bruising",
        idempotency_key="r1",
        actor=None,
    )
    refunds.issue_credit_note(
        invoice=invoice,
        amount_cents=2000,
        reason="Price match",
        method="account_credit",
        actor=None,
    )

    text = text_of(clinic, invoice)

    assert "To cash: Bruising" in text and "-50.00" in text
    assert "CN000001: Price match" in text and "-20.00" in text
    assert "To account credit (CN000001)" in text


def test_names_in_other_scripts_are_drawn_not_dropped(clinic: Clinic) -> None:
    invoice = paid(clinic)
    invoice.client.first_name, invoice.client.last_name = "Ζωή", "Иванова 山田"
    invoice.client.save()

    document = receipt_pdf.document_of(clinic.organization, invoice.pk)
    pdf = receipt_pdf.render_pdf(document, compress=False)

    assert "Ζωή Иванова" in pdf_text(pdf)  # DejaVu Sans, embedded
    assert b"/STSong-Light" in pdf  # the Han characters switch to a CJK font


def test_the_pdf_route_is_audited_and_scoped(
    clinic: Clinic, outsider: Clinic, api_as: Caller, django_assert_max_num_queries: Any
) -> None:
    invoice = paid(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])

    with django_assert_max_num_queries(14):
        response = desk.get(f"/api/v1/invoices/{invoice.pk}/pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f'filename="receipt-{invoice.number:06d}.pdf"' in response["Content-Disposition"]
    assert AuditEvent.objects.filter(
        action="billing.pdf_generated", object_id=str(invoice.pk)
    ).exists()
    foreign = api_as(outsider.users[Role.OWNER]).get(f"/api/v1/invoices/{invoice.pk}/pdf")
    provider = api_as(clinic.users[Role.PROVIDER]).get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert foreign.status_code == 404 and provider.status_code == 403


def test_owners_set_the_legal_name_and_tax_numbers_printed(
    clinic: Clinic, outsider: Clinic, api_as: Caller
) -> None:
    owner = api_as(clinic.users[Role.OWNER])

    done = owner.patch(
        "/api/v1/organization/billing-identity",
        {"legal_name": "Lumen Aesthetics LLC", "tax_number_label": "EIN", "tax_number": "12-34"},
        content_type="application/json",
    )
    site = owner.patch(
        f"/api/v1/locations/{clinic.location.pk}/billing-identity",
        {"tax_number": "ST-99"},
        content_type="application/json",
    )
    too_long = owner.patch(
        "/api/v1/organization/billing-identity",
        {"tax_number": "9" * 61},
        content_type="application/json",
    )
    desk = api_as(clinic.users[Role.FRONT_DESK]).patch(
        "/api/v1/organization/billing-identity",
        {"tax_number": "x"},
        content_type="application/json",
    )
    foreign = api_as(outsider.users[Role.OWNER]).patch(
        f"/api/v1/locations/{clinic.location.pk}/billing-identity",
        {"tax_number": "x"},
        content_type="application/json",
    )

    assert done.status_code == 200 and done.json()["tax_number"] == "12-34"
    assert site.status_code == 200 and site.json()["tax_number"] == "ST-99"
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "tax_number"
    assert desk.status_code == 403 and foreign.status_code == 404
    clinic.organization.refresh_from_db()
    assert clinic.organization.tax_number == "12-34"
    outsider.organization.refresh_from_db()
    outsider.location.refresh_from_db()
    assert outsider.organization.tax_number == outsider.location.tax_number == ""
    assert AuditEvent.objects.filter(action="organization.billing_identity_changed").count() == 1


def test_a_void_invoice_says_so_and_is_never_a_receipt(clinic: Clinic) -> None:
    botox_priced(clinic)
    invoice = services.void_invoice(
        invoice=services.issue_invoice(invoice=signed_visit(clinic), actor=None),
        actor=None,
        reason="Booked twice",
    )

    text = text_of(clinic, invoice)

    assert "Invoice (void)" in text and "VOID" in text and "Void: Booked twice" in text
    assert "Receipt" not in text and "Balance due" not in text
