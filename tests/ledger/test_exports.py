"""Exports: beancount that bean-check accepts, and the Xero and QuickBooks import layouts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from beancount import loader
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from medspa.core.models import AuditEvent
from medspa.ledger.exports import (
    QUICKBOOKS_COLUMNS,
    XERO_COLUMNS,
    ExportEntry,
    ExportLine,
    beancount,
    decimal_text,
)
from medspa.ledger.services import Posting, post_entry, reverse_entry
from tests.conftest import Clinic


def checkout(clinic: Clinic, when: datetime) -> None:
    """A $490.00 treatment less $40.00 off, $36.00 tax, a $50.00 tip; part card, part cash."""
    post_entry(
        organization=clinic.organization,
        occurred_at=when,
        memo='Invoice 12 "Neurotoxin"',
        postings=[
            Posting("card_clearing", debit_cents=40000),
            Posting("cash", debit_cents=13600),
            Posting("discounts", debit_cents=4000, memo="Spring promotion"),
            Posting("service_revenue", credit_cents=49000),
            Posting("sales_tax_payable", credit_cents=3600),
            Posting("tips_payable", credit_cents=5000, memo="Tip for Dr. Ada"),
        ],
        source_type="invoice",
        source_id=12,
        location=clinic.location,
    )


@pytest.fixture
def books(clinic: Clinic, outsider: Clinic) -> Clinic:
    checkout(clinic, datetime(2026, 3, 2, 16, tzinfo=UTC))
    refund = post_entry(
        organization=clinic.organization,
        occurred_at=datetime(2026, 3, 3, 16, tzinfo=UTC),
        memo="Refund, part",
        postings=[
            Posting("refunds", debit_cents=5000),
            Posting("card_clearing", credit_cents=5000),
        ],
        source_type="refund",
    )
    reverse_entry(entry=refund, occurred_at=datetime(2026, 3, 4, 16, tzinfo=UTC), memo="Undo")
    checkout(clinic, datetime(2026, 4, 10, 16, tzinfo=UTC))  # outside the range below
    checkout(outsider, datetime(2026, 3, 2, 16, tzinfo=UTC))
    return clinic


def export(clinic: Clinic, fmt: str, out: Path) -> str:
    # The same words a bookkeeper types after `medspa`.
    call_command(
        *f"export ledger --format {fmt} --from 2026-03-01 --to 2026-03-31".split(),
        "--out",
        str(out),
        "--organization",
        clinic.organization.slug,
    )
    return out.read_text()


def test_the_beancount_export_passes_bean_check(books: Clinic, tmp_path: Path) -> None:
    text = export(books, "beancount", tmp_path / "books.beancount")

    entries, errors, options = loader.load_file(str(tmp_path / "books.beancount"))
    assert errors == []
    assert options["operating_currency"] == ["USD"]
    transactions = [e for e in entries if type(e).__name__ == "Transaction"]
    assert len(transactions) == 3  # March only, own clinic only
    assert "Assets:CardClearing-1010  400.00 USD" in text
    assert "Liabilities:TipsPayableToProviders-2100  -50.00 USD" in text
    assert '"Invoice 12 \\"Neurotoxin\\""' in text
    assert AuditEvent.objects.filter(action="ledger.exported").count() == 1


def test_the_xero_export_follows_the_manual_journal_layout(books: Clinic, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(export(books, "xero-csv", tmp_path / "x.csv"))))

    assert tuple(rows[0]) == XERO_COLUMNS
    first = [r for r in rows[1:] if r[0].endswith('Invoice 12 "Neurotoxin"')]
    assert len(first) == 6
    assert first[0][1] == "02/03/2026"  # dd/mm/yyyy
    assert (first[0][3], first[0][5]) == ("1010", "400.00")
    assert (first[3][3], first[3][5]) == ("4000", "-490.00")
    assert sum(int(r[5].replace(".", "")) for r in rows[1:]) == 0  # debits equal credits
    assert first[0][6:] == ["Location", books.location.name]


def test_the_quickbooks_export_follows_the_journal_entry_layout(
    books: Clinic, tmp_path: Path
) -> None:
    rows = list(csv.reader(io.StringIO(export(books, "quickbooks-csv", tmp_path / "q.csv"))))

    assert tuple(rows[0]) == QUICKBOOKS_COLUMNS
    assert rows[1][1] == "03/02/2026"  # MM/DD/YYYY
    assert rows[1][2:5] == ["Card clearing", "400.00", ""]
    assert rows[4][2:5] == ["Service revenue", "", "490.00"]
    assert len({r[0] for r in rows[1:]}) == 3


def test_the_export_needs_a_known_organization(books: Clinic, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Name the organization"):
        call_command("export", "ledger", "--format", "beancount", "--out", str(tmp_path / "b"))


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (0, "USD", "0.00"),
        (5, "USD", "0.05"),
        (-123456, "EUR", "-1234.56"),
        (1500, "JPY", "1500"),
        (-1, "KWD", "-0.001"),
    ],
)
def test_minor_units_become_exact_decimal_text(cents: int, currency: str, text: str) -> None:
    assert decimal_text(cents, currency) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_decimal_text_round_trips_every_amount(cents: int) -> None:
    assert int(decimal_text(cents, "USD").replace(".", "")) == cents


def test_an_entry_on_a_custom_account_name_still_makes_a_valid_beancount_name(
    tmp_path: Path,
) -> None:
    lines = (
        ExportLine("5100", "Staff training & CE (2026)", "expense", 1000, 0),
        ExportLine("1000", "Cash on hand", "asset", 0, 1000),
    )
    path = tmp_path / "custom.beancount"
    path.write_text(
        beancount(
            [ExportEntry(1, date(2026, 1, 5), "CE course", "manual", "", lines)], currency="EUR"
        )
    )
    _, errors, _ = loader.load_file(str(path))
    assert errors == []
