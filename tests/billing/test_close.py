"""The daily close: the till count against expected cash, any difference posted and explained."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from medspa.billing import close, refunds
from medspa.billing.models import DailyClose
from medspa.core.errors import Conflict, Invalid
from medspa.core.models import Role
from medspa.ledger.models import JournalEntry
from tests.billing.refund_helpers import books, paid
from tests.conftest import Clinic


def test_a_till_that_matches_closes_without_an_explanation_and_posts_nothing(
    clinic: Clinic, outsider: Clinic
) -> None:
    today = close.local_today(clinic.location)
    invoice = paid(clinic, ("cash", 30000), ("card_external", 15000))
    paid(clinic, ("cheque", 45000), hour=12)
    paid(outsider)  # another clinic's cash never counts here
    refunds.refund_invoice(
        invoice=invoice,
        payment_id=invoice.payments.get(kind="cash").pk,
        amount_cents=5000,
        method="original",
        reason="Goodwill",
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )
    assert close.expected_cash(clinic.location, today) == 30000 + 45000 - 5000
    entries = JournalEntry.objects.count()

    closed = close.close_day(
        location=clinic.location,
        business_date=today,
        counted_cents=70000,
        explanation="",
        actor=clinic.users[Role.FRONT_DESK],
    )

    assert (closed.expected_cents, closed.difference_cents) == (70000, 0)
    assert JournalEntry.objects.count() == entries


def test_a_short_till_needs_an_explanation_and_posts_the_difference(clinic: Clinic) -> None:
    today = close.local_today(clinic.location)
    paid(clinic)  # 450.00 cash
    with pytest.raises(Invalid, match=r"12\.50 USD short: say why") as refused:
        close.close_day(
            location=clinic.location,
            business_date=today,
            counted_cents=45000 - 1250,
            explanation="  ",
            actor=None,
        )
    assert refused.value.code == "difference_unexplained"
    assert not DailyClose.objects.exists()

    closed = close.close_day(
        location=clinic.location,
        business_date=today,
        counted_cents=45000 - 1250,
        explanation="Change given twice",
        actor=None,
    )
    assert closed.difference_cents == -1250
    balances = books(clinic)
    assert (balances["cash"], balances["cash_over_short"]) == (45000 - 1250, 1250)
    with pytest.raises(Conflict, match="already closed"):
        close.close_day(
            location=clinic.location,
            business_date=today,
            counted_cents=45000,
            explanation="Again",
            actor=None,
        )


def test_an_over_till_credits_cash_over_short_on_that_business_day(clinic: Clinic) -> None:
    yesterday = close.local_today(clinic.location) - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12), tzinfo=clinic.location.zone)
    paid(clinic, now=noon)
    assert close.expected_cash(clinic.location, yesterday + timedelta(days=1)) == 0

    closed = close.close_day(
        location=clinic.location,
        business_date=yesterday,
        counted_cents=45500,
        explanation="Client left the change",
        actor=None,
    )
    assert closed.difference_cents == 500
    assert books(clinic)["cash_over_short"] == -500  # an expense account credited: a gain
    entry = JournalEntry.objects.get(pk=closed.journal_entry_id)
    assert entry.occurred_at.astimezone(clinic.location.zone).date() == yesterday


def test_a_day_not_yet_begun_or_a_bad_count_is_refused(clinic: Clinic) -> None:
    today = close.local_today(clinic.location, timezone.now())
    with pytest.raises(Invalid, match="not before"):
        close.close_day(
            location=clinic.location,
            business_date=today + timedelta(days=1),
            counted_cents=0,
            explanation="",
            actor=None,
        )
    for bad in (-1, 10.5, "100"):
        with pytest.raises(Invalid, match="whole cents"):
            close.close_day(
                location=clinic.location,
                business_date=today,
                counted_cents=bad,  # type: ignore[arg-type]
                explanation="",
                actor=None,
            )
    assert not DailyClose.objects.exists()
