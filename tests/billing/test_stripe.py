"""Card payments through Stripe, against the local fake: never the network."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from medspa.billing import services, stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.billing.models import Invoice, InvoiceStatus, Payment
from medspa.billing.refunds import refund_invoice
from medspa.billing.tenders import tender_named
from medspa.core.audit import AuditEvent
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import Role
from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.billing.helpers import balanced, botox_priced, desk, signed_visit
from tests.conftest import Clinic

CONSENT = (
    "I agree that Lumen Aesthetics keeps this card on file and may charge it for my visits, "
    "late-cancellation and no-show fees, as set out in the clinic's policy."
)


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeStripe]:
    """Stripe switched on, pointed at the local fake, which starts empty."""
    server = shared_fake()
    server.reset()
    settings.MEDSPA_STRIPE_SECRET_KEY = "sk_test_medspa"
    settings.MEDSPA_STRIPE_API_BASE = server.url
    yield server


def issued(clinic: Clinic, hour: int = 10) -> Invoice:
    botox_priced(clinic)
    return services.issue_invoice(invoice=signed_visit(clinic, hour), actor=desk(clinic))


def card_saved(clinic: Clinic, test_card: str = "pm_card_visa") -> CardOnFile:
    """The client enters a card into Stripe's form at the desk and agrees to keep it."""
    setup = stripe_gateway.start_card_setup(client=clinic.client, actor=desk(clinic))
    # What Stripe.js does in the browser with the card typed by the client.
    stripe_gateway.stripe_client().v1.setup_intents.confirm(
        setup.setup_intent_id, {"payment_method": test_card}
    )
    return stripe_gateway.save_card_on_file(
        client=clinic.client,
        setup_intent_id=setup.setup_intent_id,
        consent_text=CONSENT,
        actor=desk(clinic),
    )


def test_a_card_payment_through_stripe_pays_the_invoice(clinic: Clinic, fake: FakeStripe) -> None:
    invoice = issued(clinic)
    taken = stripe_gateway.take_card_payment(
        invoice=invoice,
        amount_cents=invoice.total_cents,
        payment_method="pm_card_visa",
        idempotency_key="visit-1",
        actor=desk(clinic),
    )
    payment = taken.payments[0]
    assert taken.invoice.status == InvoiceStatus.PAID
    assert (payment.kind, payment.gateway) == ("card", "stripe")
    intent = fake.objects[payment.reference]
    assert intent["status"] == "succeeded"
    assert intent["amount"] == invoice.total_cents == payment.amount_cents
    assert intent["currency"] == clinic.organization.currency.lower()
    assert intent["metadata"]["organization"] == str(clinic.organization.pk)
    assert len(balanced(taken.invoice)) == 2


def test_part_card_part_cash_takes_only_the_card_part_through_stripe(
    clinic: Clinic, fake: FakeStripe
) -> None:
    invoice = issued(clinic)
    taken = stripe_gateway.take_card_payment(
        invoice=invoice,
        amount_cents=invoice.total_cents - 5000,
        payment_method="pm_card_mastercard",
        other_tenders=[services.TenderIn(kind="cash", amount_cents=5000)],
        idempotency_key="split-1",
        actor=desk(clinic),
    )
    assert [(p.kind, p.gateway) for p in taken.payments] == [
        ("card", "stripe"),
        ("cash", "manual"),
    ]
    (charge,) = fake.posts_to("/v1/payment_intents")
    assert int(charge.params["amount"]) == invoice.total_cents - 5000
    assert taken.invoice.status == InvoiceStatus.PAID


def test_a_declined_card_is_explained_and_records_nothing(clinic: Clinic, fake: FakeStripe) -> None:
    invoice = issued(clinic)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as refused:
        stripe_gateway.take_card_payment(
            invoice=invoice,
            amount_cents=invoice.total_cents,
            payment_method="pm_card_chargeDeclined",
            idempotency_key="visit-1",
            actor=desk(clinic),
        )
    assert "declined" in refused.value.detail.lower()
    assert "card_declined" in refused.value.detail
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.paid_cents == 0
    assert not Payment.objects.filter(invoice=invoice).exists()
    assert AuditEvent.objects.count() == events
    assert len(balanced(invoice)) == 1  # the sale only, no payment entry


def test_a_replayed_payment_calls_stripe_once(clinic: Clinic, fake: FakeStripe) -> None:
    invoice = issued(clinic)
    pay = dict(
        invoice=invoice,
        amount_cents=invoice.total_cents,
        payment_method="pm_card_visa",
        idempotency_key="tablet-retry",
        actor=desk(clinic),
    )
    first = stripe_gateway.take_card_payment(**pay)
    again = stripe_gateway.take_card_payment(**pay)
    assert again.replayed and again.payments == first.payments
    assert len(fake.posts_to("/v1/payment_intents")) == 1
    assert len(fake.requests) == 1


