"""The face diagram's sites: a site list is recorded only when it makes sense."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medspa.clinical.face_sites import BY_NAME, SITES, SiteError, check_sites, plain

NAMES = [site.name for site in SITES]
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2)


def test_every_site_sits_on_the_picture_and_pairs_mirror_each_other() -> None:
    assert len(NAMES) == len(set(NAMES))
    for site in SITES:
        assert 0 < site.x < 1 and 0 < site.y < 1
        if site.name.endswith("_left"):
            right = BY_NAME[site.name.removesuffix("_left") + "_right"]
            assert site.x == pytest.approx(1 - right.x) and site.y == right.y
            # The client's left shows on the picture's right.
            assert site.x > 0.5


@given(st.lists(st.tuples(st.sampled_from(NAMES), amounts), unique_by=lambda t: t[0], max_size=12))
def test_sites_with_amounts_that_add_up_are_kept_in_order(
    picked: list[tuple[str, Decimal]],
) -> None:
    total = sum((amount for _, amount in picked), Decimal(0))
    raw = [{"site": name, "quantity": str(amount)} for name, amount in picked]
    cleaned = check_sites(raw, total if picked else None)
    assert [c["site"] for c in cleaned] == [name for name, _ in picked]
    assert all(
        Decimal(c["quantity"]) == amount for c, (_, amount) in zip(cleaned, picked, strict=True)
    )
    assert all((c["x"], c["y"]) == (BY_NAME[c["site"]].x, BY_NAME[c["site"]].y) for c in cleaned)


@given(
    st.lists(st.tuples(st.sampled_from(NAMES), amounts), unique_by=lambda t: t[0], min_size=1),
    amounts,
)
def test_amounts_that_do_not_add_up_to_the_entry_are_refused(
    picked: list[tuple[str, Decimal]], total: Decimal
) -> None:
    raw = [{"site": name, "quantity": str(amount)} for name, amount in picked]
    if sum(a for _, a in picked) == total:
        return
    with pytest.raises(SiteError) as refused:
        check_sites(raw, total)
    assert "add up" in refused.value.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values, st.none() | amounts)
def test_any_input_is_either_a_clean_site_list_or_a_site_error(
    raw: Any, total: Decimal | None
) -> None:
    try:
        cleaned = check_sites(raw, total)
    except SiteError as problem:
        assert problem.field and problem.reason
    else:
        assert all(c["site"] in BY_NAME for c in cleaned)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([{"site": "ear"}], "sites.0.site"),
        ([{"site": "chin"}, {"site": "chin"}], "sites.1.site"),
        ([{"site": "chin", "quantity": "-2"}], "sites.0.quantity"),
        ([{"site": "chin", "quantity": "1.234"}], "sites.0.quantity"),
        ([{"site": "chin", "quantity": "2"}, {"site": "glabella"}], "sites"),
        ("glabella", "sites"),
        ([["glabella"]], "sites.0"),
    ],
)
def test_clear_reasons_for_lists_that_cannot_be_recorded(raw: Any, field: str) -> None:
    with pytest.raises(SiteError) as refused:
        check_sites(raw, Decimal("2"))
    assert refused.value.field == field


def test_amounts_are_written_without_trailing_zeros() -> None:
    assert [plain(Decimal(v)) for v in ("4.00", "0.50", "12.25", "20")] == [
        "4",
        "0.5",
        "12.25",
        "20",
    ]
