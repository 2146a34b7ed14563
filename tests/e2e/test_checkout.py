"""Billing checks out a charted visit: a 10% discount with its reason, a tip, the invoice
issued, part paid by card on the terminal and the rest in cash, Paid, then the receipt;
axe finds no serious problem on either page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import axe_violations, run_in_demo

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# A visit treated and charted now: Jenna Park's next neurotoxin visit, put in treatment
# (set directly: the gate is not this test's subject), charted and signed through the
# charting services; signing builds its draft invoice from the chart.
DRAFT = """
from datetime import date, timedelta
from medspa.billing.models import Invoice
from medspa.clinical import charting
from medspa.core.models import User
from medspa.scheduling.models import Appointment, AppointmentService
jenna = User.objects.get(email="provider@demo.medspa.example")
line = (
    AppointmentService.objects.filter(
        provider__user=jenna,
        position=0,  # her service first: the chart is hers to sign
        service__name__startswith="Neurotoxin",
        appointment__status__in=["booked", "confirmed"],
        appointment__chart__isnull=True,
        appointment__deposit__isnull=True,  # test_deposits gives some visits a deposit
    )
    .exclude(service__name__icontains="touch-up")  # a paid treatment, not the free check
    .order_by("appointment__start")
    .first()
)
Appointment.objects.filter(pk=line.appointment_id).update(status="in_treatment")
visit = Appointment.objects.get(pk=line.appointment_id)
chart = charting.open_chart(appointment=visit, actor=jenna)
chart = charting.update_chart_notes(chart=chart, actor=jenna, notes="Glabellar lines.")
charting.add_injectable(
    chart=chart, actor=jenna, kind="neurotoxin", product="Botox Cosmetic", quantity="20",
    unit="units", lot_number="C7020AC2", expiry=date.today() + timedelta(days=300),
    sites=[{"site": "glabella", "quantity": "20"}],
)
charting.sign_chart(chart=chart, actor=jenna)
assert Invoice.objects.filter(appointment=visit, status="draft").exists()
print(visit.pk)
"""


def test_billing_checks_out_a_visit_and_prints_the_receipt(
    served: str, demo_env: dict[str, str], page: Page
) -> None:
    visit = run_in_demo(demo_env, DRAFT).strip().splitlines()[-1]
    page.set_viewport_size({"width": 1180, "height": 1400})
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill("billing@demo.medspa.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()

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
    expect(page.get_by_role("heading", name="Take payment")).to_be_visible()

    balance = page.get_by_label("Card (terminal) amount").input_value()
    whole, cents = balance.split(".")
    card = int(whole) * 100 + int(cents) - 5000  # all but 50.00 on the card
    page.get_by_label("Card (terminal) amount").fill(f"{card // 100}.{card % 100:02d}")
    page.get_by_label("Terminal reference").fill("T-20931")
    page.get_by_label("Cash amount").fill("50.00")
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "checkout.png"), full_page=True)
    page.get_by_role("button", name="Take payment").click()

    expect(page.locator(".paid-banner")).to_contain_text("Paid ✓")
    expect(page.locator("ul.payments").get_by_text("ref T-20931")).to_be_visible()
    page.get_by_role("button", name="Print receipt").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page.get_by_text("(Loyalty: tenth visit)")).to_be_visible()
    expect(page.get_by_text("Paid by cash")).to_be_visible()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    page.screenshot(path=str(SCREENSHOTS / "receipt.png"), full_page=True)
