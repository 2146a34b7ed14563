"""Helpers of the payment-plan tests: a card on file, a scripted card gateway, a clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection

from medspa.billing import gateways, stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.billing.gateways import ChargeRequest, GatewayResult
from medspa.billing.models import Invoice
from medspa.billing.tenders import Tender, register_tender, tender_named
from medspa.clients.models import Client
from tests.billing.refund_helpers import issued
from tests.conftest import Clinic

CONSENT = (
    "I agree that Lumen Aesthetics keeps this card on file and charges it for the instalments "
    "of my payment plan on their dates."
)


def card_on_file(
    clinic: Clinic, client: Client | None = None, pm: str = "pm_card_visa"
) -> CardOnFile:
    """A card the client consented to keep on file (as save_card_on_file leaves it)."""
    whose = client or clinic.client
    return CardOnFile.objects.create(
        organization=clinic.organization,
        client=whose,
        stripe_customer_id=f"cus_{whose.pk}",
        stripe_payment_method_id=f"{pm}_{whose.pk}_{CardOnFile.objects.count()}",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2034,
        consent_text=CONSENT,
    )


def owing(clinic: Clinic, hour: int = 10) -> Invoice:
    """An issued 450.00 invoice of the clinic's client, nothing paid."""
    return issued(clinic, hour, client=clinic.client)


def today(invoice: Invoice, now: datetime) -> date:
    return now.astimezone(invoice.location.zone).date()


def local(invoice: Invoice, day: date, hour: int = 11) -> datetime:
    """A moment on a local day at the invoice's location."""
    return datetime.combine(day, time(hour), tzinfo=invoice.location.zone)


def later(moment: datetime, **delta: Any) -> datetime:
    return moment + timedelta(**delta)


@dataclass
class Call:
    key: str
    amount_cents: int
    payment_method: str
    off_session: bool
    in_transaction: bool


@dataclass
class ScriptedGateway:
    """A card gateway that answers as told and, like Stripe, once per idempotency key.

    `declines` is the set of payment methods that decline; `unreachable` makes the next
    calls raise as a network failure would. `charged` counts real charges (not replays).
    """

    name: str = "stripe"
    declines: set[str] = field(default_factory=set)
    unreachable: int = 0
    # With `unreachable`: Stripe took the money, and only its answer was lost.
    charge_before_failing: bool = False
    calls: list[Call] = field(default_factory=list)
    answers: dict[str, GatewayResult] = field(default_factory=dict)
    refunds: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def charged(self) -> list[GatewayResult]:
        return [a for a in self.answers.values() if a.status == "captured"]

    def authorize(self, request: ChargeRequest) -> GatewayResult:
        assert request.card is not None and request.card.card_on_file_id is not None, (
            "a plan always charges a card on file"
        )
        card = CardOnFile.objects.get(pk=request.card.card_on_file_id)
        source = Call(
            key="",
            amount_cents=0,
            payment_method=card.stripe_payment_method_id,
            off_session=True,  # a card on file is charged without the client present
            in_transaction=False,
        )
        self.calls.append(
            Call(
                key=request.idempotency_key,
                amount_cents=request.amount_cents,
                payment_method=source.payment_method,
                off_session=source.off_session,
                in_transaction=connection.in_atomic_block,
            )
        )
        if self.unreachable:
            self.unreachable -= 1
            from medspa.core.errors import Conflict

            if self.charge_before_failing and request.idempotency_key not in self.answers:
                self.answers[request.idempotency_key] = GatewayResult(
                    status="captured",
                    reference=f"pi_{len(self.answers) + 1}",
                    amount_cents=request.amount_cents,
                )
            raise Conflict("Stripe could not be reached.", code="stripe_unavailable")
        if request.idempotency_key in self.answers:
            return self.answers[request.idempotency_key]
        if source.payment_method in self.declines:
            answer = GatewayResult(
                status="failed",
                reference="",
                amount_cents=request.amount_cents,
                failure_reason="Your card has insufficient funds. (card_declined)",
            )
        else:
            answer = GatewayResult(
                status="captured",
                reference=f"pi_{len(self.answers) + 1}",
                amount_cents=request.amount_cents,
            )
        self.answers[request.idempotency_key] = answer
        return answer

    def capture(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        raise AssertionError("plans capture at once")

    def refund(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        self.refunds.append((reference, amount_cents, idempotency_key))
        return GatewayResult(
            status="refunded", reference=f"re_{reference}", amount_cents=amount_cents
        )


def scripted_gateway() -> Iterator[ScriptedGateway]:
    """The card tender charged through a scripted gateway in Stripe's place (a fixture body)."""
    fake = ScriptedGateway()
    gateways.register_gateway(fake)
    register_tender(Tender("card", "Card", account="card_clearing", gateway="stripe"))
    on_file = tender_named("card_on_file")
    assert on_file is not None
    # The fake stands in for a configured Stripe: no "is Stripe set up?" check on the tender.
    register_tender(replace(on_file, check=None))
    yield fake
    register_tender(on_file)
    gateways.register_gateway(stripe_gateway.StripeGateway())
    stripe_gateway.register_card_tender()


def their_plan_ids(theirs: Clinic) -> dict[str, int]:
    """Another organization's payment plan and its open follow-up, for the tenancy walk."""
    from medspa.billing.plan_models import PaymentFollowUp, PaymentPlan

    invoice = owing(theirs, 16)
    plan = PaymentPlan.objects.create(
        organization=theirs.organization,
        invoice=invoice,
        client=invoice.client,
        card=card_on_file(theirs),
        status="failed",
        cadence="monthly",
        total_cents=invoice.balance_cents,
        instalment_count=2,
    )
    follow_up = PaymentFollowUp.objects.create(
        organization=theirs.organization,
        plan=plan,
        invoice=invoice,
        client=invoice.client,
        amount_cents=invoice.balance_cents,
        reason="Instalment 1 declined 3 times: insufficient funds.",
    )
    return {"plan": plan.pk, "follow_up": follow_up.pk}
