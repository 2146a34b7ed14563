"""Ledger records of an organization, for tests that probe another organization's ids."""

from __future__ import annotations

from medspa.ledger.models import Account
from medspa.ledger.services import ensure_chart_of_accounts
from tests.conftest import Clinic


def their_ledger_ids(theirs: Clinic) -> dict[str, int]:
    """An account of the outsider's chart."""
    ensure_chart_of_accounts(theirs.organization)
    return {"account": Account.objects.get(organization=theirs.organization, key="cash").pk}
