"""Cards on file at the desk, in the browser: the client record's section with Stripe not set
up (no card options), then with Stripe pointed at the local fake server and a card kept on
file (set up through the fake, as Stripe.js would); the Add a card page, where Stripe.js
cannot load here (no network) and says so; the card on file as a checkout tender.
axe finds no serious problem on the pages we render."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.e2e.conftest import MEDSPA, _free_port, axe_violations, run_in_demo
from tests.e2e.test_checkout import DRAFT

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

CLIENT = """
from medspa.clients.models import Client
client = Client.objects.filter(is_active=True).order_by("last_name", "first_name").first()
print(client.pk)
"""

# The client agrees and types a card into Stripe's form; here the fake confirms the setup.
KEEP_CARD = """
from medspa.billing import stripe_gateway
from medspa.clients.models import Client
from medspa.core.models import User
desk = User.objects.get(email="frontdesk@demo.medspa.example")
client = Client.objects.get(pk={client})
setup = stripe_gateway.start_card_setup(client=client, actor=desk)
stripe_gateway.stripe_client().v1.setup_intents.confirm(
    setup.setup_intent_id, {{"payment_method": "pm_card_visa"}}
)
card = stripe_gateway.save_card_on_file(
    client=client, setup_intent_id=setup.setup_intent_id, actor=desk,
    consent_text="I authorise the clinic to keep this card on file and charge it for my "
    "visits and for late-cancellation or no-show fees under its policy.",
)
print(card.pk)
"""


@pytest.fixture(scope="module")
def with_stripe(served: str, demo_env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """A second server on the same demo database, with Stripe set up against the fake."""
    fake: FakeStripe = shared_fake()
    env = {
        **demo_env,
        "MEDSPA_STRIPE_SECRET_KEY": "sk_test_medspa",
        "MEDSPA_STRIPE_PUBLISHABLE_KEY": "pk_test_medspa",
        "MEDSPA_STRIPE_API_BASE": fake.url,
    }
    port = _free_port()
    server = subprocess.Popen(
        [*MEDSPA, "serve", "--port", str(port), "--workers", "1"],
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
        pytest.fail("medspa serve (with Stripe) did not answer /healthz")
    yield url, env
    server.terminate()
    server.wait(timeout=30)


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("frontdesk@demo.medspa.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Clients")).to_be_visible()


def test_cards_on_file_from_the_client_record(
    served: str, demo_env: dict[str, str], with_stripe: tuple[str, dict[str, str]], page: Page
) -> None:
    client = run_in_demo(demo_env, CLIENT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Stripe not set up: the section says so and offers no card options.
    sign_in(page, served)
    page.goto(f"{served}/clients/{client}/")
    cards = page.locator("#client-cards")
    expect(cards.get_by_text("not set up")).to_be_visible()
    expect(cards.get_by_role("button", name="Add a card")).to_have_count(0)
    cards.scroll_into_view_if_needed()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    page.screenshot(path=str(SCREENSHOTS / "cards-not-set-up.png"))

    # Stripe set up, a card kept on file through the fake server.
    base, env = with_stripe
    run_in_demo(env, KEEP_CARD.format(client=client))
    # Same host, same database: the session cookie signs the desk in on this server too.
    page.goto(f"{base}/clients/{client}/")
    cards = page.locator("#client-cards")
    expect(cards.get_by_text("Visa ending 4242", exact=True)).to_be_visible()
    expect(cards.get_by_role("button", name="Add a card")).to_be_visible()
    cards.get_by_text("Remove", exact=True).click()
    expect(cards.get_by_role("button", name="Remove card")).to_be_visible()
    cards.scroll_into_view_if_needed()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    page.screenshot(path=str(SCREENSHOTS / "cards-on-file.png"))

    # Add a card: the consent is asked; Stripe's form cannot load without the network.
    cards.get_by_role("button", name="Add a card").click()
    expect(page.get_by_role("heading", name="Keep a card on file")).to_be_visible()
    expect(page.get_by_text("Stripe's card form could not load")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Save card")).to_be_disabled()
    page.screenshot(path=str(SCREENSHOTS / "card-add.png"), full_page=True)


ISSUE = """
from medspa.billing import services
from medspa.billing.models import Invoice
invoice = Invoice.objects.get(appointment_id={visit}, status="draft")
invoice = services.issue_invoice(invoice=invoice, actor=None)
print(invoice.pk, invoice.client_id)
"""


def test_the_card_on_file_pays_at_checkout(
    served: str, with_stripe: tuple[str, dict[str, str]], page: Page
) -> None:
    base, env = with_stripe
    visit = run_in_demo(env, DRAFT)
    invoice, client = run_in_demo(env, ISSUE.format(visit=visit)).split()
    run_in_demo(env, KEEP_CARD.format(client=client))
    sign_in(page, base)

    page.goto(f"{base}/invoices/{invoice}/")
    balance = page.get_by_label("Card (terminal) amount").input_value()
    page.get_by_label("Card (terminal) amount").fill("")
    expect(page.get_by_label("Card", exact=True)).to_contain_text("Visa ending 4242")
    page.get_by_label("Card on file amount").fill(balance)
    page.locator("#payment").scroll_into_view_if_needed()
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    page.screenshot(path=str(SCREENSHOTS / "checkout-card-on-file.png"))
    page.get_by_role("button", name="Take payment").click()

    expect(page.locator(".paid-banner")).to_contain_text("Paid ✓")
    expect(page.locator("ul.payments")).to_contain_text("Card on file")
