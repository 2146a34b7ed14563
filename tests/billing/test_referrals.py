"""Referrals: who referred a client, and the credit the referrer earns, once, in the books."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from typing import Any

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medspa.billing import referrals, refunds, services
from medspa.billing.models import Invoice, InvoiceStatus, Payment
from medspa.billing.promotion_models import Referral
from medspa.billing.services import TenderIn
from medspa.clients.models import Client
from medspa.clients.services import merge_clients
from medspa.core.errors import Conflict, DomainError, Invalid, NotFound
from medspa.core.models import AuditEvent, Role
from medspa.ledger.models import JournalEntry
from medspa.ledger.selectors import account_balance, trial_balance
from tests.billing.refund_helpers import issued
from tests.conftest import Clinic, build_clinic
from tests.factories import ClientFactory
from tests.scheduling.test_concurrency import race


def programme(clinic: Clinic, credit: int = 2500, percent: int | None = None) -> None:
    referrals.set_referral_programme(
        organization=clinic.organization,
        actor=clinic.users[Role.MANAGER],
        is_active=True,
        referrer_credit_cents=credit,
        first_visit_percent_bp=percent,
    )


def referred(clinic: Clinic) -> tuple[Client, Client]:
    """A new client referred by the clinic's own client: (referred, referrer)."""
    newcomer = ClientFactory(organization=clinic.organization)
    referrals.set_referrer(client=newcomer, referrer=clinic.client, actor=None)
    return newcomer, clinic.client


def pay(invoice: Invoice, cents: int, key: str | None = None) -> Invoice:
    return services.record_payment(
        invoice=invoice,
        tenders=[TenderIn("cash", cents)],
        idempotency_key=key or uuid.uuid4().hex,
        actor=None,
    ).invoice


# --- who referred whom --------------------------------------------------------------------


def test_a_referral_is_set_once_never_to_oneself_never_in_a_circle(clinic: Clinic) -> None:
    a, b, c = (ClientFactory(organization=clinic.organization) for _ in range(3))
    referrals.set_referrer(client=b, referrer=a, actor=None)
    referrals.set_referrer(client=c, referrer=b, actor=None)

    with pytest.raises(Invalid, match="cannot refer themselves"):
        referrals.set_referrer(client=a, referrer=a, actor=None)
    with pytest.raises(Invalid) as circle:
        referrals.set_referrer(client=a, referrer=c, actor=None)  # c <- b <- a
    assert circle.value.code == "referral_circular"
    with pytest.raises(Conflict):
        referrals.set_referrer(client=c, referrer=a, actor=None)
    assert Referral.objects.get(client=c).referrer == b
    assert AuditEvent.objects.filter(action="billing.referral_recorded").count() == 2


def test_another_organizations_client_is_not_found(clinic: Clinic, outsider: Clinic) -> None:
    with pytest.raises(NotFound):
        referrals.set_referrer(client=clinic.client, referrer=outsider.client, actor=None)
    assert not Referral.objects.exists()


# --- the credit ---------------------------------------------------------------------------


def test_the_programme_is_off_by_default_and_grants_nothing(clinic: Clinic) -> None:
    newcomer, referrer = referred(clinic)
    pay(issued(clinic, client=newcomer), 45000)
    assert refunds.credit_balance(referrer) == 0
    assert Referral.objects.get().granted_at is None


def test_the_first_invoice_paid_in_full_grants_the_referrer_credit_once(clinic: Clinic) -> None:
    programme(clinic, credit=2500)
    newcomer, referrer = referred(clinic)
    invoice = issued(clinic, client=newcomer)

    invoice = pay(invoice, 20000)  # partly paid: not yet
    assert refunds.credit_balance(referrer) == 0
    invoice = pay(invoice, 25000)

    assert invoice.status == InvoiceStatus.PAID
    assert refunds.credit_balance(referrer) == 2500
    assert account_balance(clinic.organization, "referral_rewards") == 2500
    assert account_balance(clinic.organization, "client_credit") == 2500
    assert trial_balance(clinic.organization).balanced
    history = refunds.credit_history(referrer)
    assert [(m.amount_cents, m.invoice_id) for m in history] == [(2500, None)]
    assert history[0].what == f"Referral credit: {newcomer}"
    # A second visit, paid, earns nothing more.
    pay(issued(clinic, 14, client=newcomer), 45000)
    assert refunds.credit_balance(referrer) == 2500
    assert JournalEntry.objects.filter(source_type="referral").count() == 1


