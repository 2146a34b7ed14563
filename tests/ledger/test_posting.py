"""Posting to the books: balanced entries only, whole cents only, nothing ever edited."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from medspa.core.errors import Conflict, Invalid
from medspa.core.models import AuditEvent
from medspa.ledger.models import Account, Immutable, JournalEntry, JournalLine
from medspa.ledger.services import (
    ACCOUNT_KEYS,
    Posting,
    ensure_chart_of_accounts,
    post_entry,
    reverse_entry,
)
from tests.conftest import Clinic

WHEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def sale(clinic: Clinic, cents: int = 45000) -> JournalEntry:
    return post_entry(
        organization=clinic.organization,
        occurred_at=WHEN,
        memo="Neurotoxin, 20 units",
        postings=[
            Posting("accounts_receivable", debit_cents=cents),
            Posting("service_revenue", credit_cents=cents),
        ],
        source_type="invoice",
        source_id=7,
        location=clinic.location,
        actor=clinic.users["billing"],
    )


def test_the_chart_of_accounts_holds_every_system_account_once(
    clinic: Clinic, outsider: Clinic
) -> None:
    ensure_chart_of_accounts(clinic.organization)
    ensure_chart_of_accounts(clinic.organization)

    keys = list(
        Account.objects.filter(organization=clinic.organization).values_list("key", flat=True)
    )
    assert sorted(keys) == sorted(ACCOUNT_KEYS)
    assert not Account.objects.filter(organization=outsider.organization).exists()
    cash = Account.objects.get(organization=clinic.organization, key="cash")
    assert (cash.number, cash.type) == ("1000", "asset")


def test_a_sale_posts_one_balanced_entry_and_an_audit_event(clinic: Clinic) -> None:
    entry = sale(clinic)

    lines = list(entry.lines.select_related("account"))
    assert [(ln.account.key, ln.debit_cents, ln.credit_cents) for ln in lines] == [
        ("accounts_receivable", 45000, 0),
        ("service_revenue", 0, 45000),
    ]
    assert all(ln.organization_id == clinic.organization.pk for ln in lines)
    assert all(ln.occurred_at == WHEN for ln in lines)
    event = AuditEvent.objects.get(action="ledger.entry_posted", object_id=str(entry.pk))
    assert event.data["total_cents"] == 45000


def test_posting_after_the_chart_exists_takes_a_bounded_number_of_queries(
    clinic: Clinic, django_assert_max_num_queries: object
) -> None:
    sale(clinic)
    with django_assert_max_num_queries(9):  # type: ignore[operator]
        sale(clinic)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"account": "cash", "debit_cents": 10.0}, "whole cents"),
        ({"account": "cash", "debit_cents": Decimal("10")}, "whole cents"),
        ({"account": "cash", "debit_cents": True}, "whole cents"),
        ({"account": "cash", "debit_cents": -5}, "never negative"),
        ({"account": "cash"}, "either a debit or a credit"),
        ({"account": "cash", "debit_cents": 5, "credit_cents": 5}, "either a debit or a credit"),
        ({"account": "petty_cash", "debit_cents": 5}, "Unknown account"),
    ],
)
def test_a_posting_refuses_anything_but_one_positive_whole_amount_on_a_known_account(
    kwargs: dict[str, object], reason: str
) -> None:
    with pytest.raises(Invalid) as refused:
        Posting(**kwargs)  # type: ignore[arg-type]
    assert reason in refused.value.detail


@pytest.mark.parametrize(
    "postings",
    [
        [],
        [Posting("cash", debit_cents=100)],
        [Posting("cash", debit_cents=100), Posting("service_revenue", credit_cents=99)],
    ],
)
def test_an_unbalanced_or_empty_entry_changes_nothing(
    clinic: Clinic, postings: list[Posting]
) -> None:
    with pytest.raises(Invalid):
        post_entry(
            organization=clinic.organization,
            occurred_at=WHEN,
            memo="Bad",
            postings=postings,
            source_type="test",
        )
    assert not JournalEntry.objects.exists()
    assert not JournalLine.objects.exists()
    assert not AuditEvent.objects.filter(action="ledger.entry_posted").exists()


def test_an_unbalanced_entry_says_so(clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused:
        post_entry(
            organization=clinic.organization,
            occurred_at=WHEN,
            memo="Bad",
            postings=[Posting("cash", debit_cents=100), Posting("fees", credit_cents=99)],
            source_type="test",
        )
    assert refused.value.detail.startswith("unbalanced")


def test_a_forced_float_is_caught_when_posting(clinic: Clinic) -> None:
    forged = Posting("cash", debit_cents=100)
    object.__setattr__(forged, "debit_cents", 100.0)
    with pytest.raises(Invalid):
        post_entry(
            organization=clinic.organization,
            occurred_at=WHEN,
            memo="Forged",
            postings=[forged, Posting("fees", credit_cents=100)],
            source_type="test",
        )
    assert not JournalEntry.objects.exists()


def test_another_organizations_location_is_refused(clinic: Clinic, outsider: Clinic) -> None:
    with pytest.raises(Invalid):
        post_entry(
            organization=clinic.organization,
            occurred_at=WHEN,
            memo="Wrong site",
            postings=[Posting("cash", debit_cents=1), Posting("fees", credit_cents=1)],
            source_type="test",
            location=outsider.location,
        )


def test_a_reversal_mirrors_the_entry_and_leaves_it_untouched(clinic: Clinic) -> None:
    entry = sale(clinic)

    reversal = reverse_entry(entry=entry, occurred_at=WHEN, memo="Void invoice 7")

    assert reversal.reverses_id == entry.pk
    assert [(ln.account.key, ln.debit_cents, ln.credit_cents) for ln in reversal.lines.all()] == [
        ("accounts_receivable", 0, 45000),
        ("service_revenue", 45000, 0),
    ]
    assert (reversal.source_type, reversal.source_id) == ("invoice", 7)
    assert JournalEntry.objects.get(pk=entry.pk).memo == "Neurotoxin, 20 units"


def test_an_entry_is_reversed_once_only(clinic: Clinic) -> None:
    entry = sale(clinic)
    reverse_entry(entry=entry, occurred_at=WHEN, memo="Void")

    with pytest.raises(Conflict):
        reverse_entry(entry=entry, occurred_at=WHEN, memo="Void again")
    assert JournalEntry.objects.count() == 2


def test_entries_and_lines_are_never_edited_or_deleted(clinic: Clinic) -> None:
    entry = sale(clinic)
    line = entry.lines.first()
    assert line is not None

    entry.memo = "Changed"
    with pytest.raises(Immutable):
        entry.save()
    with pytest.raises(Immutable):
        entry.delete()
    with pytest.raises(Immutable):
        line.delete()
    with pytest.raises(Immutable):
        JournalLine.objects.filter(pk=line.pk).update(debit_cents=1)
    with pytest.raises(Immutable):
        JournalEntry.objects.all().delete()


def test_the_database_itself_refuses_to_change_a_journal_line(clinic: Clinic) -> None:
    line = sale(clinic).lines.first()
    assert line is not None

    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_journalline SET debit_cents = 1 WHERE id = %s", [line.pk])
    assert JournalLine.objects.get(pk=line.pk).debit_cents == 45000
