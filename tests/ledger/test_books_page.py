"""The Books page: trial balance and journal for owners, managers and billing; 404 for others."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client as HttpClient

from medspa.core.models import Role
from medspa.ledger.services import Posting, post_entry, reverse_entry
from tests.conftest import Clinic


def sell(clinic: Clinic, day: int, cents: int) -> None:
    entry = post_entry(
        organization=clinic.organization,
        occurred_at=datetime(2026, 3, day, 17, tzinfo=UTC),
        memo=f"Invoice {day}",
        postings=[
            Posting("card_clearing", debit_cents=cents),
            Posting("service_revenue", credit_cents=cents),
        ],
        source_type="invoice",
        source_id=day,
        location=clinic.location,
    )
    if day == 5:
        reverse_entry(entry=entry, occurred_at=datetime(2026, 3, 6, 17, tzinfo=UTC), memo="Void 5")


def signed_in(clinic: Clinic, role: str) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def test_billing_sees_a_trial_balance_whose_totals_match_and_the_journal(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: object
) -> None:
    for day in range(1, 11):
        sell(clinic, day, 12345)
    sell(outsider, 2, 99999)
    browser = signed_in(clinic, Role.BILLING)

    with django_assert_max_num_queries(14):  # type: ignore[operator]
        response = browser.get("/books/?from=2026-03-01&to=2026-03-31")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Debits equal credits: 1357.95 USD" in html  # 11 entries of 123.45 (one reversal)
    assert "Invoice 10" in html and "Reverses #" in html
    assert "999.99" not in html
    assert 'aria-current="page">Books' in html


def test_a_range_ending_before_it_starts_is_explained_next_to_the_field(clinic: Clinic) -> None:
    response = signed_in(clinic, Role.OWNER).get("/books/?from=2026-03-05&to=2026-03-01")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_the_journal_narrows_to_one_account(clinic: Clinic) -> None:
    sell(clinic, 2, 500)
    account = clinic.organization.ledger_accounts.get(key="cash")
    html = (
        signed_in(clinic, Role.MANAGER)
        .get(f"/books/?from=2026-03-01&to=2026-03-31&account={account.pk}")
        .content.decode()
    )
    assert "No entry on these days." in html


def test_another_organizations_account_is_not_offered(clinic: Clinic, outsider: Clinic) -> None:
    sell(outsider, 2, 500)
    theirs = outsider.organization.ledger_accounts.get(key="card_clearing")
    html = signed_in(clinic, Role.OWNER).get(f"/books/?account={theirs.pk}").content.decode()
    assert "Choose an account from the list." in html


def test_the_front_desk_and_providers_do_not_see_the_books(clinic: Clinic) -> None:
    for role in (Role.FRONT_DESK, Role.PROVIDER):
        browser = signed_in(clinic, role)
        assert browser.get("/books/").status_code == 404
        assert "/books/" not in browser.get("/calendar/").content.decode()
