"""Billing checks out a charted visit (a discount, a tip, card and cash), prints the receipt and
opens its PDF, e-mails it, refunds part of the card payment on the invoice page, closes the
till, then opens the Books: the refund is in the journal and the trial balance balances.
axe finds no serious problem on any page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import axe_violations, open_menu, run_in_demo
from tests.e2e.test_checkout import DRAFT

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# What an owner sets once (API: PATCH /organization/billing-identity): printed on receipts.
IDENTITY = """
from medspa.core.identity import update_billing_identity, update_location_tax_number
from medspa.core.models import Organization
org = Organization.objects.order_by("id").first()
update_billing_identity(organization=org, actor=None, changes={
    "legal_name": "Lumen Aesthetics LLC", "tax_number_label": "EIN", "tax_number": "84-2917365"})
for site in org.locations.all():
    state = "CO" if "Denver" in site.name else "MA"
    update_location_tax_number(location=site, actor=None, changes={
        "tax_number_label": f"{state} sales tax", "tax_number": f"{state}-{site.pk:07d}"})
print("ok")
"""


def no_serious_problems(page: Page) -> None:
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)


def test_billing_refunds_part_of_a_visit_and_the_books_balance(
    served: str, demo_env: dict[str, str], page: Page
) -> None:
    visit = run_in_demo(demo_env, DRAFT).strip().splitlines()[-1]
    run_in_demo(demo_env, IDENTITY)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill("billing@demo.medspa.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()

    # Check out: 10% off with its reason, a 20.00 tip, all but 50.00 on the card, 50.00 cash.
    page.goto(f"{served}/appointments/{visit}/checkout")
    page.get_by_label("Percent", exact=True).check()
    page.get_by_label("Percent or amount").fill("10")
    page.get_by_label("Reason").fill("Loyalty: tenth visit")
    page.get_by_role("button", name="Add discount").click()
    expect(page.get_by_text("Discount added.")).to_be_visible()
    page.get_by_label("Tip", exact=True).fill("20")
    page.get_by_role("button", name="Add tip").click()
    expect(page.get_by_text("Tip added")).to_be_visible()
    page.get_by_role("button", name="Issue invoice").click()
    balance = page.get_by_label("Card (terminal) amount").input_value()
    whole, cents = balance.split(".")
    card = int(whole) * 100 + int(cents) - 5000
    page.get_by_label("Card (terminal) amount").fill(f"{card // 100}.{card % 100:02d}")
    page.get_by_label("Terminal reference").fill("T-20931")
    page.get_by_label("Cash amount").fill("50.00")
    page.get_by_role("button", name="Take payment").click()
    expect(page.locator(".paid-banner")).to_contain_text("Paid ✓")
    invoice_url = page.url.split("#")[0]

    # The printable receipt, then its PDF (Chromium's own viewer draws it).
    page.get_by_role("button", name="Print receipt").click()
    expect(page.get_by_text("(Loyalty: tenth visit)")).to_be_visible()
    page.goto(invoice_url)

    # E-mail the receipt to the address on file: "Sent to … at …".
    page.get_by_role("button", name="Send receipt").click()
    expect(page.locator("#receipt-send")).to_contain_text("Sent to")

    # Refund 40.00 of the card payment to the card, with the terminal's slip; a refund above
    # what was paid is refused next to the amount first.
    page.locator("#money-back summary", has_text="Refund").click()
    refund = page.locator("form[action$='/refund']")
    refund.get_by_label("Amount").fill("9999")
    refund.get_by_label("Reason").fill("Forehead not treated")
    refund.get_by_label("From the payment").select_option(index=0)
    refund.get_by_role("button", name="Refund").click()
    expect(page.locator("#refund-amount-error")).to_contain_text("more than")
    refund = page.locator("form[action$='/refund']")
    refund.get_by_label("Amount").fill("40.00")
    refund.get_by_label("Terminal refund slip").fill("TR-5521")
    no_serious_problems(page)
    with page.expect_response(re.compile(r"/refund$")) as answer:
        refund.get_by_role("button", name="Refund").click()
    assert answer.value.status == 200, answer.value.text()
    expect(page.get_by_text("Refunded 40.00 to card (terminal).")).to_be_visible()
    expect(page.locator("#money-back")).to_contain_text("Forehead not treated")
    no_serious_problems(page)
    page.locator("#money-back summary", has_text="Refund").click()
    page.screenshot(path=str(SCREENSHOTS / "refund.png"), full_page=True)

    # The receipt's PDF now lists the refund; Chromium's own viewer draws it.
    pdf_url = f"{invoice_url}pdf"
    pdf = page.request.get(pdf_url)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
    viewer = page.context.new_page()
    viewer.set_viewport_size({"width": 1000, "height": 1300})
    viewer.goto(pdf_url)
    viewer.wait_for_timeout(2500)  # the viewer draws after the load event
    viewer.screenshot(path=str(SCREENSHOTS / "receipt-pdf.png"))
    viewer.close()

    # The daily close: the cash taken today is expected in the drawer; count it short.
    page.goto(f"{served}/invoices/")
    page.get_by_role("button", name="Daily close: count the till").click()
    expect(page.get_by_role("heading", name="Daily close")).to_be_visible()
    expected = page.locator("#expected").inner_text().split()[0]
    whole, cents = expected.split(".")
    short = int(whole) * 100 + int(cents) - 500
    page.get_by_label("Counted in the till").fill(f"{short // 100}.{short % 100:02d}")
    page.get_by_role("button", name="Close the day").click()
    expect(page.locator("#till-explanation-error")).to_contain_text("5.00 USD short")
    page.get_by_label("Explanation").fill("Change given twice")
    no_serious_problems(page)
    page.get_by_role("button", name="Close the day").click()
    expect(page.locator(".paid-banner")).to_contain_text("Closed ✓")
    no_serious_problems(page)
    page.screenshot(path=str(SCREENSHOTS / "daily-close.png"), full_page=True)

    # The books: the refund's entry in the journal, and debits equal credits.
    open_menu(page, "Money")
    page.get_by_role("link", name="Books").click()
    expect(page.get_by_role("heading", name="Trial balance")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Debits equal credits")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Refund on invoice \d+")).first).to_be_visible()
    no_serious_problems(page)
    # The trial balance and the latest entries (the whole journal runs to many screens).
    page.set_viewport_size({"width": 1366, "height": 1500})
    page.screenshot(path=str(SCREENSHOTS / "books.png"))


def test_an_owner_sets_the_receipt_details(served: str, page: Page) -> None:
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill("owner@demo.medspa.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{served}/invoices/")

    page.get_by_role("link", name="Receipt details: legal name and tax numbers").click()
    expect(page.get_by_role("heading", name="Receipt details")).to_be_visible()
    page.get_by_label("Tax number", exact=True).fill("9" * 61)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#org-tax_number-error")).to_contain_text("Keep it under 60")
    page.get_by_label("Legal name").fill("Lumen Aesthetics LLC")
    page.get_by_label("Name of the tax number").fill("EIN")
    page.get_by_label("Tax number", exact=True).fill("84-2917365")
    no_serious_problems(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: invoices and receipts print these")).to_be_visible()
    expect(page.get_by_label("Tax number", exact=True)).to_have_value("84-2917365")
    no_serious_problems(page)
    page.screenshot(path=str(SCREENSHOTS / "receipt-details.png"), full_page=True)
