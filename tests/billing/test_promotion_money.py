"""Discounts that cover only some lines (a promotion code's scope): pure arithmetic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from medspa.billing import money

DISCOUNT = st.builds(
    money.Discount,
    percent_bp=st.one_of(st.none(), st.integers(1, 10_000)),
    amount_cents=st.integers(0, 10**6),
    covers=st.none(),
)


@given(
    amounts=st.lists(st.integers(0, 10**6), min_size=1, max_size=12),
    discounts=st.lists(
        st.tuples(
            DISCOUNT, st.one_of(st.none(), st.lists(st.booleans(), min_size=12, max_size=12))
        ),
        max_size=5,
    ),
)
def test_no_line_goes_below_zero_and_the_shares_sum_to_what_was_taken(
    amounts: list[int], discounts: list[tuple[money.Discount, list[bool] | None]]
) -> None:
    asked = [
        money.Discount(d.percent_bp, d.amount_cents, flags[: len(amounts)] if flags else None)
        for d, flags in discounts
    ]
    taken, shares = money.spread_discounts(amounts, asked)
    assert sum(taken) == sum(shares) <= sum(amounts)
    assert all(0 <= s <= a for s, a in zip(shares, amounts, strict=True))
    assert all(type(t) is int and t >= 0 for t in taken)
    for discount, take in zip(asked, taken, strict=True):
        if discount.covers is not None:
            covered = sum(a for a, f in zip(amounts, discount.covers, strict=True) if f)
            assert take <= covered


@given(
    amounts=st.lists(st.integers(0, 10**6), min_size=1, max_size=12),
    discounts=st.lists(DISCOUNT, max_size=4),
)
def test_discounts_over_every_line_spread_as_they_always_did(
    amounts: list[int], discounts: list[money.Discount]
) -> None:
    taken, shares = money.spread_discounts(amounts, discounts)
    # The arithmetic of checkout before scopes: one spread of the sum, by amount.
    left, expected = sum(amounts), []
    for d in discounts:
        wanted = money.percent_of(sum(amounts), d.percent_bp) if d.percent_bp else d.amount_cents
        expected.append(min(wanted, left))
        left -= expected[-1]
    assert taken == expected
    assert shares == money.allocate(sum(expected), amounts)


def test_a_services_only_discount_leaves_retail_alone() -> None:
    taken, shares = money.spread_discounts([45000, 4000], [money.Discount(2000, 0, [True, False])])
    assert (taken, shares) == ([9000], [9000, 0])