def test_a_replayed_payment_grants_nothing_twice(clinic: Clinic) -> None:
    programme(clinic)
    newcomer, referrer = referred(clinic)
    invoice = issued(clinic, client=newcomer)
    pay(invoice, 45000, key="pay-once")
    pay(invoice, 45000, key="pay-once")
    assert refunds.credit_balance(referrer) == 2500
    assert JournalEntry.objects.filter(source_type="referral").count() == 1
    assert AuditEvent.objects.filter(action="billing.referral_credit_granted").count() == 1


def test_a_referral_recorded_after_the_first_paid_visit_earns_nothing(clinic: Clinic) -> None:
    programme(clinic)
    newcomer = ClientFactory(organization=clinic.organization)
    pay(issued(clinic, client=newcomer), 45000)
    referrals.set_referrer(client=newcomer, referrer=clinic.client, actor=None)
    pay(issued(clinic, 14, client=newcomer), 45000)
    assert refunds.credit_balance(clinic.client) == 0


def test_the_referrer_spends_the_credit_as_account_credit_and_never_more(clinic: Clinic) -> None:
    programme(clinic, credit=2500)
    newcomer, referrer = referred(clinic)
    pay(issued(clinic, client=newcomer), 45000)
    own = issued(clinic, 14, client=referrer)

    with pytest.raises(Invalid) as too_much:
        services.record_payment(
            invoice=own,
            tenders=[TenderIn("account_credit", 2501)],
            idempotency_key=uuid.uuid4().hex,
            actor=None,
        )
    assert too_much.value.code == "not_enough_credit"
    services.record_payment(
        invoice=own,
        tenders=[TenderIn("account_credit", 2500), TenderIn("cash", 42500)],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )
    assert refunds.credit_balance(referrer) == 0
    assert account_balance(clinic.organization, "client_credit") == 0
    assert trial_balance(clinic.organization).balanced


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_racing_for_the_same_referral_credit_spend_it_once() -> None:
    clinic = build_clinic("RaceCredit")
    programme(clinic, credit=45000)
    newcomer, referrer = referred(clinic)
    pay(issued(clinic, client=newcomer), 45000)
    mine = [issued(clinic, h, client=referrer) for h in (11, 13)]

    results = race(
        [
            lambda inv=inv: services.record_payment(
                invoice=Invoice.objects.get(pk=inv.pk),
                tenders=[TenderIn("account_credit", 45000)],
                idempotency_key=uuid.uuid4().hex,
                actor=None,
            )
            for inv in mine
        ]
    )

    kinds = Counter("paid" if not isinstance(r, Exception) else type(r).__name__ for r in results)
    assert kinds["paid"] == 1, results
    assert all(isinstance(r, DomainError) for r in results if isinstance(r, Exception))
    assert refunds.credit_balance(referrer) == 0
    assert Payment.objects.filter(kind="account_credit").count() == 1


# --- the first-visit discount -------------------------------------------------------------


