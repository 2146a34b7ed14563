"""Card payments through Stripe: PaymentIntents, refunds, and cards on file via SetupIntents.

Configured by settings: `MEDSPA_STRIPE_SECRET_KEY` switches it on (without it the `card`
tender is the clinic's own terminal and nothing calls Stripe); `MEDSPA_STRIPE_API_BASE`
points the SDK elsewhere (a local fake in tests). Every write to Stripe carries an
idempotency key, so a retried request never charges twice. Amounts are whole cents.

A card payment needs a card: the tender names it (`TenderIn.card`: a card on file, or a
payment method the card reader or Stripe.js produced) and `record_payment` hands it to the
gateway in the ChargeRequest, with the organization and the invoice's client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import stripe
from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.utils import timezone

from medspa.billing.card_models import CardOnFile
from medspa.billing.gateways import CardRef, ChargeRequest, GatewayResult, register_gateway
from medspa.billing.models import Invoice
from medspa.billing.tenders import Tender, register_tender
from medspa.clients.models import Client
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid
from medspa.core.models import Organization, User
from medspa.core.permissions import require
from medspa.core.selectors import get_owned

CONSENT_LIMIT = 4000
logger = logging.getLogger(__name__)


def configured() -> bool:
    return bool(getattr(settings, "MEDSPA_STRIPE_SECRET_KEY", ""))


def publishable_key() -> str:
    """The key Stripe.js uses in the browser (safe to show; it can only collect cards)."""
    return str(getattr(settings, "MEDSPA_STRIPE_PUBLISHABLE_KEY", "") or "")


def not_set_up() -> Conflict:
    return Conflict(
        "Card payments are not set up (no Stripe key): take the card on the clinic's terminal.",
        [FieldError("card", "Stripe is not set up.")],
        code="stripe_not_configured",
    )


def require_configured() -> None:
    if not configured():
        raise not_set_up()


STRIPE_TIMEOUT_SECONDS = (5, 20)  # (connect, read), whole seconds


def stripe_client() -> stripe.StripeClient:
    """A client per call: settings may change (tests), and no global `stripe.api_base` leaks."""
    require_configured()
    base = getattr(settings, "MEDSPA_STRIPE_API_BASE", "")
    return stripe.StripeClient(
        settings.MEDSPA_STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else None,
        # Retries reuse the idempotency key, so a lost answer is asked again, never re-charged.
        max_network_retries=2,
        # Connect and read limits well under the SDK's 80 s: the desk hears "try again" (the
        # same key charges once) rather than waiting, and no worker pass stalls on one card.
        http_client=stripe.new_default_http_client(timeout=STRIPE_TIMEOUT_SECONDS),
    )


def _refused(error: stripe.StripeError, *, field: str = "card") -> Exception:
    """Stripe's error as the desk should read it; raising it rolls the payment back."""
    message = error.user_message or str(getattr(error, "_message", "") or error)
    if isinstance(error, stripe.CardError):
        return Conflict(
            f"The card was declined: {message}",
            [FieldError(field, "Declined.")],
            code="card_declined",
        )
    if isinstance(error, stripe.IdempotencyError):
        return Invalid.on(
            "Idempotency-Key",
            "This Idempotency-Key was already used with a different card request.",
            code="idempotency_key_reused",
        )
    if isinstance(error, stripe.InvalidRequestError):
        return Invalid.on(field, f"Stripe refused the request: {message}", code="stripe_refused")
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return Conflict(
            "Stripe refused the clinic's API key; an owner should check the Stripe settings. "
            "Nothing was charged.",
            [FieldError(field, "Stripe is not reachable with this key.")],
            code="stripe_auth",
        )
    return Conflict(
        "Stripe could not be reached. Try again: the same request is never charged twice.",
        [FieldError(field, "Try again.")],
        code="stripe_unavailable",
    )


def _decline_reason(error: stripe.CardError) -> str:
    reason = error.user_message or "the card was declined."
    # With the issuer's reason (insufficient_funds, expired_card) when Stripe gives one.
    codes = [getattr(error, "code", None), error.error.decline_code if error.error else None]
    detail = ": ".join(c for c in codes if c)
    return f"{reason} ({detail})" if detail else reason


# --- the gateway --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Card:
    """The card a PaymentIntent is confirmed with, as Stripe names it."""

    payment_method: str
    customer: str = ""
    # A card on file is charged without the client entering it (they consented to that).
    off_session: bool = False
    card_on_file_id: int | None = None


