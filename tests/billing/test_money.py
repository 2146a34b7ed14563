"""Invoice arithmetic: half-up rounding on integers, discounts spread without losing a cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medspa.billing import money


@pytest.mark.parametrize(
    ("amount", "rate_bp", "tax"),
    [
        (1999, 625, 125),  # 124.9375 -> 125
        (1000, 625, 63),  # 62.5 -> 63: half-up
        (999, 625, 62),  # 62.4375 -> 62
        (1, 5000, 1),  # half a cent rounds up
        (1, 4999, 0),
        (0, 625, 0),
        (3333, 888, 296),  # 295.97 -> 296
    ],
)
def test_tax_rounds_half_up_per_line(amount: int, rate_bp: int, tax: int) -> None:
    assert money.tax_on(amount, rate_bp) == tax


def test_a_quantity_in_ml_prices_to_the_cent() -> None:
    assert money.line_amount(Decimal("1.25"), 65000) == 81250
    assert money.line_amount(Decimal("0.33"), 999) == 330  # 329.67 -> 330
    assert money.line_amount(Decimal("20"), 1400) == 28000


def test_a_quantity_finer_than_hundredths_is_refused() -> None:
    with pytest.raises(ValueError):
        money.line_amount(Decimal("0.001"), 100)


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30),
)
def test_a_discount_spread_over_lines_always_sums_to_itself(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        total = 0
    total = min(total, sum(weights))  # a discount never exceeds what it spreads over
    shares = money.allocate(total, weights)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


@given(
    amounts=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=20),
    rate_bp=st.integers(min_value=0, max_value=10_000),
    discount_bp=st.integers(min_value=0, max_value=10_000),
)
def test_tax_is_never_charged_on_the_discounted_part(
    amounts: list[int], rate_bp: int, discount_bp: int
) -> None:
    gross = sum(amounts)
    discount = money.percent_of(gross, discount_bp)
    priced = money.price_charges([money.Charge(a, rate_bp) for a in amounts], discount)
    assert sum(p.discount_cents for p in priced) == discount
    for amount, p in zip(amounts, priced, strict=True):
        assert p.tax_cents == money.tax_on(amount - p.discount_cents, rate_bp)