def test_the_referred_client_gets_the_first_visit_discount_once(clinic: Clinic) -> None:
    programme(clinic, credit=0, percent=1000)
    newcomer, _ = referred(clinic)
    first, _ = services.build_invoice_from_chart(
        appointment=clinic.book(10, client=newcomer), actor=None
    )
    line = referrals.add_first_visit_discount(invoice=first, actor=None)
    assert line.amount_cents == -4500 and "Referral" in line.description
    with pytest.raises(Invalid):
        referrals.add_first_visit_discount(invoice=first, actor=None)
    second, _ = services.build_invoice_from_chart(
        appointment=clinic.book(14, client=newcomer), actor=None
    )
    assert referrals.first_visit_discount_offer(second) is None
    # Nobody referred the clinic's own client: nothing offered.
    third, _ = services.build_invoice_from_chart(appointment=clinic.book(12), actor=None)
    assert referrals.first_visit_discount_offer(third) is None


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"is_active": True, "referrer_credit_cents": -1}, "referrer_credit_cents"),
        ({"is_active": True, "referrer_credit_cents": 25.0}, "referrer_credit_cents"),
        ({"is_active": True, "referrer_credit_cents": 0}, "referrer_credit_cents"),
        (
            {"is_active": False, "referrer_credit_cents": 0, "first_visit_percent_bp": 0},
            "first_visit_percent_bp",
        ),
    ],
)
def test_a_bad_programme_is_refused(clinic: Clinic, terms: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        referrals.set_referral_programme(organization=clinic.organization, actor=None, **terms)
    assert caught.value.errors[0].field == field
    assert referrals.referral_programme(clinic.organization).pk is None


# --- the API and the pages ----------------------------------------------------------------


def test_the_api_records_the_referrer_and_the_programme(
    clinic: Clinic, outsider: Clinic, api_as: Any
) -> None:
    newcomer = ClientFactory(organization=clinic.organization)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    foreign = desk.put(
        f"/api/v1/clients/{newcomer.pk}/referred-by",
        {"referrer": outsider.client.pk},
        content_type="application/json",
    )
    assert foreign.status_code == 404 and not Referral.objects.exists()
    done = desk.put(
        f"/api/v1/clients/{newcomer.pk}/referred-by",
        {"referrer": clinic.client.pk},
        content_type="application/json",
    )
    assert done.status_code == 201 and done.json()["referrer"] == clinic.client.pk
    again = desk.put(
        f"/api/v1/clients/{newcomer.pk}/referred-by",
        {"referrer": clinic.client.pk},
        content_type="application/json",
    )
    assert again.status_code == 409
    assert desk.get("/api/v1/referral-programme").json()["is_active"] is False
    body = {"is_active": True, "referrer_credit_cents": 2000}
    assert (
        desk.put("/api/v1/referral-programme", body, content_type="application/json").status_code
        == 403
    )
    manager = api_as(clinic.users[Role.MANAGER])
    saved = manager.put("/api/v1/referral-programme", body, content_type="application/json")
    assert saved.status_code == 200 and saved.json()["referrer_credit_cents"] == 2000
    assert (
        api_as(outsider.users[Role.OWNER]).get("/api/v1/referral-programme").json()["is_active"]
        is False
    )
    credit = desk.get(f"/api/v1/clients/{clinic.client.pk}/credit")
    assert credit.status_code == 200 and credit.json()["balance_cents"] == 0


def test_the_client_record_shows_and_sets_who_referred_them(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: Any
) -> None:
    newcomer = ClientFactory(organization=clinic.organization, first_name="Nia")
    front = HttpClient()
    front.force_login(clinic.users[Role.FRONT_DESK])
    record = front.get(f"/clients/{newcomer.pk}/")
    assert b"client-referral" in record.content
    found = front.get(f"/clients/{newcomer.pk}/referral/search", {"q": clinic.client.last_name[:4]})
    assert f'value="{clinic.client.pk}"'.encode() in found.content
    posted = front.post(f"/clients/{newcomer.pk}/referral", {"referrer": outsider.client.pk})
    assert posted.status_code == 422 and not Referral.objects.exists()
    front.post(f"/clients/{newcomer.pk}/referral", {"referrer": clinic.client.pk})
    with django_assert_max_num_queries(8):
        section = front.get(f"/clients/{newcomer.pk}/referral")
    assert clinic.client.full_name.encode() in section.content
    theirs = HttpClient()
    theirs.force_login(outsider.users[Role.OWNER])
    assert theirs.get(f"/clients/{newcomer.pk}/referral").status_code == 404


# --- the invariant ------------------------------------------------------------------------

PAYMENT = st.tuples(st.integers(0, 1), st.sampled_from([5000, 15000, 45000]), st.booleans())


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payments=st.lists(PAYMENT, min_size=1, max_size=8))
@pytest.mark.django_db
def test_credit_is_granted_once_when_an_invoice_is_first_paid_and_the_books_balance(
    payments: list[tuple[int, int, bool]],
) -> None:
    # Examples share the test's transaction: each one works in a clinic of its own.
    clinic = build_clinic("Hypothesis")
    programme(clinic, credit=2500)
    newcomer, referrer = referred(clinic)
    invoices = [issued(clinic, h, client=newcomer) for h in (10, 14)]
    last_key: str | None = None
    for which, cents, replay in payments:
        invoice = Invoice.objects.get(pk=invoices[which].pk)
        key = last_key if replay and last_key else uuid.uuid4().hex
        with contextlib.suppress(DomainError):  # a replay of another amount, a paid invoice
            pay(invoice, min(cents, invoice.balance_cents) or cents, key=key)
        last_key = key
    paid_any = Invoice.objects.filter(client=newcomer, status=InvoiceStatus.PAID).exists()
    grants = JournalEntry.objects.filter(
        organization=clinic.organization, source_type="referral"
    ).count()
    assert grants == (1 if paid_any else 0)
    assert refunds.credit_balance(referrer) == 2500 * grants
    assert trial_balance(clinic.organization).balanced


