"""Invoice arithmetic on integer cents: line amounts, tax, discounts. Imports no Django.

Every rounding is half-up on integers (Decimal only carries a charted quantity such as
1.25 mL, never an amount), so the same invoice always totals to the same cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

BASIS_POINTS = 10_000  # 100% = 10 000 basis points
QUANTITY_SCALE = 100  # quantities carry at most two decimals (20 units, 1.25 mL)


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def scaled_quantity(quantity: Decimal | int) -> int:
    """The quantity in hundredths; refuses a finer quantity rather than rounding it away."""
    scaled = Decimal(quantity) * QUANTITY_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError("quantities carry at most two decimals")
    return int(scaled)


def line_amount(quantity: Decimal | int, unit_price_cents: int) -> int:
    """What a line costs: quantity times the unit price, to the cent, half-up."""
    return divide_half_up(scaled_quantity(quantity) * unit_price_cents, QUANTITY_SCALE)


def tax_on(amount_cents: int, rate_bp: int) -> int:
    """The tax on an amount at a rate in basis points (8.875% = 887.5 bp is not allowed)."""
    return divide_half_up(amount_cents * rate_bp, BASIS_POINTS)


def percent_of(amount_cents: int, rate_bp: int) -> int:
    """A percentage of an amount, in basis points, half-up."""
    return divide_half_up(amount_cents * rate_bp, BASIS_POINTS)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split a non-negative total across weights in proportion, never losing a cent.

    Largest remainder: each share is floored, then the cents left over go to the largest
    fractional parts (ties to the earlier line), so the shares always sum to the total.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate needs non-negative amounts")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot allocate over nothing")
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class Charge:
    """A line that discounts apply to: its amount and its tax rate."""

    amount_cents: int
    rate_bp: int


@dataclass(frozen=True)
class Priced:
    """A charge's share of the discounts, and the tax on what is left."""

    discount_cents: int
    tax_cents: int


def price_charges(charges: Sequence[Charge], discount_cents: int) -> list[Priced]:
    """Spread the discount over the charges by amount, then tax each line on what is left."""
    shares = allocate(discount_cents, [c.amount_cents for c in charges])
    return [
        Priced(discount_cents=share, tax_cents=tax_on(c.amount_cents - share, c.rate_bp))
        for c, share in zip(charges, shares, strict=True)
    ]


def format_cents(amount_cents: int, currency: str = "USD") -> str:
    """A plain rendering for messages: 1234 -> '12.34 USD' (no float)."""
    sign = "-" if amount_cents < 0 else ""
    whole, cents = divmod(abs(amount_cents), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}"


@dataclass(frozen=True)
class Discount:
    """A discount as asked: a percent (basis points) of what it covers, or an amount.

    `covers` says which charges it applies to, one flag a charge; None covers them all.
    """

    percent_bp: int | None
    amount_cents: int
    covers: Sequence[bool] | None = None


def spread_discounts(
    amounts: Sequence[int], discounts: Sequence[Discount]
) -> tuple[list[int], list[int]]:
    """What each discount takes, in order, and each charge's share of them all.

    Each discount takes at most what is left of the charges it covers, so no charge goes
    below zero. When every discount covers every charge, their sum is spread once by amount
    (largest remainder); when one covers only some, each is spread in turn over what is
    left of the charges it covers, so a services-only code never lowers a retail line.
    """
    covers = [d.covers if d.covers is not None else [True] * len(amounts) for d in discounts]
    scoped = any(d.covers is not None for d in discounts)
    left = list(amounts)
    taken: list[int] = []
    shares = [0] * len(amounts)
    for discount, flags in zip(discounts, covers, strict=True):
        base = sum(a for a, f in zip(amounts, flags, strict=True) if f)
        wanted = (
            percent_of(base, discount.percent_bp)
            if discount.percent_bp is not None
            else discount.amount_cents
        )
        room = sum(x for x, f in zip(left, flags, strict=True) if f)
        if not scoped:
            room -= sum(taken)  # `left` is not spread per line in this case
        take = max(min(wanted, room), 0)
        taken.append(take)
        if scoped:
            part = allocate(take, [x if f else 0 for x, f in zip(left, flags, strict=True)])
            left = [x - p for x, p in zip(left, part, strict=True)]
            shares = [s + p for s, p in zip(shares, part, strict=True)]
    if not scoped:
        shares = allocate(sum(taken), amounts) if amounts else []
    return taken, shares