def test_the_gateway_retried_with_the_same_key_charges_once(
    clinic: Clinic, fake: FakeStripe
) -> None:
    """A lost answer asked again (same key) is Stripe's stored answer, not a second charge."""
    from medspa.billing.gateways import CardRef, ChargeRequest

    gateway = stripe_gateway.StripeGateway()
    request = ChargeRequest(
        amount_cents=2500,
        currency="USD",
        tender="card",
        idempotency_key="k",
        organization_id=clinic.organization.pk,
        card=CardRef(payment_method="pm_card_visa"),
    )
    first = gateway.authorize(request)
    second = gateway.authorize(request)
    assert first == second and first.status == "captured"
    assert len(fake.requests) == 2 and len(fake.done) == 1
    assert fake.requests[0].idempotency_key == fake.requests[1].idempotency_key


def test_refund_through_stripe_in_part_then_the_rest(clinic: Clinic, fake: FakeStripe) -> None:
    invoice = issued(clinic)
    payment = stripe_gateway.take_card_payment(
        invoice=invoice,
        amount_cents=invoice.total_cents,
        payment_method="pm_card_visa",
        idempotency_key="visit-1",
        actor=desk(clinic),
    ).payments[0]
    manager = clinic.users[Role.MANAGER]
    for key, amount in (("r1", 3000), ("r2", invoice.total_cents - 3000)):
        refund_invoice(
            invoice=invoice,
            amount_cents=amount,
            method="original",
            reason="Bruising; goodwill",
            idempotency_key=key,
            actor=manager,
            payment_id=payment.pk,
        )
    refunds = [o for o in fake.objects.values() if o["object"] == "refund"]
    assert [r["amount"] for r in refunds] == [3000, invoice.total_cents - 3000]
    assert {r["payment_intent"] for r in refunds} == {payment.reference}
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REFUNDED
    with pytest.raises(Invalid):
        refund_invoice(
            invoice=invoice,
            amount_cents=1,
            method="original",
            reason="again",
            idempotency_key="r3",
            actor=manager,
            payment_id=payment.pk,
        )
    assert len(fake.posts_to("/v1/refunds")) == 2


def test_stripe_refusing_a_refund_changes_nothing(clinic: Clinic, fake: FakeStripe) -> None:
    gateway = stripe_gateway.StripeGateway()
    with pytest.raises(Invalid) as refused:
        gateway.refund(reference="pi_unknown", amount_cents=100, idempotency_key="x")
    assert "Stripe refused the request" in refused.value.detail


def test_a_card_on_file_needs_the_clients_consent(clinic: Clinic, fake: FakeStripe) -> None:
    setup = stripe_gateway.start_card_setup(client=clinic.client, actor=desk(clinic))
    stripe_gateway.stripe_client().v1.setup_intents.confirm(
        setup.setup_intent_id, {"payment_method": "pm_card_visa"}
    )
    for consent in ("", "   "):
        with pytest.raises(Invalid) as refused:
            stripe_gateway.save_card_on_file(
                client=clinic.client,
                setup_intent_id=setup.setup_intent_id,
                consent_text=consent,
                actor=desk(clinic),
            )
        assert "consent" in refused.value.detail.lower()
    assert not CardOnFile.objects.exists()


def test_a_saved_card_keeps_the_consent_and_who_recorded_it(
    clinic: Clinic, fake: FakeStripe
) -> None:
    card = card_saved(clinic)
    assert (card.brand, card.last4, card.exp_year) == ("visa", "4242", 2034)
    assert card.consent_text == CONSENT and card.consent_recorded_by == desk(clinic)
    assert card.stripe_payment_method_id.startswith("pm_")
    assert list(stripe_gateway.cards_on_file(clinic.client)) == [card]
    event = AuditEvent.objects.filter(action="billing.card_saved").get()
    assert CONSENT not in str(event.data) and event.data["last4"] == "4242"


def test_a_saved_card_is_charged_without_the_client_present(
    clinic: Clinic, fake: FakeStripe
) -> None:
    card = card_saved(clinic)
    invoice = issued(clinic)
    taken = stripe_gateway.take_card_payment(
        invoice=invoice,
        amount_cents=invoice.total_cents,
        card=card,
        idempotency_key="no-show-fee",
        actor=desk(clinic),
    )
    (charge,) = fake.posts_to("/v1/payment_intents")
    assert charge.params["off_session"] == "true"
    assert charge.params["customer"] == card.stripe_customer_id
    assert charge.params["payment_method"] == card.stripe_payment_method_id
    assert taken.invoice.status == InvoiceStatus.PAID


