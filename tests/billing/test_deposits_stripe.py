"""Deposits and fees on the card on file, through Stripe's local fake: never the network."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from medspa.billing import stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.billing.deposit_models import Deposit, DepositStatus, FeeStatus, ProposedFee
from medspa.billing.deposits import refund_deposit, take_deposit
from medspa.billing.fees import confirm_fee
from medspa.core.errors import Conflict, Invalid
from medspa.core.models import Role
from tests.billing.deposit_helpers import cancel, deposit_of_visit, deposit_policy, ledger
from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.conftest import Clinic
from tests.factories import ClientFactory

CONSENT = "I agree that the clinic keeps this card and charges deposits and fees by its policy."


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeStripe]:
    server = shared_fake()
    server.reset()
    settings.MEDSPA_STRIPE_SECRET_KEY = "sk_test_medspa"
    settings.MEDSPA_STRIPE_API_BASE = server.url
    yield server


def card_for(clinic: Clinic, client: Any, test_card: str = "pm_card_visa") -> CardOnFile:
    desk = clinic.users[Role.FRONT_DESK]
    if test_card == "pm_card_chargeDeclined":
        # Saved when it still worked; it declines today (Stripe's fake refuses to set it up).
        return CardOnFile.objects.create(
            organization=clinic.organization,
            client=client,
            stripe_customer_id="cus_old",
            stripe_payment_method_id=test_card,
            brand="visa",
            last4="0002",
            consent_text=CONSENT,
        )
    setup = stripe_gateway.start_card_setup(client=client, actor=desk)
    stripe_gateway.stripe_client().v1.setup_intents.confirm(
        setup.setup_intent_id, {"payment_method": test_card}
    )
    return stripe_gateway.save_card_on_file(
        client=client, setup_intent_id=setup.setup_intent_id, consent_text=CONSENT, actor=desk
    )


def card_deposit(clinic: Clinic, fake: FakeStripe, test_card: str = "pm_card_visa") -> Deposit:
    deposit_policy(clinic)
    client = ClientFactory(organization=clinic.organization)
    visit = clinic.book(10, client=client)
    card = card_for(clinic, client, test_card)
    return take_deposit(
        deposit=deposit_of_visit(visit),
        tender="card",
        amount_cents=10000,
        card=card,
        idempotency_key="dep-card-1",
        actor=clinic.users[Role.FRONT_DESK],
    ).deposit


def test_the_deposit_is_charged_to_the_card_on_file_once(clinic: Clinic, fake: FakeStripe) -> None:
    deposit = card_deposit(clinic, fake)
    assert (deposit.status, deposit.gateway) == ("held", "stripe")
    intent = fake.objects[deposit.reference]
    assert (intent["amount"], intent["status"]) == (10000, "succeeded")
    again = take_deposit(
        deposit=deposit,
        tender="card",
        amount_cents=10000,
        card=deposit.card,
        idempotency_key="dep-card-1",
        actor=clinic.users[Role.FRONT_DESK],
    )
    assert again.replayed
    assert len(fake.posts_to("/v1/payment_intents")) == 1
    assert ledger(clinic)["card_clearing"] == 10000


def test_a_declined_card_leaves_the_deposit_due(clinic: Clinic, fake: FakeStripe) -> None:
    with pytest.raises(Conflict) as refused:
        card_deposit(clinic, fake, "pm_card_chargeDeclined")
    assert refused.value.code == "payment_declined"
    deposit = Deposit.objects.get()
    assert (deposit.status, deposit.paid_cents) == ("due", 0)
    assert ledger(clinic)["deposits_held"] == 0


def test_another_client_s_card_is_refused(clinic: Clinic, fake: FakeStripe) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    stranger = card_for(clinic, ClientFactory(organization=clinic.organization))
    with pytest.raises(Invalid):
        take_deposit(
            deposit=deposit_of_visit(visit),
            tender="card",
            amount_cents=10000,
            card=stranger,
            idempotency_key=uuid.uuid4().hex,
            actor=clinic.users[Role.FRONT_DESK],
        )


def test_a_timely_cancellation_refunds_the_card_after_it_commits(
    clinic: Clinic, fake: FakeStripe, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    deposit = card_deposit(clinic, fake)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        cancel(deposit.appointment, clinic, hours_before=30)
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.REFUND_DUE
    assert not fake.posts_to("/v1/refunds")  # nothing leaves before the cancellation commits
    for callback in pending:
        callback()
    for callback in pending:  # run twice: Stripe still sees one refund
        callback()
    deposit.refresh_from_db()
    assert (deposit.status, deposit.refunded_cents) == ("refunded", 10000)
    (refund,) = fake.posts_to("/v1/refunds")
    assert refund.params["payment_intent"] == deposit.reference
    assert ledger(clinic)["deposits_held"] == ledger(clinic)["card_clearing"] == 0


def test_a_failed_card_refund_waits_to_be_retried_and_is_never_lost(
    clinic: Clinic,
    fake: FakeStripe,
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    deposit = card_deposit(clinic, fake)
    settings.MEDSPA_STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable
    with django_capture_on_commit_callbacks(execute=True):
        cancel(deposit.appointment, clinic, hours_before=30)
    deposit.refresh_from_db()
    assert (deposit.status, deposit.refund_attempts) == ("refund_due", 1)
    assert deposit.refund_error
    assert ledger(clinic)["deposits_held"] == 10000
    settings.MEDSPA_STRIPE_API_BASE = fake.url
    refund_deposit(deposit=deposit, actor=clinic.users[Role.FRONT_DESK])
    deposit.refresh_from_db()
    assert deposit.status == "refunded" and len(fake.posts_to("/v1/refunds")) == 1


def test_a_confirmed_fee_is_charged_to_the_card_on_file(clinic: Clinic, fake: FakeStripe) -> None:
    deposit_policy(clinic, deposit_kind="none")
    client = ClientFactory(organization=clinic.organization)
    card = card_for(clinic, client)
    cancel(clinic.book(10, client=client), clinic, hours_before=2)
    fee = ProposedFee.objects.get()
    assert not fake.posts_to("/v1/payment_intents")  # nothing charged before a person says so
    confirmed = confirm_fee(
        fee=fee, actor=clinic.users[Role.FRONT_DESK], method="card", idempotency_key="fee-1"
    )
    assert (confirmed.status, confirmed.card) == (FeeStatus.CHARGED, card)
    assert confirmed.invoice is not None and confirmed.invoice.status == "paid"
    (charge,) = fake.posts_to("/v1/payment_intents")
    assert int(charge.params["amount"]) == 5000
    assert charge.params["off_session"] == "true"
    books = ledger(clinic)
    assert (books["fees"], books["card_clearing"], books["accounts_receivable"]) == (5000, 5000, 0)


def test_a_declined_fee_charge_leaves_it_proposed(clinic: Clinic, fake: FakeStripe) -> None:
    deposit_policy(clinic, deposit_kind="none")
    client = ClientFactory(organization=clinic.organization)
    card_for(clinic, client, "pm_card_chargeDeclined")
    cancel(clinic.book(10, client=client), clinic, hours_before=2)
    fee = ProposedFee.objects.get()
    with pytest.raises(Conflict):
        confirm_fee(
            fee=fee, actor=clinic.users[Role.FRONT_DESK], method="card", idempotency_key="fee-1"
        )
    fee.refresh_from_db()
    assert (fee.status, fee.invoice) == ("proposed", None)
    assert ledger(clinic)["fees"] == 0


def test_stripe_s_webhook_recognises_a_deposit_payment(clinic: Clinic, fake: FakeStripe) -> None:
    from medspa.billing.webhooks import process_event

    deposit = card_deposit(clinic, fake)
    event = {
        "id": "evt_deposit_1",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": deposit.reference, "metadata": {}}},
    }
    stored, new = process_event(event)
    assert new and stored.outcome == "deposit confirmed"
    assert stored.organization == clinic.organization


def test_after_a_decline_the_panel_offers_a_fresh_try_and_another_card_pays(
    clinic: Clinic, fake: FakeStripe
) -> None:
    from django.test import Client as HttpClient

    deposit_policy(clinic)
    client = ClientFactory(organization=clinic.organization)
    visit = clinic.book(10, client=client)
    declining = card_for(clinic, client, "pm_card_chargeDeclined")
    working = card_for(clinic, client)
    desk = HttpClient()
    desk.force_login(clinic.users[Role.FRONT_DESK])
    url = f"/appointments/{visit.pk}/deposit/take"
    form = {"tender": "card", "amount": "100.00", "idempotency_key": "try-1"}

    refused = desk.post(url, {**form, "card": declining.pk})
    assert refused.status_code == 422
    assert 'value="try-1"' not in refused.content.decode()  # a new key for the next try
    paid = desk.post(url, {**form, "idempotency_key": "try-2", "card": working.pk})

    assert paid.status_code == 200
    assert Deposit.objects.get().status == DepositStatus.HELD


def test_a_deposit_refunded_in_stripe_s_dashboard_is_flagged_not_confirmed(
    clinic: Clinic, fake: FakeStripe
) -> None:
    from medspa.billing.webhooks import process_event

    deposit = card_deposit(clinic, fake)
    refunded_at_stripe = {
        "id": "evt_dash",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "payment_intent": deposit.reference,
                "amount_refunded": deposit.paid_cents,
            }
        },
    }

    stored, new = process_event(refunded_at_stripe)

    assert new and stored.outcome == "deposit refunded at Stripe, not yet in the books"
    assert stored.organization == clinic.organization
