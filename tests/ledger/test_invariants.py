"""Random days at the desk: every entry balances, and the books add up after each one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medspa.core.models import Organization
from medspa.ledger.models import JournalEntry, JournalLine
from medspa.ledger.selectors import account_balance, trial_balance
from medspa.ledger.services import Posting, post_entry, reverse_entry
from tests.factories import OrganizationFactory

CENTS = st.integers(min_value=1, max_value=5_000_000)

# (kind, amount, second amount): what happens at the desk, as strategies.
EVENTS = st.one_of(
    st.tuples(st.just("sale"), CENTS, st.integers(min_value=0, max_value=400_000)),
    st.tuples(st.sampled_from(["pay_cash", "pay_card"]), CENTS, st.just(0)),
    st.tuples(st.just("deposit"), CENTS, st.just(0)),
    st.tuples(st.just("apply_deposit"), CENTS, st.just(0)),
    st.tuples(st.just("refund"), CENTS, st.just(0)),
    st.tuples(st.just("tip"), CENTS, st.just(0)),
    st.tuples(st.just("void_last"), st.just(0), st.just(0)),
)


@dataclass
class Expected:
    """What the clinic expects the books to say, kept beside them by plain arithmetic."""

    receivable: int = 0
    deposits: int = 0
    cash_and_card: int = 0
    revenue: int = 0


def postings_for(kind: str, cents: int, tax: int, expected: Expected) -> list[Posting] | None:
    """The postings of one event, capped to what the state allows (None: nothing to do)."""
    if kind == "sale":
        expected.receivable += cents + tax
        expected.revenue += cents
        lines = [Posting("accounts_receivable", debit_cents=cents + tax)]
        lines.append(Posting("service_revenue", credit_cents=cents))
        if tax:
            lines.append(Posting("sales_tax_payable", credit_cents=tax))
        return lines
    if kind in ("pay_cash", "pay_card", "apply_deposit"):
        source = {"pay_cash": "cash", "pay_card": "card_clearing"}.get(kind, "deposits_held")
        cap = (
            expected.receivable
            if source != "deposits_held"
            else min(expected.receivable, expected.deposits)
        )
        cents = min(cents, cap)
        if cents == 0:
            return None
        expected.receivable -= cents
        if source == "deposits_held":
            expected.deposits -= cents
        else:
            expected.cash_and_card += cents
        return [
            Posting(source, debit_cents=cents),
            Posting("accounts_receivable", credit_cents=cents),
        ]
    if kind == "deposit":
        expected.deposits += cents
        expected.cash_and_card += cents
        return [
            Posting("card_clearing", debit_cents=cents),
            Posting("deposits_held", credit_cents=cents),
        ]
    if kind == "refund":
        cents = min(cents, expected.cash_and_card)
        if cents == 0:
            return None
        expected.cash_and_card -= cents
        expected.revenue -= cents
        return [Posting("refunds", debit_cents=cents), Posting("card_clearing", credit_cents=cents)]
    assert kind == "tip"
    expected.cash_and_card += cents
    return [Posting("cash", debit_cents=cents), Posting("tips_payable", credit_cents=cents)]


def undo(kind: str, postings: list[Posting], expected: Expected) -> None:
    """What a void does to the expectations: the mirror of the event."""
    for p in postings:
        net = p.debit_cents - p.credit_cents
        if p.account == "accounts_receivable":
            expected.receivable -= net
        elif p.account == "deposits_held":
            expected.deposits += net
        elif p.account in ("cash", "card_clearing"):
            expected.cash_and_card -= net
        elif p.account in ("service_revenue", "refunds"):
            expected.revenue += net


def check_books(org: Organization, expected: Expected) -> None:
    for entry in JournalEntry.objects.filter(organization=org).prefetch_related("lines"):
        lines = list(entry.lines.all())
        assert sum(ln.debit_cents for ln in lines) == sum(ln.credit_cents for ln in lines)
    tb = trial_balance(org)
    assert tb.debit_cents == tb.credit_cents
    assert tb.net_debit_cents == tb.net_credit_cents
    assert account_balance(org, "accounts_receivable") == expected.receivable
    assert account_balance(org, "deposits_held") == expected.deposits
    assert account_balance(org, "cash") + account_balance(org, "card_clearing") == (
        expected.cash_and_card
    )
    revenue = account_balance(org, "service_revenue") + account_balance(org, "refunds")
    assert revenue == expected.revenue


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(EVENTS, min_size=1, max_size=15))
def test_any_sequence_of_sales_payments_deposits_refunds_and_voids_keeps_the_books_balanced(
    db: None, events: list[tuple[str, int, int]]
) -> None:
    org = OrganizationFactory()
    outsider = OrganizationFactory()
    post_entry(
        organization=outsider,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        memo="Their sale",
        postings=[Posting("cash", debit_cents=999), Posting("service_revenue", credit_cents=999)],
        source_type="invoice",
    )
    expected = Expected()
    when = datetime(2026, 1, 1, 9, tzinfo=UTC)
    live: list[tuple[JournalEntry, str, list[Posting]]] = []
    for kind, cents, tax in events:
        when += timedelta(minutes=7)
        if kind == "void_last":
            if not live:
                continue
            entry, was, postings = live.pop()
            reverse_entry(entry=entry, occurred_at=when, memo=f"Void {was}")
            undo(was, postings, expected)
        else:
            postings = postings_for(kind, cents, tax, expected)
            if postings is None:
                continue
            entry = post_entry(
                organization=org, occurred_at=when, memo=kind, postings=postings, source_type=kind
            )
            live.append((entry, kind, postings))
        check_books(org, expected)
    assert JournalLine.objects.filter(organization=outsider).count() == 2
