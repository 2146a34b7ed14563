"""The books over the API: owners, managers and billing read them; only their own clinic's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.test import Client as HttpClient

from medspa.core.models import Role, User
from medspa.ledger.models import JournalEntry
from medspa.ledger.services import Posting, post_entry
from tests.conftest import Clinic


def book(clinic: Clinic, when: datetime, cents: int, *, paid_by: str = "cash") -> JournalEntry:
    return post_entry(
        organization=clinic.organization,
        occurred_at=when,
        memo="HydraFacial",
        postings=[
            Posting(paid_by, debit_cents=cents),
            Posting("service_revenue", credit_cents=cents),
        ],
        source_type="invoice",
        location=clinic.location,
    )


def test_the_trial_balance_sums_only_the_days_asked_and_balances(
    clinic: Clinic, outsider: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    book(clinic, datetime(2026, 3, 1, 18, 0, tzinfo=UTC), 20000)
    book(clinic, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), 45000, paid_by="card_clearing")
    book(outsider, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), 99900)

    body = (
        api_as(clinic.users[Role.BILLING])
        .get("/api/v1/ledger/trial-balance?from=2026-03-02&to=2026-03-02")
        .json()
    )

    rows = {r["number"]: r for r in body["rows"]}
    assert rows["1010"]["debit_cents"] == 45000
    assert rows["1000"]["debit_cents"] == 0
    assert rows["4000"]["credit_cents"] == 45000
    assert rows["4000"]["balance_cents"] == 45000
    assert body["debit_cents"] == body["credit_cents"] == 45000
    assert body["balanced"] is True


def test_the_trial_balance_reads_days_in_the_clinics_zone(
    clinic: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    # 03:00 UTC on the 3rd is still the evening of the 2nd in the clinic's zone (US).
    clinic.location.time_zone = "America/New_York"
    clinic.location.save()
    book(clinic, datetime(2026, 3, 3, 3, 0, tzinfo=UTC), 1500)

    body = (
        api_as(clinic.users[Role.OWNER])
        .get("/api/v1/ledger/trial-balance?from=2026-03-02&to=2026-03-02")
        .json()
    )
    assert body["debit_cents"] == 1500


def test_a_range_that_ends_before_it_starts_is_refused(
    clinic: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    response = api_as(clinic.users[Role.OWNER]).get(
        "/api/v1/ledger/trial-balance?from=2026-03-02&to=2026-03-01"
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_the_chart_lists_only_the_own_accounts(
    clinic: Clinic, outsider: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    book(clinic, datetime(2026, 3, 1, tzinfo=UTC), 100)
    book(outsider, datetime(2026, 3, 1, tzinfo=UTC), 100)

    body = api_as(clinic.users[Role.MANAGER]).get("/api/v1/ledger/accounts").json()

    own = set(clinic.organization.ledger_accounts.values_list("id", flat=True))
    assert {a["id"] for a in body["items"]} == own
    assert body["count"] == len(own) >= 16


def test_the_journal_filters_by_account_and_pages_with_few_queries(
    clinic: Clinic,
    outsider: Clinic,
    api_as: Callable[[User], HttpClient],
    django_assert_max_num_queries: object,
) -> None:
    for day in range(1, 21):
        book(clinic, datetime(2026, 3, day, 15, tzinfo=UTC), 100 * day, paid_by="cash")
    card = book(clinic, datetime(2026, 3, 21, 15, tzinfo=UTC), 777, paid_by="card_clearing")
    book(outsider, datetime(2026, 3, 21, 15, tzinfo=UTC), 777, paid_by="card_clearing")
    card_account = card.lines.get(debit_cents=777).account_id
    billing = api_as(clinic.users[Role.BILLING])

    with django_assert_max_num_queries(12):  # type: ignore[operator]
        everything = billing.get("/api/v1/ledger/entries?limit=200").json()
    only_card = billing.get(f"/api/v1/ledger/entries?account={card_account}").json()

    assert everything["count"] == 21
    assert everything["items"][0]["id"] == card.pk  # newest first
    assert [e["id"] for e in only_card["items"]] == [card.pk]
    assert only_card["items"][0]["lines"][0]["debit_cents"] == 777


def test_roles_outside_the_books_get_403(
    clinic: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    for role in (Role.FRONT_DESK, Role.PROVIDER):
        response = api_as(clinic.users[role]).get("/api/v1/ledger/entries")
        assert response.status_code == 403
