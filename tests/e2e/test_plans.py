"""The desk spreads a balance over a payment plan charged to the card on file; the worker
charges the instalment due today; billing sees a failed plan on the follow-ups page. Stripe
is the local fake (never the network); axe finds no serious problem on either page."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.billing.fake_stripe import shared_fake
from tests.e2e.conftest import MEDSPA, _free_port, axe_violations, run_in_demo

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# A small clinic (the test suite's), one open invoice with the client's card on file, and
# another client's plan whose card declined three times: its follow-up is open.
SETUP = """
from datetime import timedelta
from django.utils import timezone
from medspa.billing import plans, stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.core.models import Role
from tests.billing.plan_helpers import CONSENT
from tests.billing.refund_helpers import issued
from tests.conftest import build_clinic
from tests.factories import ClientFactory

clinic = build_clinic("Lumen")
clinic.organization.name = "Lumen Aesthetics"
clinic.organization.save()
for user in clinic.users.values():
    user.set_password("demo")
    user.save()
maya = clinic.client
maya.first_name, maya.last_name = "Maya", "Chen"
maya.save()
desk = clinic.users[Role.FRONT_DESK]
setup = stripe_gateway.start_card_setup(client=maya, actor=desk)
stripe_gateway.stripe_client().v1.setup_intents.confirm(
    setup.setup_intent_id, {"payment_method": "pm_card_visa"}
)
stripe_gateway.save_card_on_file(
    client=maya, setup_intent_id=setup.setup_intent_id, consent_text=CONSENT, actor=desk
)
invoice = issued(clinic, 10, client=maya)

sam = ClientFactory(organization=clinic.organization, first_name="Sam", last_name="Ortiz")
declining = CardOnFile.objects.create(
    organization=clinic.organization, client=sam, stripe_customer_id="",
    stripe_payment_method_id="pm_card_chargeDeclined", brand="visa", last4="0002",
    exp_month=4, exp_year=2028, consent_text=CONSENT,
)
theirs = issued(clinic, 13, client=sam)
now = timezone.now() - timedelta(days=4)
plans.create_plan(
    invoice=theirs, card=declining, actor=desk, cadence="monthly", count=4,
    first_date=plans.local_today(theirs, now), now=now,
)
for days in (0, 1, 4):
    plans.charge_due_instalments(now=now + timedelta(days=days))
print(invoice.pk, desk.email, clinic.users[Role.BILLING].email)
"""


@pytest.fixture(scope="module")
def clinic_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The app served on a fresh SQLite file with Stripe pointed at the local fake."""
    fake = shared_fake()
    home = tmp_path_factory.mktemp("plans")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{home / 'plans.sqlite3'}",
        "MEDSPA_VAR": str(home),
        "MEDSPA_STRIPE_SECRET_KEY": "sk_test_medspa",
        "MEDSPA_STRIPE_API_BASE": fake.url,
    }
    subprocess.run([*MEDSPA, "migrate", "-v", "0"], env=env, check=True)
    port = _free_port()
    server = subprocess.Popen(
        [*MEDSPA, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("medspa serve did not answer /healthz")
    yield url, env
    server.terminate()
    server.wait(timeout=30)


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_payment_plan_from_the_desk_to_the_follow_up(
    clinic_served: tuple[str, dict[str, str]], page: Page
) -> None:
    url, env = clinic_served
    invoice, desk, billing = run_in_demo(env, SETUP).split()
    sign_in(page, url, desk)

    page.goto(f"{url}/invoices/{invoice}/#plan")
    expect(page.get_by_role("heading", name="Payment plan")).to_be_visible()
    page.get_by_label("Every month").check()
    page.get_by_label("Instalments").fill("3")
    page.locator("#plan").screenshot(path=str(SCREENSHOTS / "payment-plan-form.png"))
    page.get_by_role("button", name="Make payment plan").click()
    expect(
        page.get_by_text("The first is due today and is charged within a minute.")
    ).to_be_visible()
    expect(page.get_by_text("Due now")).to_be_visible()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)

    ran = subprocess.run([*MEDSPA, "worker", "--once"], env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    page.reload()  # the desk refreshes, as the page says
    expect(page.locator("#plan").get_by_text("Paid ✓")).to_be_visible()
    page.locator("#plan").screenshot(path=str(SCREENSHOTS / "payment-plan.png"))

    page.context.clear_cookies()
    sign_in(page, url, billing)
    page.goto(f"{url}/payment-follow-ups/")
    expect(page.get_by_role("heading", name="Sam Ortiz")).to_be_visible()
    expect(page.get_by_text("declined 3 times")).to_be_visible()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    page.screenshot(path=str(SCREENSHOTS / "payment-follow-ups.png"))
