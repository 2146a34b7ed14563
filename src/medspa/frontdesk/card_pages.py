"""Cards on file at the desk: the client record's section (list, remove with confirmation),
the Add a card page (Stripe's card form and the client's consent), and the card-on-file
tender of the checkout page's payment form. Every write goes through billing.stripe_gateway.

The card is typed into Stripe's own form (Stripe.js + Elements, `medspa/card_setup.js`),
loaded only on the Add a card page and only when Stripe is set up; the browser confirms the
SetupIntent and posts its id with the consent, and the server keeps the card. Everything but
that browser step is tested against the local fake Stripe server.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medspa.billing import services, stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.billing.gateways import CardRef
from medspa.billing.models import Invoice
from medspa.clients.models import Client
from medspa.core.errors import DomainError
from medspa.core.models import Organization
from medspa.core.permissions import can
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.views import page_staff

# The record lists this many cards (usable first); a client keeps a handful.
CARD_LIMIT = 50
# What the desk reads to the client, editable before saving; the words kept are the proof.
CONSENT_TEMPLATE = (
    "I authorise {clinic} to keep this card on file with its payment processor (Stripe) and "
    "to charge it for my visits and purchases, and for late-cancellation or no-show fees under "
    "the clinic's policy. A staff member confirms each charge made without me present. I can "
    "ask the clinic to remove this card at any time."
)


def _client(who: Staff, client_id: int) -> Client:
    try:
        return get_owned(Client, organization=who.organization, pk=client_id, field="client")
    except DomainError:
        raise Http404("No such client.") from None


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def card_label(card: CardOnFile) -> str:
    brand = card.brand.title() if card.brand else "Card"
    return f"{brand} ending {card.last4}" if card.last4 else brand


def _expiry(card: CardOnFile) -> str:
    if card.exp_month is None or card.exp_year is None:
        return ""
    return f"{card.exp_month:02d}/{card.exp_year}"


def _row(card: CardOnFile, today: Any) -> dict[str, Any]:
    who = card.consent_recorded_by
    return {
        "card": card,
        "label": card_label(card),
        "expiry": _expiry(card),
        "expired": stripe_gateway.card_expired(card, today),
        "recorded_by": (who.full_name or who.email) if who is not None else "",
    }


# --- the client record's section ----------------------------------------------------------


def _section_context(
    who: Staff, client: Client, *, errors: dict[int, str] | None = None, notice: str = ""
) -> dict[str, Any]:
    today = timezone.localdate()
    cards = [_row(c, today) for c in stripe_gateway.card_history(client)[:CARD_LIMIT]]
    may_keep = can(who.user, "billing.cards") and client.is_active
    return {
        "client": client,
        "active": [r for r in cards if r["card"].is_active],
        "removed": [r for r in cards if not r["card"].is_active],
        "stripe_on": stripe_gateway.configured(),
        "may_add": may_keep and stripe_gateway.configured(),
        "may_remove": can(who.user, "billing.cards"),
        "errors": errors or {},
        "notice": notice,
    }


@login_required
@require_GET
def cards_section(request: HttpRequest, client_id: int) -> HttpResponse:
    """The record's "Cards on file" section (loaded by htmx), for roles that see billing."""
    who = page_staff(request, "clients.view")
    client = _client(who, client_id)  # another organization's client: 404, whatever the role
    if not can(who.user, "billing.view"):
        return HttpResponse("")
    return render(request, "frontdesk/cards/_section.html", _section_context(who, client))


@login_required
@require_POST
def remove_card(request: HttpRequest, card_id: int) -> HttpResponse:
    """Take a card off file once the desk ticked the confirmation; its history stays."""
    who = page_staff(request, "billing.cards")
    try:
        card = stripe_gateway.card_on_file_of(who.organization, card_id)
    except DomainError:
        raise Http404("No such card.") from None
    client = card.client
    if request.POST.get("confirm") != "yes":
        errors = {card.pk: "Tick the box to confirm: the card will not be charged again."}
        if _is_htmx(request):
            context = _section_context(who, client, errors=errors)
            return render(request, "frontdesk/cards/_section.html", context, status=422)
        messages.error(request, errors[card.pk])
        return _back_to_record(client)
    stripe_gateway.remove_card_on_file(card=card, actor=who.user)
    notice = f"{card_label(card)} is off file; it will not be charged again."
    if _is_htmx(request):
        context = _section_context(who, client, notice=notice)
        return render(request, "frontdesk/cards/_section.html", context)
    messages.success(request, notice)
    return _back_to_record(client)


def _back_to_record(client: Client) -> HttpResponse:
    return redirect(reverse("frontdesk:client", args=[client.pk]) + "#client-cards")


# --- adding a card ------------------------------------------------------------------------


def consent_for(organization: Organization) -> str:
    return CONSENT_TEMPLATE.format(clinic=organization.name)