def test_a_removed_card_is_not_charged(clinic: Clinic, fake: FakeStripe) -> None:
    card = stripe_gateway.remove_card_on_file(card=card_saved(clinic), actor=desk(clinic))
    invoice = issued(clinic)
    with pytest.raises(Invalid):
        stripe_gateway.take_card_payment(
            invoice=invoice,
            amount_cents=invoice.total_cents,
            card=card,
            idempotency_key="k",
            actor=desk(clinic),
        )
    assert not fake.posts_to("/v1/payment_intents")
    assert not stripe_gateway.cards_on_file(clinic.client).exists()


def test_outsider_cards_are_never_reachable(
    clinic: Clinic, outsider: Clinic, fake: FakeStripe
) -> None:
    theirs = card_saved(outsider)
    with pytest.raises(NotFound):
        stripe_gateway.card_on_file_of(clinic.organization, theirs.pk)
    assert not stripe_gateway.cards_on_file(clinic.client).exists()
    invoice = issued(clinic)
    with pytest.raises(Invalid):
        stripe_gateway.take_card_payment(
            invoice=invoice,
            amount_cents=invoice.total_cents,
            card=theirs,
            idempotency_key="k",
            actor=desk(clinic),
        )
    assert not fake.posts_to("/v1/payment_intents")


def test_a_card_setup_for_another_clinics_client_cannot_be_saved_here(
    clinic: Clinic, outsider: Clinic, fake: FakeStripe
) -> None:
    setup = stripe_gateway.start_card_setup(client=outsider.client, actor=desk(outsider))
    stripe_gateway.stripe_client().v1.setup_intents.confirm(
        setup.setup_intent_id, {"payment_method": "pm_card_visa"}
    )
    with pytest.raises(Invalid):
        stripe_gateway.save_card_on_file(
            client=clinic.client,
            setup_intent_id=setup.setup_intent_id,
            consent_text=CONSENT,
            actor=desk(clinic),
        )
    assert not CardOnFile.objects.exists()


def test_an_unfinished_card_setup_is_not_saved(clinic: Clinic, fake: FakeStripe) -> None:
    setup = stripe_gateway.start_card_setup(client=clinic.client, actor=desk(clinic))
    with pytest.raises(Conflict):
        stripe_gateway.save_card_on_file(
            client=clinic.client,
            setup_intent_id=setup.setup_intent_id,
            consent_text=CONSENT,
            actor=desk(clinic),
        )


def test_without_stripe_settings_the_card_tender_is_the_terminal_and_stripe_is_not_called(
    clinic: Clinic, settings: Any
) -> None:
    settings.MEDSPA_STRIPE_SECRET_KEY = ""
    server = shared_fake()
    server.reset()
    card = tender_named("card")
    assert card is not None and card.gateway == "manual"
    invoice = issued(clinic)
    taken = services.record_payment(
        invoice=invoice,
        tenders=[services.TenderIn(kind="card", amount_cents=invoice.total_cents)],
        idempotency_key="terminal",
        actor=desk(clinic),
    )
    assert taken.payments[0].gateway == "manual"
    with pytest.raises(Conflict):
        stripe_gateway.start_card_setup(client=clinic.client, actor=desk(clinic))
    assert server.requests == []


def test_stripe_unreachable_is_a_clear_error(
    clinic: Clinic, fake: FakeStripe, settings: Any
) -> None:
    settings.MEDSPA_STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: nothing listens
    invoice = issued(clinic)
    with pytest.raises(Conflict) as refused:
        stripe_gateway.take_card_payment(
            invoice=invoice,
            amount_cents=invoice.total_cents,
            payment_method="pm_card_visa",
            idempotency_key="k",
            actor=desk(clinic),
        )
    assert "could not be reached" in refused.value.detail
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_a_role_without_checkout_cannot_keep_a_card(clinic: Clinic, fake: FakeStripe) -> None:
    from medspa.core.errors import Forbidden

    with pytest.raises(Forbidden):
        stripe_gateway.start_card_setup(client=clinic.client, actor=clinic.users[Role.PROVIDER])


@hsettings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=10_000_000))
def test_amounts_reach_stripe_as_the_same_whole_cents(amount: int) -> None:
    """Whatever the amount, Stripe is asked for exactly those cents, as an integer."""
    server = shared_fake()
    gateway = stripe_gateway.StripeGateway()
    from django.test import override_settings

    from medspa.billing.gateways import CardRef, ChargeRequest

    with override_settings(
        MEDSPA_STRIPE_SECRET_KEY="sk_test_medspa", MEDSPA_STRIPE_API_BASE=server.url
    ):
        result = gateway.authorize(
            ChargeRequest(
                amount_cents=amount,
                currency="USD",
                tender="card",
                idempotency_key=f"h-{uuid.uuid4().hex}",
                organization_id=1,
                card=CardRef(payment_method="pm_card_visa"),
            )
        )
    assert result.amount_cents == amount
    assert server.objects[result.reference]["amount"] == amount
