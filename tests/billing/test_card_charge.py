"""A card through Stripe is charged with no transaction open, then booked: a slow card network
never holds the books, a retry charges once, and a charge the books refuse is given back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from medspa.billing import services, stripe_gateway
from medspa.billing.gateways import CardRef, ChargeRequest, GatewayResult
from medspa.billing.models import InvoiceStatus, Payment
from medspa.billing.services import TenderIn
from medspa.core.errors import DomainError
from medspa.core.models import Role
from medspa.ledger.selectors import trial_balance
from tests.billing.card_helpers import keep_card, stripe_on
from tests.billing.fake_stripe import FakeStripe
from tests.billing.refund_helpers import issued
from tests.conftest import Clinic, build_clinic

__all__ = ["stripe_on"]


@pytest.fixture
def shop(transactional_db: None) -> Clinic:
    """A clinic whose every write commits, as at a real desk (no test transaction around)."""
    return build_clinic("Lumen")


@pytest.fixture
def in_transaction_at_charge(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether a database transaction was open each time Stripe was asked to charge."""
    seen: list[bool] = []
    original = stripe_gateway.StripeGateway.authorize

    def spy(self: Any, request: ChargeRequest) -> GatewayResult:
        seen.append(transaction.get_connection().in_atomic_block)
        return original(self, request)

    monkeypatch.setattr(stripe_gateway.StripeGateway, "authorize", spy)
    yield seen


def on_file(shop: Clinic, amount: int) -> TenderIn:
    card = keep_card(shop.client, shop.users[Role.FRONT_DESK])
    return TenderIn("card_on_file", amount, card=CardRef(card_on_file_id=card.pk))


def test_the_card_is_charged_outside_the_books_and_a_retry_books_it_once(
    shop: Clinic, stripe_on: FakeStripe, in_transaction_at_charge: list[bool]
) -> None:
    invoice = issued(shop, 10, shop.client)
    tender = on_file(shop, invoice.total_cents)
    key = uuid.uuid4().hex

    first = services.record_payment(
        invoice=invoice, tenders=[tender], idempotency_key=key, actor=None
    )
    again = services.record_payment(
        invoice=invoice, tenders=[tender], idempotency_key=key, actor=None
    )

    assert in_transaction_at_charge == [False]  # the replay never reached Stripe
    assert first.invoice.status == InvoiceStatus.PAID and again.replayed
    assert len(stripe_on.posts_to("/v1/payment_intents")) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_charge_the_books_refuse_is_given_back_before_the_refusal(
    shop: Clinic, stripe_on: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = issued(shop, 10, shop.client)
    tender = on_file(shop, invoice.total_cents)
    original = stripe_gateway.StripeGateway.authorize

    def desk_takes_cash_meanwhile(self: Any, request: ChargeRequest) -> GatewayResult:
        result = original(self, request)
        services.record_payment(
            invoice=invoice,
            tenders=[TenderIn("cash", invoice.total_cents)],
            idempotency_key=uuid.uuid4().hex,
            actor=None,
        )
        return result

    monkeypatch.setattr(stripe_gateway.StripeGateway, "authorize", desk_takes_cash_meanwhile)

    with pytest.raises(DomainError) as refused:
        services.record_payment(
            invoice=invoice, tenders=[tender], idempotency_key=uuid.uuid4().hex, actor=None
        )

    assert refused.value.code == "invoice_not_payable"  # the desk was paid meanwhile
    assert len(stripe_on.posts_to("/v1/refunds")) == 1  # the card's money went back
    assert list(Payment.objects.filter(invoice=invoice).values_list("kind", flat=True)) == ["cash"]
    books = trial_balance(shop.organization, None, None)
    assert books.debit_cents == books.credit_cents


def test_a_deposit_on_the_card_is_charged_outside_the_books_and_once(
    shop: Clinic, stripe_on: FakeStripe, in_transaction_at_charge: list[bool]
) -> None:
    from medspa.billing.deposit_models import DepositStatus
    from medspa.billing.deposits import take_deposit
    from tests.billing.deposit_helpers import deposit_of_visit, deposit_policy

    deposit_policy(shop)
    deposit = deposit_of_visit(shop.book(10, client=shop.client))
    card = keep_card(shop.client, shop.users[Role.FRONT_DESK])

    def take() -> None:
        take_deposit(
            deposit=deposit,
            tender="card_on_file",
            amount_cents=deposit.amount_cents,
            card=card,
            idempotency_key="deposit-try-1",
            actor=shop.users[Role.FRONT_DESK],
        )

    take()
    take()

    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.HELD
    assert in_transaction_at_charge == [False]
    assert len(stripe_on.posts_to("/v1/payment_intents")) == 1


@pytest.mark.parametrize("test_card", ["pm_card_visa", "pm_card_chargeDeclined"])
def test_a_confirmed_fee_is_charged_after_its_invoice_commits(
    shop: Clinic, stripe_on: FakeStripe, in_transaction_at_charge: list[bool], test_card: str
) -> None:
    from medspa.billing.deposit_models import FeeStatus, ProposedFee
    from medspa.billing.fees import confirm_fee
    from medspa.billing.models import Invoice, InvoiceStatus
    from tests.billing.deposit_helpers import cancel, deposit_policy
    from tests.billing.test_deposits_stripe import card_for

    deposit_policy(shop, deposit_kind="none")
    card = card_for(shop, shop.client, test_card)
    cancel(shop.book(10, client=shop.client), shop, hours_before=2)
    fee = ProposedFee.objects.get()

    def confirm() -> ProposedFee:
        return confirm_fee(
            fee=fee,
            actor=shop.users[Role.FRONT_DESK],
            method="card",
            card=card,
            idempotency_key="fee-1",
        )

    if test_card == "pm_card_visa":
        confirm()
        confirm()  # a double tap
        fee.refresh_from_db()
        assert fee.status == FeeStatus.CHARGED and fee.invoice is not None
        assert fee.invoice.status == InvoiceStatus.PAID
        assert len(stripe_on.posts_to("/v1/payment_intents")) == 1
    else:
        with pytest.raises(DomainError):
            confirm()
        fee.refresh_from_db()
        assert (fee.status, fee.invoice) == (FeeStatus.PROPOSED, None)
        assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.VOID}
    assert in_transaction_at_charge == [False]
    books = trial_balance(shop.organization, None, None)
    assert books.debit_cents == books.credit_cents