def _card_of(request: ChargeRequest) -> _Card:
    """The request's card; a card on file only of its organization (and client), and active."""
    assert request.card is not None
    if request.card.card_on_file_id is None:
        return _Card(payment_method=request.card.payment_method.strip())
    cards = CardOnFile.objects.filter(
        organization_id=request.organization_id, pk=request.card.card_on_file_id
    )
    if request.client_id is not None:
        cards = cards.filter(client_id=request.client_id)
    card = cards.first()
    if card is None:
        raise Invalid.on("card", "That card is not on file for this client.", code="card_unknown")
    if not card.is_active:
        raise Invalid.on("card", f"The {card} was removed from file.", code="card_removed")
    return _Card(
        payment_method=card.stripe_payment_method_id,
        customer=card.stripe_customer_id,
        off_session=True,
        card_on_file_id=card.pk,
    )


_STATUS = {
    "succeeded": "captured",
    "requires_capture": "authorized",
    "requires_action": "requires_action",
}


class StripeGateway:
    name = "stripe"

    def authorize(self, request: ChargeRequest) -> GatewayResult:
        if request.card is None:
            raise Invalid.on(
                "card", "Say which card: a card on file or the card reader's.", code="card_missing"
            )
        if not isinstance(request.amount_cents, int) or request.amount_cents <= 0:
            raise Invalid.on("amount_cents", "Give a positive whole number of cents.")
        if request.tender == "card_on_file" and request.card.card_on_file_id is None:
            raise Invalid.on("card", "Choose one of the client's cards on file.")
        source = _card_of(request)
        metadata = {"organization": str(request.organization_id), "tender": request.tender}
        if request.client_id is not None:
            metadata["client"] = str(request.client_id)
        if source.card_on_file_id is not None:
            metadata["card_on_file"] = str(source.card_on_file_id)
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": request.currency.lower(),
            "payment_method": source.payment_method,
            "payment_method_types": ["card"],
            "confirm": True,
            "capture_method": "automatic" if request.capture else "manual",
            "description": request.description,
            "metadata": metadata,
        }
        if source.customer:
            params["customer"] = source.customer
        if source.off_session:
            params["off_session"] = True
        # Keys are the desk's; prefixed by the organization so two clinics never share one.
        key = f"medspa-{request.organization_id}-pay-{request.idempotency_key}"
        try:
            intent = stripe_client().v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            )
        except stripe.CardError as error:
            return GatewayResult(
                status="failed",
                reference="",
                amount_cents=request.amount_cents,
                failure_reason=_decline_reason(error),
            )
        except stripe.StripeError as error:
            raise _refused(error) from error
        status = _STATUS.get(intent.status)
        if status == "requires_action":
            return GatewayResult(
                status="requires_action",
                reference=intent.id,
                amount_cents=request.amount_cents,
                failure_reason="the card asks the client to confirm it (3-D Secure).",
            )
        if status is None:
            return GatewayResult(
                status="failed",
                reference=intent.id,
                amount_cents=request.amount_cents,
                failure_reason=f"Stripe left the payment {intent.status}.",
            )
        return GatewayResult(status=status, reference=intent.id, amount_cents=request.amount_cents)  # type: ignore[arg-type]

    def capture(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        try:
            intent = stripe_client().v1.payment_intents.capture(
                reference,
                {"amount_to_capture": amount_cents},
                # Scoped by the PaymentIntent, which belongs to one clinic: clinics share the
                # one Stripe account's key space, and their own keys may coincide.
                {"idempotency_key": f"medspa-capture-{reference}-{idempotency_key}"},
            )
        except stripe.StripeError as error:
            raise _refused(error) from error
        return GatewayResult(
            status="captured", reference=intent.id, amount_cents=intent.amount_received
        )

    def refund(self, *, reference: str, amount_cents: int, idempotency_key: str) -> GatewayResult:
        """Give back part or all of a PaymentIntent (its id is the payment's reference)."""
        if not isinstance(amount_cents, int) or amount_cents <= 0:
            raise Invalid.on("amount_cents", "Give a positive whole number of cents.")
        try:
            refund = stripe_client().v1.refunds.create(
                {"payment_intent": reference, "amount": amount_cents},
                # Scoped by the PaymentIntent (one clinic's), as capture is.
                {"idempotency_key": f"medspa-refund-{reference}-{idempotency_key}"},
            )
        except stripe.StripeError as error:
            raise _refused(error, field="amount_cents") from error
        if refund.status not in ("succeeded", "pending"):
            return GatewayResult(
                status="failed",
                reference=refund.id,
                amount_cents=amount_cents,
                failure_reason=f"Stripe answered the refund {refund.status}.",
            )
        return GatewayResult(status="refunded", reference=refund.id, amount_cents=refund.amount)


register_gateway(StripeGateway())


def register_card_tender() -> None:
    """`card` goes through Stripe when it is set up, else it is the clinic's own terminal."""
    if configured():
        register_tender(
            Tender("card", "Card", account="card_clearing", gateway="stripe", takes_card=True)
        )
    else:
        register_tender(Tender("card", "Card (terminal)", account="card_clearing"))


def _stripe_set_up(invoice: Invoice, amount_cents: int) -> None:
    require_configured()


register_card_tender()
# A card on file is always a known tender, so a clinic without Stripe hears why it cannot
# be used (409 stripe_not_configured) rather than that it does not exist.
register_tender(
    Tender(
        "card_on_file",
        "Card on file",
        account="card_clearing",
        gateway="stripe",
        check=_stripe_set_up,
        takes_card=True,
    )
)


@receiver(setting_changed)
def _stripe_setting_changed(*, setting: str, **_: Any) -> None:
    if setting == "MEDSPA_STRIPE_SECRET_KEY":
        register_card_tender()


# --- cards on file ------------------------------------------------------------------------


def cards_on_file(client: Client) -> QuerySet[CardOnFile]:
    """The client's usable cards, newest first."""
    return CardOnFile.objects.filter(
        organization_id=client.organization_id, client=client, is_active=True
    )


def card_history(client: Client) -> QuerySet[CardOnFile]:
    """Every card the client kept with us, removed ones too: usable ones first, then newest."""
    return (
        CardOnFile.objects.filter(organization_id=client.organization_id, client=client)
        .select_related("consent_recorded_by")
        .order_by("-is_active", "-created_at", "-id")
    )


def card_expired(card: CardOnFile, today: date) -> bool:
    """A card works to the last day of its expiry month."""
    if card.exp_year is None or card.exp_month is None:
        return False
    return (card.exp_year, card.exp_month) < (today.year, today.month)


def card_on_file_of(organization: Organization, pk: Any) -> CardOnFile:
    """One card of the organization, or 404 (another clinic's card is never reachable)."""
    return get_owned(
        CardOnFile.objects.select_related("client"),
        organization=organization,
        pk=pk,
        field="card",
        label="card on file",
    )


@dataclass(frozen=True)
class CardSetup:
    """What the card form (Stripe.js) needs to collect the card for the client."""

    customer_id: str
    setup_intent_id: str
    client_secret: str


def _metadata(client: Client) -> dict[str, str]:
    return {"organization": str(client.organization_id), "client": str(client.pk)}


def _customer_for(client: Client) -> str:
    earlier = (
        CardOnFile.objects.filter(organization_id=client.organization_id, client=client)
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    if earlier:
        return earlier
    try:
        customer = stripe_client().v1.customers.create(
            {"name": str(client), "metadata": _metadata(client)},
            {"idempotency_key": f"medspa-{client.organization_id}-customer-{client.pk}"},
        )
    except stripe.StripeError as error:
        raise _refused(error) from error
    return customer.id


def start_card_setup(*, client: Client, actor: User) -> CardSetup:
    """Open a SetupIntent: the card is typed by the client into Stripe's form, never ours."""
    require(actor, "billing.cards")
    customer = _customer_for(client)
    try:
        params: dict[str, Any] = {
            "customer": customer,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": _metadata(client),
        }
        intent = stripe_client().v1.setup_intents.create(params)  # type: ignore[arg-type]
    except stripe.StripeError as error:
        raise _refused(error) from error
    return CardSetup(
        customer_id=customer, setup_intent_id=intent.id, client_secret=intent.client_secret or ""
    )


def save_card_on_file(
    *, client: Client, setup_intent_id: str, consent_text: str, actor: User
) -> CardOnFile:
    """Keep the card the client set up, with the consent they gave; refused without it."""
    require(actor, "billing.cards")
    consent = (consent_text or "").strip()
    if not consent:
        raise Invalid.on(
            "consent_text",
            "Record the client's consent to keep and charge this card before saving it.",
            code="consent_required",
        )
    if len(consent) > CONSENT_LIMIT:
        raise Invalid.on("consent_text", f"Keep the consent under {CONSENT_LIMIT} characters.")
    reference = (setup_intent_id or "").strip()
    if not reference.startswith("seti_"):
        raise Invalid.on("setup_intent_id", "Give the card setup's id (it starts with seti_).")
    try:
        intent = stripe_client().v1.setup_intents.retrieve(reference)
    except stripe.StripeError as error:
        raise _refused(error, field="setup_intent_id") from error
    metadata = intent.metadata.to_dict() if intent.metadata else {}
    if metadata != _metadata(client):
        # A setup started for someone else (or another clinic) never lands on this client.
        raise Invalid.on("setup_intent_id", f"This card setup was not started for {client}.")
    if intent.status != "succeeded" or not intent.payment_method:
        raise Conflict(
            "The card is not set up yet: the client has not finished entering it.",
            [FieldError("setup_intent_id", f"Card setup is {intent.status}.")],
            code="card_setup_incomplete",
        )
    method_id = (
        intent.payment_method
        if isinstance(intent.payment_method, str)
        else intent.payment_method.id
    )
    try:
        method = stripe_client().v1.payment_methods.retrieve(method_id)
    except stripe.StripeError as error:
        raise _refused(error, field="setup_intent_id") from error
    card = method.card
    with transaction.atomic():
        saved, created = CardOnFile.objects.get_or_create(
            organization_id=client.organization_id,
            stripe_payment_method_id=method.id,
            defaults={
                "client": client,
                "stripe_customer_id": str(intent.customer or ""),
                "brand": card.brand if card else "",
                "last4": card.last4 if card else "",
                "exp_month": card.exp_month if card else None,
                "exp_year": card.exp_year if card else None,
                "consent_text": consent,
                "consented_at": timezone.now(),
                "consent_recorded_by": actor,
            },
        )
        if created:
            record_event(
                organization=client.organization,
                actor=actor,
                action="billing.card_saved",
                object_type="card_on_file",
                object_id=saved.pk,
                data={"client": client.pk, "brand": saved.brand, "last4": saved.last4},
            )
    return saved


def _detach(payment_method: str) -> None:
    """Take the card off the Stripe customer too; our row already stops every charge."""
    try:
        stripe_client().v1.payment_methods.detach(payment_method)
    except (stripe.StripeError, Conflict) as error:
        logger.warning("Stripe kept %s attached (%s); it is never charged.", payment_method, error)


def remove_card_on_file(*, card: CardOnFile, actor: User) -> CardOnFile:
    """Stop charging the card (the consent and its record stay, for the history).

    When Stripe is set up the card is also detached from the client's Stripe customer once
    the removal is committed; if Stripe cannot be reached then, the removal stands.
    """
    require(actor, "billing.cards")
    with transaction.atomic():
        current = CardOnFile.objects.select_for_update(of=("self",)).get(pk=card.pk)
        if current.is_active:
            current.is_active = False
            current.save(update_fields=["is_active"])
            record_event(
                organization=current.client.organization,
                actor=actor,
                action="billing.card_removed",
                object_type="card_on_file",
                object_id=current.pk,
                data={"client": current.client_id},
            )
            if configured():
                method = current.stripe_payment_method_id
                transaction.on_commit(lambda: _detach(method))
    return current


def take_card_payment(
    *,
    invoice: Invoice,
    amount_cents: int,
    idempotency_key: str,
    actor: User,
    card: CardOnFile | None = None,
    payment_method: str = "",
    other_tenders: Sequence[Any] = (),
) -> Any:
    """Pay an invoice by card through Stripe (with, optionally, other tenders alongside).

    The card is the client's card on file (charged off-session, as they consented) or a
    payment method the card reader produced. Returns record_payment's PaymentTaken.
    """
    from medspa.billing.services import TenderIn, record_payment

    require(actor, "billing.checkout")
    require_configured()
    if (card is None) == (not payment_method):
        raise Invalid.on("card", "Choose one card: a card on file or the card reader's.")
    if card is not None and (
        card.organization_id != invoice.organization_id or card.client_id != invoice.client_id
    ):
        raise Invalid.on("card", "That card is not on file for this invoice's client.")
    if card is not None:
        tender = TenderIn(
            kind="card_on_file", amount_cents=amount_cents, card=CardRef(card_on_file_id=card.pk)
        )
    else:
        tender = TenderIn(
            kind="card", amount_cents=amount_cents, card=CardRef(payment_method=payment_method)
        )
    return record_payment(
        invoice=invoice,
        tenders=[tender, *other_tenders],
        idempotency_key=idempotency_key,
        actor=actor,
    )
