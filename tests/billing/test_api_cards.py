"""Cards on file over the API and card-on-file payments at checkout, against the local fake
Stripe server (never the network): set up, save with consent, list, remove, charge, replay,
decline, Stripe not set up, roles and the outsider clinic."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from medspa.billing import services
from medspa.billing.card_models import CardOnFile
from medspa.billing.gateways import CardRef, ChargeRequest, ManualGateway
from medspa.billing.models import Invoice, InvoiceStatus, Payment
from medspa.core.audit import AuditEvent
from medspa.core.errors import Conflict, Invalid
from medspa.core.models import Role, User
from medspa.ledger.models import JournalEntry
from medspa.ledger.selectors import trial_balance
from tests.billing.card_helpers import (
    CONSENT,
    card_row,
    confirm_in_browser,
    keep_card,
    stripe_on,
)
from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.billing.helpers import balanced, botox_priced, desk, signed_visit
from tests.conftest import Clinic, build_clinic
from tests.factories import ClientFactory

Caller = Callable[[User], HttpClient]
__all__ = ["stripe_on"]  # the fixture, used by name


def post(caller: HttpClient, url: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return caller.post(
        url, data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def issued(clinic: Clinic, hour: int = 10) -> Invoice:
    botox_priced(clinic)
    return services.issue_invoice(invoice=signed_visit(clinic, hour), actor=desk(clinic))


def pay(caller: HttpClient, invoice: Invoice, tenders: list[dict[str, Any]], key: str) -> Any:
    return post(
        caller,
        f"/api/v1/invoices/{invoice.pk}/payments",
        {"tenders": tenders},
        **{"Idempotency-Key": key},
    )


# --- keeping a card ------------------------------------------------------------------------


def test_the_desk_sets_up_a_card_and_keeps_it_with_the_clients_consent(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    caller = api_as(desk(clinic))
    url = f"/api/v1/clients/{clinic.client.pk}/cards"

    setup = post(caller, f"{url}/setup")
    assert setup.status_code == 201, setup.content
    body = setup.json()
    assert body["client_secret"].startswith("seti_secret_")
    assert body["publishable_key"] == "pk_test_medspa"
    confirm_in_browser(body["setup_intent_id"])
    saved = post(caller, url, {"setup_intent_id": body["setup_intent_id"], "consent_text": CONSENT})

    assert saved.status_code == 201, saved.content
    card = saved.json()
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "visa",
        "4242",
        12,
        2034,
    )
    assert card["active"] and not card["expired"]
    assert card["consent_text"] == CONSENT
    assert card["consent_recorded_by"] == desk(clinic).full_name
    again = post(caller, url, {"setup_intent_id": body["setup_intent_id"], "consent_text": CONSENT})
    assert again.json()["id"] == card["id"]
    assert CardOnFile.objects.count() == 1


@pytest.mark.parametrize("consent", ["", "   "])
def test_a_card_is_not_kept_without_the_consent_text(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe, consent: str
) -> None:
    caller = api_as(desk(clinic))
    url = f"/api/v1/clients/{clinic.client.pk}/cards"
    setup = post(caller, f"{url}/setup").json()
    confirm_in_browser(setup["setup_intent_id"])
    events = AuditEvent.objects.count()

    refused = post(
        caller, url, {"setup_intent_id": setup["setup_intent_id"], "consent_text": consent}
    )

    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "consent_required"
    assert refused.json()["errors"][0]["field"] == "consent_text"
    assert not CardOnFile.objects.exists() and AuditEvent.objects.count() == events


def test_the_list_shows_usable_cards_first_and_keeps_removed_ones(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe, django_assert_max_num_queries: Any
) -> None:
    old = keep_card(clinic.client, desk(clinic), "pm_card_mastercard")
    kept = [keep_card(clinic.client, desk(clinic)) for _ in range(4)]
    caller = api_as(desk(clinic))
    assert caller.delete(f"/api/v1/cards/{old.pk}").status_code == 200

    with django_assert_max_num_queries(6):
        listed = caller.get(f"/api/v1/clients/{clinic.client.pk}/cards")

    items = listed.json()["items"]
    assert listed.json()["count"] == 5
    assert [i["id"] for i in items] == [c.pk for c in reversed(kept)] + [old.pk]
    assert [i["active"] for i in items] == [True] * 4 + [False]
    assert items[-1]["last4"] == "4444" and items[-1]["consent_text"] == CONSENT


def test_removing_a_card_deactivates_it_and_keeps_its_history(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe, django_capture_on_commit_callbacks: Any
) -> None:
    card = keep_card(clinic.client, desk(clinic))
    caller = api_as(desk(clinic))

    with django_capture_on_commit_callbacks(execute=True):
        removed = caller.delete(f"/api/v1/cards/{card.pk}")
        again = caller.delete(f"/api/v1/cards/{card.pk}")

    assert removed.status_code == again.status_code == 200
    assert removed.json()["active"] is False
    card.refresh_from_db()
    assert not card.is_active and card.consent_text == CONSENT
    assert AuditEvent.objects.filter(action="billing.card_removed").count() == 1
    # Taken off the client's Stripe customer too, once.
    detach = f"/v1/payment_methods/{card.stripe_payment_method_id}/detach"
    assert len(stripe_on.posts_to(detach)) == 1
    assert stripe_on.objects[card.stripe_payment_method_id]["customer"] is None


def test_a_card_is_removed_even_when_stripe_cannot_detach_it(
    clinic: Clinic,
    api_as: Caller,
    stripe_on: FakeStripe,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    card = keep_card(clinic.client, desk(clinic))
    settings.MEDSPA_STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        removed = api_as(desk(clinic)).delete(f"/api/v1/cards/{card.pk}")
    assert removed.status_code == 200 and removed.json()["active"] is False


# --- paying with a card on file ------------------------------------------------------------


def test_a_card_on_file_pays_at_checkout_and_a_replay_charges_once(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    card = keep_card(clinic.client, desk(clinic))
    invoice = issued(clinic)
    caller = api_as(desk(clinic))
    tenders = [
        {"kind": "card_on_file", "card": card.pk, "amount_cents": invoice.total_cents - 5000},
        {"kind": "cash", "amount_cents": 5000},
    ]

    first = pay(caller, invoice, tenders, "checkout-1")
    replay = pay(caller, invoice, tenders, "checkout-1")

    assert first.status_code == replay.status_code == 201, first.content
    assert first.json() == replay.json() and first.json()["status"] == "paid"
    (charge,) = stripe_on.posts_to("/v1/payment_intents")
    assert int(charge.params["amount"]) == invoice.total_cents - 5000
    assert charge.params["off_session"] == "true"
    assert charge.params["payment_method"] == card.stripe_payment_method_id
    assert charge.params["metadata"]["card_on_file"] == str(card.pk)
    assert charge.params["metadata"]["organization"] == str(clinic.organization.pk)
    payments = list(Payment.objects.filter(invoice=invoice).order_by("split_index"))
    assert [(p.kind, p.gateway) for p in payments] == [
        ("card_on_file", "stripe"),
        ("cash", "manual"),
    ]
    assert payments[0].reference == charge_id(stripe_on)
    assert len(balanced(invoice)) == 2


def charge_id(fake: FakeStripe) -> str:
    return next(o["id"] for o in fake.objects.values() if o["object"] == "payment_intent")


def test_the_same_key_replayed_past_the_api_still_charges_once(
    clinic: Clinic, stripe_on: FakeStripe
) -> None:
    """A lost answer retried below the API (same key): Stripe is asked once, answers twice."""
    card = keep_card(clinic.client, desk(clinic))
    invoice = issued(clinic)
    tender = services.TenderIn(
        "card_on_file", invoice.total_cents, card=CardRef(card_on_file_id=card.pk)
    )
    for _ in range(2):
        taken = services.record_payment(
            invoice=invoice, tenders=[tender], idempotency_key="k", actor=desk(clinic)
        )
    assert taken.replayed and taken.invoice.status == InvoiceStatus.PAID
    assert len(stripe_on.posts_to("/v1/payment_intents")) == 1


def test_a_declined_card_on_file_says_why_and_records_nothing(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    card = keep_card(clinic.client, desk(clinic), "pm_card_chargeCustomerFail")
    invoice = issued(clinic)
    caller = api_as(desk(clinic))
    entries = JournalEntry.objects.count()
    events = AuditEvent.objects.count()

    refused = pay(
        caller,
        invoice,
        [{"kind": "card_on_file", "card": card.pk, "amount_cents": invoice.total_cents}],
        "declined-1",
    )

    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "payment_declined"
    assert "insufficient funds" in problem["detail"] and "insufficient_funds" in problem["detail"]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.paid_cents == 0
    assert not Payment.objects.filter(invoice=invoice).exists()
    assert JournalEntry.objects.count() == entries and AuditEvent.objects.count() == events


def test_another_clients_card_and_two_cards_in_one_payment_are_refused(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    someone = ClientFactory(organization=clinic.organization)
    theirs = keep_card(someone, desk(clinic))
    mine = keep_card(clinic.client, desk(clinic))
    invoice = issued(clinic)
    caller = api_as(desk(clinic))

    other_client = pay(
        caller, invoice, [{"kind": "card_on_file", "card": theirs.pk, "amount_cents": 100}], "a"
    )
    two_cards = pay(
        caller,
        invoice,
        [
            {"kind": "card_on_file", "card": mine.pk, "amount_cents": 100},
            {"kind": "card", "payment_method": "pm_card_visa", "amount_cents": 100},
        ],
        "b",
    )
    no_card = pay(caller, invoice, [{"kind": "card_on_file", "amount_cents": 100}], "c")
    cash_card = pay(caller, invoice, [{"kind": "cash", "card": mine.pk, "amount_cents": 100}], "d")

    assert [r.status_code for r in (other_client, two_cards, no_card, cash_card)] == [422] * 4
    assert no_card.json()["errors"][0]["field"] == "tenders.0.card"
    assert not stripe_on.posts_to("/v1/payment_intents")
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_a_removed_card_is_not_charged_at_checkout(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    card = keep_card(clinic.client, desk(clinic))
    invoice = issued(clinic)
    caller = api_as(desk(clinic))
    caller.delete(f"/api/v1/cards/{card.pk}")

    refused = pay(
        caller, invoice, [{"kind": "card_on_file", "card": card.pk, "amount_cents": 100}], "k"
    )

    assert refused.status_code == 422 and "removed" in refused.json()["detail"]
    assert not stripe_on.posts_to("/v1/payment_intents")


def test_a_card_presented_now_pays_through_stripe_by_its_payment_method(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    invoice = issued(clinic)
    paid = pay(
        api_as(desk(clinic)),
        invoice,
        [{"kind": "card", "payment_method": "pm_card_visa", "amount_cents": invoice.total_cents}],
        "reader-1",
    )
    assert paid.status_code == 201 and paid.json()["status"] == "paid"
    (charge,) = stripe_on.posts_to("/v1/payment_intents")
    assert "off_session" not in charge.params and "customer" not in charge.params


def test_the_manual_gateway_ignores_the_card() -> None:
    result = ManualGateway().authorize(
        ChargeRequest(
            amount_cents=500,
            currency="USD",
            tender="card_external",
            idempotency_key="k",
            organization_id=1,
            card=CardRef(card_on_file_id=7),
        )
    )
    assert (result.status, result.amount_cents) == ("captured", 500)


# --- without Stripe, roles, the outsider ---------------------------------------------------


def test_without_stripe_card_setup_and_card_payments_are_not_set_up(
    clinic: Clinic, api_as: Caller, settings: Any
) -> None:
    settings.MEDSPA_STRIPE_SECRET_KEY = ""
    card = card_row(clinic)  # kept while Stripe was set up
    invoice = issued(clinic)
    caller = api_as(desk(clinic))
    url = f"/api/v1/clients/{clinic.client.pk}/cards"

    answers = [
        post(caller, f"{url}/setup"),
        post(caller, url, {"setup_intent_id": "seti_1", "consent_text": CONSENT}),
        pay(caller, invoice, [{"kind": "card_on_file", "card": card.pk, "amount_cents": 100}], "k"),
    ]

    for answer in answers:
        assert answer.status_code == 409, answer.content
        assert answer.json()["code"] == "stripe_not_configured"
        assert "not set up" in answer.json()["detail"]
    assert not Payment.objects.filter(invoice=invoice).exists()
    # The history stays readable and a card can always be taken off file.
    assert caller.get(url).json()["count"] == 1
    assert caller.delete(f"/api/v1/cards/{card.pk}").json()["active"] is False


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.FRONT_DESK, True), (Role.BILLING, True), (Role.MANAGER, True), (Role.PROVIDER, False)],
)
def test_roles_that_may_keep_and_remove_cards(
    clinic: Clinic, api_as: Caller, stripe_on: FakeStripe, role: str, allowed: bool
) -> None:
    card = card_row(clinic)
    caller = api_as(clinic.users[role])
    url = f"/api/v1/clients/{clinic.client.pk}/cards"
    answers = [
        caller.get(url).status_code,
        post(caller, f"{url}/setup").status_code,
        caller.delete(f"/api/v1/cards/{card.pk}").status_code,
    ]
    assert answers == ([200, 201, 200] if allowed else [403, 403, 403])


def test_the_outsiders_client_and_card_are_not_found_on_every_card_route(
    clinic: Clinic, outsider: Clinic, api_as: Caller, stripe_on: FakeStripe
) -> None:
    theirs = keep_card(outsider.client, desk(outsider))
    invoice = issued(clinic)
    owner = api_as(clinic.users[Role.OWNER])
    url = f"/api/v1/clients/{outsider.client.pk}/cards"
    requests_before = len(stripe_on.requests)

    answers = [
        owner.get(url),
        post(owner, f"{url}/setup"),
        post(owner, url, {"setup_intent_id": "seti_x", "consent_text": CONSENT}),
        owner.delete(f"/api/v1/cards/{theirs.pk}"),
        pay(
            owner,
            invoice,
            [{"kind": "card_on_file", "card": theirs.pk, "amount_cents": 100}],
            "theirs",
        ),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert all(a["Content-Type"] == "application/problem+json" for a in answers)
    theirs.refresh_from_db()
    assert theirs.is_active
    assert len(stripe_on.requests) == requests_before


# --- every charge Stripe made is one payment in the books ----------------------------------

CARD_MOVES = st.lists(
    st.tuples(
        st.sampled_from(["good_card", "declining_card", "card_and_cash", "replay"]),
        st.integers(min_value=1, max_value=40000),
    ),
    min_size=1,
    max_size=8,
)


@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=CARD_MOVES)
@pytest.mark.django_db
def test_random_card_payments_declines_and_replays_charge_exactly_what_the_books_hold(
    moves: list[tuple[str, int]],
) -> None:
    fake = shared_fake()
    fake.reset()
    with override_settings(
        MEDSPA_STRIPE_SECRET_KEY="sk_test_medspa", MEDSPA_STRIPE_API_BASE=fake.url
    ):
        clinic = build_clinic("Cards")
        good = keep_card(clinic.client, desk(clinic))
        declining = keep_card(clinic.client, desk(clinic), "pm_card_chargeCustomerFail")
        invoice = issued(clinic)
        last: tuple[str, list[services.TenderIn]] | None = None
        for step, (move, amount) in enumerate(moves):
            if move == "replay" and last is not None:
                key, tenders = last
            else:
                card = declining if move == "declining_card" else good
                tenders = [
                    services.TenderIn("card_on_file", amount, card=CardRef(card_on_file_id=card.pk))
                ]
                if move == "card_and_cash":
                    tenders.append(services.TenderIn("cash", 100))
                key = f"move-{step}"
            try:
                services.record_payment(
                    invoice=invoice, tenders=tenders, idempotency_key=key, actor=desk(clinic)
                )
                last = (key, tenders)
            except (Invalid, Conflict):
                pass  # declined or above the balance: nothing recorded
        charged = sorted(
            o["amount"]
            for o in fake.objects.values()
            if o["object"] == "payment_intent" and o["status"] == "succeeded"
        )
        kept = sorted(
            Payment.objects.filter(invoice=invoice, gateway="stripe").values_list(
                "amount_cents", flat=True
            )
        )
        assert charged == kept
        tb = trial_balance(clinic.organization)
        assert tb.debit_cents == tb.credit_cents
        card_clearing = next(r for r in tb.rows if r.key == "card_clearing")
        assert card_clearing.balance_cents == sum(kept)
        invoice.refresh_from_db()
        assert invoice.paid_cents <= invoice.total_cents