def _add_page(
    request: HttpRequest,
    who: Staff,
    client: Client,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    values = values or {}
    errors = errors or {}
    context: dict[str, Any] = {
        "nav": "clients",
        "client": client,
        "stripe_on": stripe_gateway.configured(),
        "publishable_key": stripe_gateway.publishable_key(),
        "consent_text": values.get("consent_text") or consent_for(who.organization),
        "agreed": values.get("agreed") == "yes",
        "errors": errors,
        "limit": stripe_gateway.CONSENT_LIMIT,
    }
    if not context["stripe_on"]:
        context["errors"] = {"all": stripe_gateway.not_set_up().detail}
        return render(request, "frontdesk/cards/add.html", context, status=409)
    if values.get("setup_intent_id") and values.get("client_secret"):
        # The card was entered in Stripe's form already: only the consent is asked again.
        context.update(
            setup_intent_id=values["setup_intent_id"],
            client_secret=values["client_secret"],
            card_entered=True,
        )
        return render(request, "frontdesk/cards/add.html", context, status=status)
    try:
        setup = stripe_gateway.start_card_setup(client=client, actor=who.user)
    except DomainError as refusal:
        context["errors"] = {**errors, "all": refusal.detail}
        return render(request, "frontdesk/cards/add.html", context, status=409)
    context.update(setup_intent_id=setup.setup_intent_id, client_secret=setup.client_secret)
    return render(request, "frontdesk/cards/add.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def add_card(request: HttpRequest, client_id: int) -> HttpResponse:
    """Stripe's card form and the consent; the POST keeps the card the browser confirmed."""
    who = page_staff(request, "billing.cards")
    client = _client(who, client_id)
    if not client.is_active:
        raise Http404("This record was merged; add the card on the record it went into.")
    if request.method == "GET":
        return _add_page(request, who, client)
    given = {
        name: request.POST.get(name, "").strip()[:300]
        for name in ("setup_intent_id", "client_secret", "agreed")
    }
    # One character past the limit, so the service says it is too long rather than cutting.
    given["consent_text"] = request.POST.get("consent_text", "").strip()[
        : stripe_gateway.CONSENT_LIMIT + 1
    ]
    errors: dict[str, str] = {}
    if given["agreed"] != "yes":
        errors["agreed"] = "Tick the box once the client has read and agreed to the consent."
    if not errors:
        try:
            card = stripe_gateway.save_card_on_file(
                client=client,
                setup_intent_id=given["setup_intent_id"],
                consent_text=given["consent_text"],
                actor=who.user,
            )
        except DomainError as refusal:
            for item in refusal.errors or []:
                errors.setdefault(item.field, item.reason)
            if "setup_intent_id" in errors or "card" in errors or not errors:
                # The setup itself failed: start a fresh one and show why.
                errors["all"] = refusal.detail
                given["setup_intent_id"] = given["client_secret"] = ""
        else:
            messages.success(request, f"{card_label(card)} is kept on file for {client}.")
            return _back_to_record(client)
    return _add_page(request, who, client, values=given, errors=errors, status=422)


# --- the checkout page's card-on-file tender ----------------------------------------------


def tender_context(who: Staff, invoice: Invoice, values: dict[str, str]) -> dict[str, Any]:
    """The card-on-file choice of the payment form: shown only when Stripe is set up."""
    if not stripe_gateway.configured() or not can(who.user, "billing.checkout"):
        return {"card_tender": None}
    today = timezone.localdate()
    cards = [
        _row(card, today)
        for card in stripe_gateway.cards_on_file(invoice.client).select_related(
            "consent_recorded_by"
        )[:CARD_LIMIT]
    ]
    usable = [r for r in cards if not r["expired"]]
    return {
        "card_tender": {
            "cards": usable,
            "chosen": values.get("card_on_file") or (str(usable[0]["card"].pk) if usable else ""),
            "amount": values.get("amount_card_on_file", ""),
            "add_url": reverse("frontdesk:card_add", args=[invoice.client_id]),
        }
    }


CARD_FIELDS = ("card_on_file", "amount_card_on_file")


def posted_tender(
    who: Staff, invoice: Invoice, given: dict[str, str], amount: Any, errors: dict[str, str]
) -> services.TenderIn | None:
    """The card-on-file tender the payment form filled in, or None; problems go to errors.

    `amount` parses a typed amount into cents (the checkout page's own parser).
    """
    raw = given.get("amount_card_on_file", "")
    if not raw or raw in ("0", "0.00"):
        return None
    cents = amount(raw, invoice.currency)
    if cents is None:
        errors["amount_card_on_file"] = "Give an amount, e.g. 120.00."
        return None
    try:
        card = stripe_gateway.card_on_file_of(who.organization, given.get("card_on_file", ""))
    except DomainError:
        errors["card_on_file"] = "Choose one of the client's cards on file."
        return None
    return services.TenderIn("card_on_file", cents, card=CardRef(card_on_file_id=card.pk))


urlpatterns: list[URLPattern] = [
    path("clients/<int:client_id>/cards", cards_section, name="client_cards"),
    path("clients/<int:client_id>/cards/add", add_card, name="card_add"),
    path("cards/<int:card_id>/remove", remove_card, name="card_remove"),
]