@pytest.mark.django_db
def test_a_duplicate_merges_into_a_referred_client_and_the_referral_stays(clinic: Clinic) -> None:
    friend = ClientFactory(organization=clinic.organization)
    duplicate = ClientFactory(organization=clinic.organization)
    referrals.set_referrer(client=clinic.client, referrer=friend, actor=None)

    merge_clients(organization=clinic.organization, actor=None, keep=clinic.client, merge=duplicate)

    assert Referral.objects.get(client=clinic.client).referrer == friend


@pytest.mark.django_db
def test_two_clients_linked_by_a_referral_are_not_merged_and_nothing_moves(clinic: Clinic) -> None:
    duplicate = ClientFactory(organization=clinic.organization)
    referrals.set_referrer(client=duplicate, referrer=clinic.client, actor=None)

    with pytest.raises(Conflict, match="links these two clients"):
        merge_clients(
            organization=clinic.organization, actor=None, keep=clinic.client, merge=duplicate
        )

    assert Referral.objects.get(client=duplicate).referrer == clinic.client
    duplicate.refresh_from_db()
    assert duplicate.is_active


@pytest.mark.django_db
def test_a_first_invoice_settled_partly_by_a_credit_note_still_earns_the_credit(
    clinic: Clinic,
) -> None:
    programme(clinic)
    newcomer = ClientFactory(organization=clinic.organization)
    referrals.set_referrer(client=newcomer, referrer=clinic.client, actor=None)
    first = issued(clinic, 10, newcomer)
    services.record_payment(
        invoice=first,
        tenders=[TenderIn("cash", first.total_cents - 1000)],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )

    refunds.issue_credit_note(
        invoice=first,
        amount_cents=1000,
        reason="Goodwill",
        actor=None,
    )

    assert Referral.objects.get(client=newcomer).granted_cents == 2500


@pytest.mark.django_db
def test_a_missing_rewards_account_never_sinks_the_payment_that_completes_the_visit(
    clinic: Clinic,
) -> None:
    from medspa.ledger.models import Account

    programme(clinic)
    # The bookkeeper numbered an account of their own 6200 before the upgrade.
    Account.objects.filter(organization=clinic.organization, key="referral_rewards").delete()
    Account.objects.create(
        organization=clinic.organization, key=None, number="6200", name="Marketing", type="expense"
    )
    newcomer = ClientFactory(organization=clinic.organization)
    referrals.set_referrer(client=newcomer, referrer=clinic.client, actor=None)
    first = issued(clinic, 10, newcomer)

    taken = services.record_payment(
        invoice=first,
        tenders=[TenderIn("cash", first.total_cents)],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )

    assert taken.invoice.status == InvoiceStatus.PAID
    assert Referral.objects.get(client=newcomer).granted_at is None
    refused = AuditEvent.objects.get(action="billing.referral_credit_refused")
    assert "referral_rewards" in refused.data["reason"]
    books = trial_balance(clinic.organization, None, None)
    assert books.debit_cents == books.credit_cents
