"""Cards on file over the API: list, set up (Stripe's SetupIntent), save with consent, remove.

The card itself is typed into Stripe's form (Stripe.js) and never reaches us: setting up
answers the SetupIntent's client secret and the publishable key the form needs; saving
names the confirmed SetupIntent and the consent the client agreed to. A record is looked up
in the caller's organization before anything else, so another clinic's id answers 404;
then the role (403); then whether Stripe is set up (409 `stripe_not_configured`). Listing
and removing work without Stripe: the history stays readable and a client's request to
take a card off file is always honoured.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from medspa.billing import stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.billing.gateways import CardRef
from medspa.clients.models import Client
from medspa.core.errors import Invalid
from medspa.core.models import Organization
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, ShortText, Staff, staff

router = Router(tags=["billing"])

# A client keeps a handful of cards; the list is bounded all the same.
MAX_CARDS = 100


class CardOut(Schema):
    id: int
    client: int
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    expired: bool
    consent_text: str
    consented_at: datetime
    consent_recorded_by: str
    active: bool
    created_at: datetime

    @staticmethod
    def resolve_client(obj: CardOnFile) -> int:
        return obj.client_id

    @staticmethod
    def resolve_expired(obj: CardOnFile) -> bool:
        return stripe_gateway.card_expired(obj, timezone.localdate())

    @staticmethod
    def resolve_consent_recorded_by(obj: CardOnFile) -> str:
        who = obj.consent_recorded_by
        return (who.full_name or who.email) if who is not None else ""

    @staticmethod
    def resolve_active(obj: CardOnFile) -> bool:
        return obj.is_active


class CardSetupOut(Schema):
    setup_intent_id: str
    client_secret: str
    publishable_key: str
    customer_id: str


class CardIn(Schema):
    setup_intent_id: ShortText
    # The words the client read and agreed to, kept as the proof of a later charge.
    consent_text: str = ""


def _caller(request: HttpRequest) -> Staff:
    """Any staff member; the action is checked once the record is known to be theirs."""
    return staff(request, "schedule.view")


def _client(who: Staff, client_id: int) -> Client:
    return get_owned(Client, organization=who.organization, pk=client_id, field="client")


def card_ref(
    organization: Organization, *, index: int, card: int | None, payment_method: str
) -> CardRef | None:
    """The card a payment's tender names: a card on file of the organization (else 404)."""
    method = payment_method.strip()
    if card is not None and method:
        raise Invalid.on(f"tenders.{index}.card", "Name a card on file or a payment method.")
    if card is not None:
        found = get_owned(
            CardOnFile, organization=organization, pk=card, field=f"tenders.{index}.card"
        )
        return CardRef(card_on_file_id=found.pk)
    return CardRef(payment_method=method) if method else None


@router.get("/clients/{client_id}/cards", response=ListOut[CardOut])
def list_cards(request: HttpRequest, client_id: int) -> dict[str, object]:
    """The client's cards on file, usable ones first; removed ones stay, for the history."""
    who = _caller(request)
    client = _client(who, client_id)
    require(who.user, "billing.view")
    items = list(stripe_gateway.card_history(client)[:MAX_CARDS])
    return {"items": items, "count": len(items)}


@router.post("/clients/{client_id}/cards/setup", response={201: CardSetupOut})
def start_setup(request: HttpRequest, client_id: int) -> Status[CardSetupOut]:
    """Start a card setup: Stripe.js collects the card with the answered client secret."""
    who = _caller(request)
    client = _client(who, client_id)
    require(who.user, "billing.cards")
    stripe_gateway.require_configured()
    setup = stripe_gateway.start_card_setup(client=client, actor=who.user)
    return Status(
        201,
        CardSetupOut(
            setup_intent_id=setup.setup_intent_id,
            client_secret=setup.client_secret,
            publishable_key=stripe_gateway.publishable_key(),
            customer_id=setup.customer_id,
        ),
    )


@router.post("/clients/{client_id}/cards", response={201: CardOut})
def save_card(request: HttpRequest, client_id: int, payload: CardIn) -> Status[CardOnFile]:
    """Keep the card of a confirmed setup, with the consent text; refused without consent.

    Saving the same setup again answers the card already kept (nothing is added twice).
    """
    who = _caller(request)
    client = _client(who, client_id)
    require(who.user, "billing.cards")
    stripe_gateway.require_configured()
    card = stripe_gateway.save_card_on_file(
        client=client,
        setup_intent_id=payload.setup_intent_id,
        consent_text=payload.consent_text,
        actor=who.user,
    )
    return Status(201, card)


@router.delete("/cards/{card_id}", response=CardOut)
def remove_card(request: HttpRequest, card_id: int) -> CardOnFile:
    """Take a card off file: never charged again; the card and its consent stay on record."""
    who = _caller(request)
    card = stripe_gateway.card_on_file_of(who.organization, card_id)
    require(who.user, "billing.cards")
    removed = stripe_gateway.remove_card_on_file(card=card, actor=who.user)
    return get_owned(
        CardOnFile.objects.select_related("consent_recorded_by"),
        organization=who.organization,
        pk=removed.pk,
        field="card",
    )
