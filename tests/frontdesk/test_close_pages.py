"""The Daily close page: the drawer's cash and cheques taken and refunded, the count, a
difference that needs its explanation, the closed record and past closes; once per double
tap; roles, the outsider, bounded queries."""

from __future__ import annotations

import uuid
from typing import Any

from django.test import Client as HttpClient

from medspa.billing import close, refunds
from medspa.billing.models import DailyClose
from medspa.core.models import Role
from medspa.ledger.selectors import account_balance
from tests.billing.refund_helpers import paid
from tests.conftest import Clinic

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def a_day_at_the_desk(clinic: Clinic) -> str:
    """Today: 450.00 cash, 200.00 by cheque and 250.00 card, 50.00 cash refunded."""
    invoice = paid(clinic, ("cash", 45000))
    paid(clinic, ("cheque", 20000), ("card_external", 25000), hour=12)
    refunds.refund_invoice(
        invoice=invoice,
        amount_cents=5000,
        method="original",
        payment_id=invoice.payments.get().pk,
        reason="Bruising",
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )
    return close.local_today(clinic.location).isoformat()


def test_the_desk_sees_what_the_drawer_should_hold(clinic: Clinic) -> None:
    today = a_day_at_the_desk(clinic)

    page = signed_in(clinic).get(f"/close/?location={clinic.location.pk}&date={today}")

    body = page.content.decode()
    assert page.status_code == 200
    assert "450.00" in body and "200.00" in body and "\u221250.00" in body
    assert '<dd class="total" id="expected">600.00 USD</dd>' in body
    assert "Card (terminal)" not in body  # cards settle to the bank, not the drawer


def test_a_short_till_needs_its_explanation_then_closes_once(clinic: Clinic) -> None:
    today = a_day_at_the_desk(clinic)
    desk = signed_in(clinic)
    form = {"location": clinic.location.pk, "date": today, "counted": "595", "close_key": "c1"}

    unexplained = desk.post("/close/", form, **HTMX)
    done = desk.post("/close/", {**form, "close_key": "c2", "explanation": "Change given"}, **HTMX)
    double = desk.post(
        "/close/", {**form, "close_key": "c2", "explanation": "Change given"}, **HTMX
    )

    body = unexplained.content.decode()
    assert unexplained.status_code == 422 and 'id="till-explanation-error"' in body
    assert "5.00 USD short" in body
    assert done.status_code == double.status_code == 204
    closed = DailyClose.objects.get()
    assert (closed.expected_cents, closed.counted_cents, closed.difference_cents) == (
        60000,
        59500,
        -500,
    )
    assert account_balance(clinic.organization, "cash_over_short") == 500
    page = desk.get(f"/close/?location={clinic.location.pk}&date={today}").content.decode()
    assert "Closed ✓" in page and "Change given" in page and "Past closes" in page


def test_bad_counts_and_future_days_are_refused_next_to_the_field(clinic: Clinic) -> None:
    desk = signed_in(clinic)
    location = clinic.location.pk

    typo = desk.post("/close/", {"location": location, "counted": "twelve", "close_key": "a"})
    future = desk.post(
        "/close/", {"location": location, "date": "2999-01-01", "counted": "0", "close_key": "b"}
    )

    assert typo.status_code == 422 and 'id="till-counted-error"' in typo.content.decode()
    assert future.status_code == 422 and "once it has begun" in future.content.decode()
    assert DailyClose.objects.count() == 0


def test_providers_and_other_organizations_do_not_reach_the_close(
    clinic: Clinic, outsider: Clinic
) -> None:
    provider = signed_in(clinic, Role.PROVIDER)
    billing = signed_in(clinic, Role.BILLING)

    hidden = provider.get("/close/")
    foreign = billing.get(f"/close/?location={outsider.location.pk}")
    foreign_post = billing.post(
        "/close/", {"location": outsider.location.pk, "counted": "0", "close_key": "x"}
    )

    assert hidden.status_code == foreign.status_code == foreign_post.status_code == 404
    assert billing.get("/close/").status_code == 200
    assert DailyClose.objects.count() == 0


def test_the_close_page_takes_a_bounded_number_of_queries(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: Any
) -> None:
    today = a_day_at_the_desk(clinic)
    a_day_at_the_desk(outsider)
    desk = signed_in(clinic)
    desk.post(
        "/close/", {"location": clinic.location.pk, "counted": "600", "close_key": "k"}, **HTMX
    )

    with django_assert_max_num_queries(14):
        page = desk.get(f"/close/?location={clinic.location.pk}&date={today}")

    assert page.status_code == 200 and page.content.decode().count("Closed ✓") == 1


def test_cash_deposits_taken_today_show_as_their_own_line_of_the_drawer(clinic: Clinic) -> None:
    from medspa.billing.deposits import take_deposit
    from tests.billing.deposit_helpers import deposit_of_visit, deposit_policy

    today = a_day_at_the_desk(clinic)
    deposit_policy(clinic)
    take_deposit(
        deposit=deposit_of_visit(clinic.book(15)),
        tender="cash",
        amount_cents=10000,
        idempotency_key=uuid.uuid4().hex,
        actor=clinic.users[Role.FRONT_DESK],
    )

    body = signed_in(clinic).get(f"/close/?location={clinic.location.pk}&date={today}")
    text = body.content.decode()

    assert "Deposits (cash, cheques)" in text and "100.00" in text
    assert '<dd class="total" id="expected">700.00 USD</dd>' in text  # 600.00 + the deposit
