"""Billing opens the Books: the trial balance balances, the journal shows a sale and its void;
axe finds no serious problem."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import axe_violations, open_menu, run_in_demo

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Postings as billing makes them: a checkout with tax, tip and split tender; a refund; a void.
POST = """
from datetime import timedelta
from django.utils import timezone
from medspa.core.models import Organization
from medspa.ledger.services import Posting as P, post_entry, reverse_entry
org = Organization.objects.order_by("id").first()
site = org.locations.order_by("id").first()
now = timezone.now() - timedelta(hours=2)
post_entry(organization=org, occurred_at=now, memo="Invoice 1042: Neurotoxin, 20 units",
    postings=[P("card_clearing", debit_cents=40000), P("cash", debit_cents=13600),
              P("discounts", debit_cents=4000, memo="Spring promotion 10%"),
              P("service_revenue", credit_cents=49000), P("sales_tax_payable", credit_cents=3600),
              P("tips_payable", credit_cents=5000, memo="Tip for the provider")],
    source_type="invoice", source_id=1042, location=site)
refund = post_entry(organization=org, occurred_at=now + timedelta(minutes=30),
    memo="Refund on invoice 1042", postings=[P("refunds", debit_cents=5000),
    P("card_clearing", credit_cents=5000)], source_type="refund", source_id=7, location=site)
reverse_entry(entry=refund, occurred_at=now + timedelta(minutes=40), memo="Refund entered twice")
print("ok")
"""


def test_billing_reads_the_books(served: str, demo_env: dict[str, str], page: Page) -> None:
    run_in_demo(demo_env, POST)
    page.set_viewport_size({"width": 1180, "height": 1400})
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill("billing@demo.medspa.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()

    open_menu(page, "Money")
    page.get_by_role("link", name="Books").click()

    expect(page.get_by_role("heading", name="Trial balance")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Debits equal credits")).to_be_visible()
    expect(page.get_by_text("Invoice 1042: Neurotoxin, 20 units")).to_be_visible()
    expect(page.get_by_text("Reverses #")).to_be_visible()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "books.png"), full_page=True)
