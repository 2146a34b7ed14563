"""Cards on file at the desk: the record's section, Add a card (the browser's Stripe step
done by the fake server, as Stripe.js would), remove with confirmation, the card-on-file
tender at checkout with a decline and a double tap; Stripe not set up, roles, the outsider."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.billing import services
from medspa.billing.card_models import CardOnFile
from medspa.billing.models import Invoice, InvoiceStatus, Payment
from medspa.core.models import Role
from tests.billing.card_helpers import CONSENT, card_row, confirm_in_browser, keep_card, stripe_on
from tests.billing.fake_stripe import FakeStripe
from tests.billing.helpers import botox_priced, desk, signed_visit
from tests.conftest import Clinic

__all__ = ["stripe_on"]  # the fixture, used by name


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def issued(clinic: Clinic) -> Invoice:
    botox_priced(clinic)
    return services.issue_invoice(invoice=signed_visit(clinic), actor=None)


def field(page: str, name: str) -> str:
    return page.split(f'name="{name}" value="')[1].split('"')[0]


def section(browser: HttpClient, clinic: Clinic) -> str:
    response = browser.get(f"/clients/{clinic.client.pk}/cards")
    assert response.status_code == 200
    return response.content.decode()


def test_the_desk_adds_a_card_with_the_clients_consent(
    clinic: Clinic, stripe_on: FakeStripe
) -> None:
    browser = signed_in(clinic)
    record = browser.get(f"/clients/{clinic.client.pk}/").content.decode()
    assert f'hx-get="/clients/{clinic.client.pk}/cards"' in record
    assert "Add a card" in section(browser, clinic)

    page = browser.get(f"/clients/{clinic.client.pk}/cards/add").content.decode()
    assert "https://js.stripe.com/v3/" in page and "medspa/card_setup.js" in page
    assert 'data-publishable-key="pk_test_medspa"' in page
    assert clinic.organization.name in page  # the consent names the clinic
    setup_id = field(page, "setup_intent_id")
    confirm_in_browser(setup_id, "pm_card_mastercard")  # Stripe.js, in the client's hands
    saved = browser.post(
        f"/clients/{clinic.client.pk}/cards/add",
        {
            "setup_intent_id": setup_id,
            "client_secret": field(page, "client_secret"),
            "consent_text": CONSENT,
            "agreed": "yes",
        },
        follow=True,
    )

    assert "Mastercard ending 4444 is kept on file" in saved.content.decode()
    card = CardOnFile.objects.get()
    assert card.consent_text == CONSENT and card.consent_recorded_by == desk(clinic)
    shown = section(browser, clinic)
    assert "Mastercard ending 4444" in shown and "expires 12/2034" in shown
    assert desk(clinic).full_name in shown


@pytest.mark.parametrize(
    ("consent", "agreed", "message"),
    [
        (CONSENT, "", "Tick the box once the client has read"),
        ("  ", "yes", "Record the client&#x27;s consent"),
    ],
)
def test_a_card_is_not_kept_without_consent(
    clinic: Clinic, stripe_on: FakeStripe, consent: str, agreed: str, message: str
) -> None:
    browser = signed_in(clinic)
    page = browser.get(f"/clients/{clinic.client.pk}/cards/add").content.decode()
    setup_id = field(page, "setup_intent_id")
    confirm_in_browser(setup_id)

    refused = browser.post(
        f"/clients/{clinic.client.pk}/cards/add",
        {
            "setup_intent_id": setup_id,
            "client_secret": field(page, "client_secret"),
            "consent_text": consent,
            "agreed": agreed,
        },
    )

    assert refused.status_code == 422
    body = refused.content.decode()
    assert message in body and 'aria-invalid="true"' in body
    # The card entered stays: only the consent is asked again, Stripe's form not reloaded.
    assert 'data-card-entered="1"' in body and field(body, "setup_intent_id") == setup_id
    assert "js.stripe.com" not in body
    assert not CardOnFile.objects.exists()


def test_removing_a_card_needs_the_ticked_confirmation(
    clinic: Clinic, stripe_on: FakeStripe
) -> None:
    card = keep_card(clinic.client, desk(clinic))
    browser = signed_in(clinic)
    url = f"/cards/{card.pk}/remove"

    unticked = browser.post(url, headers={"HX-Request": "true"})
    assert unticked.status_code == 422 and "Tick the box to confirm" in unticked.content.decode()
    card.refresh_from_db()
    assert card.is_active

    removed = browser.post(url, {"confirm": "yes"}, headers={"HX-Request": "true"})
    body = removed.content.decode()
    assert "Visa ending 4242 is off file" in body and "Removed cards (1)" in body
    assert "No card on file." in body
    card.refresh_from_db()
    assert not card.is_active and card.consent_text == CONSENT


def test_the_section_costs_a_fixed_few_queries(
    clinic: Clinic, stripe_on: FakeStripe, django_assert_max_num_queries: Any
) -> None:
    for last4 in ("4242", "1881", "0005", "4444", "1111"):
        card_row(clinic, last4=last4)
    browser = signed_in(clinic)
    section(browser, clinic)
    with django_assert_max_num_queries(6):
        body = section(browser, clinic)
    assert body.count("Remove card") == 5


def test_without_stripe_the_pages_hide_the_card_options(clinic: Clinic, settings: Any) -> None:
    settings.MEDSPA_STRIPE_SECRET_KEY = ""
    card_row(clinic)  # kept while Stripe was set up: still listed, still removable
    invoice = issued(clinic)
    browser = signed_in(clinic)

    shown = section(browser, clinic)
    add = browser.get(f"/clients/{clinic.client.pk}/cards/add")
    checkout = browser.get(f"/invoices/{invoice.pk}/").content.decode()

    assert "Add a card" not in shown and "not set up" in shown and "Remove card" in shown
    assert add.status_code == 409 and "js.stripe.com" not in add.content.decode()
    assert "Card payments are not set up" in add.content.decode()
    assert "card_on_file" not in checkout


def test_the_card_on_file_pays_at_checkout_once_even_when_tapped_twice(
    clinic: Clinic, stripe_on: FakeStripe
) -> None:
    card = keep_card(clinic.client, desk(clinic))
    invoice = issued(clinic)
    browser = signed_in(clinic)
    page = browser.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Visa ending 4242</option>" in page
    form = {
        "idempotency_key": field(page, "idempotency_key"),
        "amount_card_external": "",
        "card_on_file": str(card.pk),
        "amount_card_on_file": "630.00",
        "amount_cash": "100.00",
    }

    first = browser.post(f"/invoices/{invoice.pk}/pay", form)
    second = browser.post(f"/invoices/{invoice.pk}/pay", form, follow=True)

    assert first.status_code == 302
    assert "Already taken" in second.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert sorted(Payment.objects.values_list("kind", "amount_cents")) == [
        ("card_on_file", 63000),
        ("cash", 10000),
    ]
    assert len(stripe_on.posts_to("/v1/payment_intents")) == 1


def test_a_declined_card_on_file_says_why_and_a_new_try_gets_a_new_key(
    clinic: Clinic, stripe_on: FakeStripe
) -> None:
    card = keep_card(clinic.client, desk(clinic), "pm_card_chargeCustomerFail")
    invoice = issued(clinic)
    browser = signed_in(clinic)
    key = field(browser.get(f"/invoices/{invoice.pk}/").content.decode(), "idempotency_key")

    refused = browser.post(
        f"/invoices/{invoice.pk}/pay",
        {
            "idempotency_key": key,
            "amount_card_external": "",
            "card_on_file": str(card.pk),
            "amount_card_on_file": "730.00",
        },
    )

    body = refused.content.decode()
    assert refused.status_code == 422
    assert "insufficient funds" in body and "insufficient_funds" in body
    assert field(body, "idempotency_key") != key
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_a_provider_sees_no_cards_and_may_not_add_or_remove(
    clinic: Clinic, stripe_on: FakeStripe
) -> None:
    card = card_row(clinic)
    browser = signed_in(clinic, Role.PROVIDER)
    assert browser.get(f"/clients/{clinic.client.pk}/cards").content == b""
    assert browser.get(f"/clients/{clinic.client.pk}/cards/add").status_code == 404
    assert browser.post(f"/cards/{card.pk}/remove", {"confirm": "yes"}).status_code == 404
    card.refresh_from_db()
    assert card.is_active


def test_the_outsiders_client_and_card_are_404(
    clinic: Clinic, outsider: Clinic, stripe_on: FakeStripe
) -> None:
    theirs = card_row(outsider)
    browser = signed_in(clinic, Role.OWNER)
    answers = [
        browser.get(f"/clients/{outsider.client.pk}/cards"),
        browser.get(f"/clients/{outsider.client.pk}/cards/add"),
        browser.post(f"/clients/{outsider.client.pk}/cards/add", {"agreed": "yes"}),
        browser.post(f"/cards/{theirs.pk}/remove", {"confirm": "yes"}),
    ]
    assert [a.status_code for a in answers] == [404] * 4
    theirs.refresh_from_db()
    assert theirs.is_active
    assert not stripe_on.requests
