"""A payment plan's dates and amounts, on plain dates and integer cents. Imports no Django.

Amounts are split with `money.allocate`, so the instalments always sum to the balance; the
extra cents of an uneven split go to the earliest instalments.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta

from medspa.billing.money import allocate

WEEKLY = "weekly"
MONTHLY = "monthly"


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or the month's last day if shorter (Jan 31 -> Feb 28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def schedule(first: date, count: int, cadence: str) -> list[date]:
    """`count` dates from `first`, a week or a month apart (months keep the first's day)."""
    if count < 1:
        raise ValueError("a schedule has at least one date")
    if cadence == WEEKLY:
        return [first + timedelta(weeks=i) for i in range(count)]
    if cadence == MONTHLY:
        return [add_months(first, i) for i in range(count)]
    raise ValueError(f"unknown cadence {cadence!r}")


def split(balance_cents: int, count: int) -> list[int]:
    """The balance in `count` instalments as equal as cents allow, summing exactly to it."""
    if count < 1:
        raise ValueError("split over at least one instalment")
    return allocate(balance_cents, [1] * count)


def cover(amounts: Sequence[int], outstanding_cents: int) -> list[int]:
    """What is left to charge of each open instalment once only `outstanding_cents` is owed.

    Money paid outside the plan (at the desk, a credit note) settles the earliest
    instalments first, as a client paying ahead expects: the next charge shrinks or is not
    needed; later ones keep their agreed amounts. Never raises an instalment above its amount.
    """
    if outstanding_cents < 0 or any(a < 0 for a in amounts):
        raise ValueError("cover needs non-negative amounts")
    excess = max(sum(amounts) - outstanding_cents, 0)
    left = []
    for amount in amounts:
        taken = min(amount, excess)
        excess -= taken
        left.append(amount - taken)
    return left
