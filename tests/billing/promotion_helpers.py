"""Ids of another organization's promotion records, for the tenancy walk."""

from __future__ import annotations

from medspa.billing import promotions
from tests.conftest import Clinic


def their_promotion_ids(theirs: Clinic) -> dict[str, int]:
    promotion = promotions.create_promotion_code(
        organization=theirs.organization, actor=None, code="THEIRS10", percent_bp=1000
    )
    return {"code": promotion.pk}
