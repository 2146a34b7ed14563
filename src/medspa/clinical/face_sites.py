"""The named injection sites of the face diagram, and the check of a chart's site list.

Pure: no Django. The diagram is a front view; x and y run from 0 to 1 across the picture.
"Left" and "right" are the client's own sides, so a left site sits on the picture's right,
as the provider sees the client facing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_SITE_QUANTITY = Decimal("400")


@dataclass(frozen=True)
class Site:
    name: str
    label: str
    x: float
    y: float


def _pair(name: str, label: str, x: float, y: float) -> tuple[Site, Site]:
    """A site on both sides of the face: the client's right is on the picture's left."""
    return (
        Site(f"{name}_right", f"{label} (right)", round(x, 3), y),
        Site(f"{name}_left", f"{label} (left)", round(1 - x, 3), y),
    )


SITES: tuple[Site, ...] = (
    Site("forehead", "Forehead (centre)", 0.5, 0.17),
    *_pair("forehead", "Forehead", 0.36, 0.19),
    *_pair("temple", "Temple", 0.2, 0.3),
    Site("glabella", "Glabella (frown lines)", 0.5, 0.3),
    *_pair("brow", "Brow tail", 0.3, 0.3),
    *_pair("crows_feet", "Crow's feet", 0.2, 0.4),
    *_pair("tear_trough", "Tear trough", 0.37, 0.45),
    Site("bunny_lines", "Bunny lines (nose)", 0.5, 0.45),
    *_pair("cheek", "Cheek", 0.28, 0.53),
    *_pair("nasolabial", "Nasolabial fold", 0.38, 0.62),
    Site("upper_lip", "Upper lip", 0.5, 0.69),
    Site("lower_lip", "Lower lip", 0.5, 0.75),
    *_pair("marionette", "Marionette line", 0.39, 0.78),
    *_pair("masseter", "Masseter", 0.2, 0.67),
    Site("chin", "Chin", 0.5, 0.86),
    *_pair("jawline", "Jawline", 0.27, 0.8),
)
BY_NAME: dict[str, Site] = {site.name: site for site in SITES}


class SiteError(ValueError):
    """A site list that cannot be recorded: which part is wrong and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def quantity_of(value: Any, field: str, *, maximum: Decimal = MAX_SITE_QUANTITY) -> Decimal:
    """A positive amount with at most two decimals, or SiteError naming the field."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise SiteError(field, "Give the amount as a number, e.g. 4 or 0.5.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise SiteError(field, "Give the amount as a number, e.g. 4 or 0.5.") from None
    if not amount.is_finite() or amount <= 0:
        raise SiteError(field, "The amount must be more than 0.")
    if amount != amount.quantize(Decimal("0.01")):
        raise SiteError(field, "Use at most two decimals.")
    if amount > maximum:
        raise SiteError(field, f"At most {maximum} per entry.")
    return amount.quantize(Decimal("0.01"))


def plain(amount: Decimal) -> str:
    """An amount without trailing zeros: 4, 0.5, 12.25."""
    text = format(amount.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_sites(raw: Any, total: Decimal | None = None) -> list[dict[str, Any]]:
    """The site list as stored: known sites once each, with the diagram's coordinates.

    Each item names a site and may give its amount; either every site has an amount and
    they add up to the entry's total, or none has one (the total was spread by eye).
    """
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raise SiteError("sites", "Give the sites as a list.")
    if len(raw) > len(SITES):
        raise SiteError("sites", f"At most {len(SITES)} sites.")
    seen: set[str] = set()
    cleaned: list[dict[str, Any]] = []
    amounts: list[Decimal] = []
    for i, item in enumerate(raw):
        where = f"sites.{i}"
        if not isinstance(item, dict):
            raise SiteError(where, "Each site needs a name, e.g. glabella.")
        name = item.get("site")
        if not isinstance(name, str) or name not in BY_NAME:
            raise SiteError(f"{where}.site", f"{str(name)[:40]!r} is not a site of the diagram.")
        if name in seen:
            raise SiteError(f"{where}.site", f"{BY_NAME[name].label} is marked twice.")
        seen.add(name)
        site = BY_NAME[name]
        entry: dict[str, Any] = {"site": name, "x": site.x, "y": site.y}
        value = item.get("quantity")
        if value not in (None, ""):
            amount = quantity_of(value, f"{where}.quantity")
            amounts.append(amount)
            entry["quantity"] = plain(amount)
        cleaned.append(entry)
    if amounts and len(amounts) != len(cleaned):
        raise SiteError("sites", "Give an amount for every marked site, or for none of them.")
    if amounts and total is not None and sum(amounts) != total:
        raise SiteError(
            "sites",
            f"The sites add up to {plain(sum(amounts, Decimal(0)))}, "
            f"but the entry is {plain(total)}: make them match.",
        )
    return cleaned


def labels(names: Iterable[str]) -> list[str]:
    """The sites' names as the clinic says them."""
    return [BY_NAME[n].label if n in BY_NAME else n for n in names]
