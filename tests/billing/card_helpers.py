"""Cards on file in tests: Stripe pointed at the local fake, a card saved as the desk does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from medspa.billing import stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.clients.models import Client
from medspa.core.models import User
from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.conftest import Clinic

CONSENT = (
    "I agree that the clinic keeps this card on file and may charge it for my visits, "
    "late-cancellation and no-show fees, as set out in the clinic's policy."
)


@pytest.fixture
def stripe_on(settings: Any) -> Iterator[FakeStripe]:
    """Stripe switched on, pointed at the local fake, which starts empty."""
    server = shared_fake()
    server.reset()
    settings.MEDSPA_STRIPE_SECRET_KEY = "sk_test_medspa"
    settings.MEDSPA_STRIPE_PUBLISHABLE_KEY = "pk_test_medspa"
    settings.MEDSPA_STRIPE_API_BASE = server.url
    yield server


def confirm_in_browser(setup_intent_id: str, test_card: str = "pm_card_visa") -> None:
    """What Stripe.js does with the card the client types into Stripe's form."""
    stripe_gateway.stripe_client().v1.setup_intents.confirm(
        setup_intent_id, {"payment_method": test_card}
    )


def keep_card(
    client: Client, actor: User, test_card: str = "pm_card_visa", consent: str = CONSENT
) -> CardOnFile:
    """The client enters a card into Stripe's form at the desk and agrees to keep it."""
    setup = stripe_gateway.start_card_setup(client=client, actor=actor)
    confirm_in_browser(setup.setup_intent_id, test_card)
    return stripe_gateway.save_card_on_file(
        client=client, setup_intent_id=setup.setup_intent_id, consent_text=consent, actor=actor
    )


def card_row(clinic: Clinic, *, brand: str = "visa", last4: str = "4242") -> CardOnFile:
    """A card already on file, written directly (for walks that must not call Stripe)."""
    return CardOnFile.objects.create(
        organization=clinic.organization,
        client=clinic.client,
        stripe_customer_id="cus_walk",
        stripe_payment_method_id=f"pm_walk_{clinic.client.pk}_{last4}",
        brand=brand,
        last4=last4,
        exp_month=12,
        exp_year=2034,
        consent_text=CONSENT,
    )


def card_names(clinic: Clinic) -> dict[str, int]:
    """Ids the permission walk fills in: a card on file of the clinic's client."""
    return {"card": card_row(clinic).pk}


def their_card_ids(theirs: Clinic) -> dict[str, int]:
    """Another organization's card on file, for the tenancy walk."""
    return {"card": card_row(theirs).pk}
