"""Payment gateways: how a tender is taken. `manual` records what happened at the desk.

The protocol follows a card processor's payment intent: authorize (optionally capturing at
once), capture later, refund; each answers with the processor's reference. The `manual`
gateway touches no network: the cash is in the drawer, the cheque in hand, the external
terminal printed its slip; it only gives the tender a reference. The Stripe adapter
(`stripe_gateway.py`) implements the same methods on PaymentIntents.

A request says whose money it is (the organization) and, for a card tender, which card: a
card on file by its id, or a payment method a card reader or Stripe.js produced. A gateway
that takes no card (manual) ignores both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

GatewayStatus = Literal["authorized", "captured", "refunded", "failed", "requires_action"]


@dataclass(frozen=True)
class CardRef:
    """The card a tender charges: a card on file (our id), or a processor's payment method.

    Exactly one is given. A card on file is charged without the client at the terminal (as
    they consented when it was saved); a payment method is a card presented now.
    """

    card_on_file_id: int | None = None
    payment_method: str = ""

    def __post_init__(self) -> None:
        if (self.card_on_file_id is None) == (not self.payment_method):
            raise ValueError("Name one card: a card on file or a payment method.")


@dataclass(frozen=True)
class ChargeRequest:
    """One tender to take: whole cents in the organization's currency."""

    amount_cents: int
    currency: str
    tender: str
    idempotency_key: str
    # Whose money: scopes the processor's idempotency keys and any card on file looked up.
    organization_id: int
    description: str = ""
    # What the desk typed (cheque number, terminal slip).
    reference: str = ""
    capture: bool = True
    card: CardRef | None = None
    # The client the card must belong to (a card on file of anyone else is refused).
    client_id: int | None = None


@dataclass(frozen=True)
class GatewayResult:
    status: GatewayStatus
    reference: str
    amount_cents: int
    failure_reason: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status in ("authorized", "captured", "refunded")


class PaymentGateway(Protocol):
    """How a tender's money moves. Declines are results (status "failed" with a reason);
    a request that can never succeed (bad input, an unknown card) raises a DomainError."""

    name: str

    def authorize(self, request: ChargeRequest) -> GatewayResult:
        """Hold (or, with capture, take) the amount; the result names the processor's record."""
        ...

    def capture(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        """Take an authorized amount (at most what was held)."""
        ...

    def refund(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        """Give back part or all of a captured amount."""
        ...


class ManualGateway:
    """Cash, cheque, an external card terminal: the money moved at the desk, not through us."""

    name = "manual"

    def authorize(self, request: ChargeRequest) -> GatewayResult:
        reference = request.reference or f"manual-{uuid.uuid4().hex[:12]}"
        return GatewayResult(
            status="captured", reference=reference, amount_cents=request.amount_cents
        )

    def capture(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        return GatewayResult(status="captured", reference=reference, amount_cents=amount_cents)

    def refund(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        return GatewayResult(status="refunded", reference=reference, amount_cents=amount_cents)


_GATEWAYS: dict[str, PaymentGateway] = {"manual": ManualGateway()}


def register_gateway(gateway: PaymentGateway) -> None:
    _GATEWAYS[gateway.name] = gateway


def gateway_named(name: str) -> PaymentGateway:
    return _GATEWAYS[name]
