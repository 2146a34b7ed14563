"""The books over HTTP: the chart of accounts, the trial balance and the journal (read only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from medspa.core.models import Location
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, Name, staff
from medspa.ledger.models import Account
from medspa.ledger.selectors import JournalFilter, accounts, journal, trial_balance

router = Router(tags=["ledger"])


class AccountOut(Schema):
    id: int
    key: str | None
    number: str
    name: str
    type: str
    is_active: bool


class TrialBalanceRowOut(Schema):
    account: int
    number: str
    name: str
    type: str
    debit_cents: int
    credit_cents: int
    balance_cents: int = Field(description="On the account's normal side.")


class TrialBalanceOut(Schema):
    currency: str
    start: date | None
    end: date | None
    rows: list[TrialBalanceRowOut]
    debit_cents: int
    credit_cents: int
    balanced: bool


class LineOut(Schema):
    account: int
    account_number: str
    account_name: str
    debit_cents: int
    credit_cents: int
    memo: str


class EntryOut(Schema):
    id: int
    occurred_at: datetime
    memo: str
    source_type: str
    source_id: int | None
    location: int | None
    reverses: int | None
    lines: list[LineOut]


class RangeQuery(Schema):
    start: date | None = Field(None, alias="from", description="First local day, inclusive.")
    end: date | None = Field(None, alias="to", description="Last local day, inclusive.")


class EntriesQuery(RangeQuery):
    account: int | None = None
    location: int | None = None
    source_type: Name = ""
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0)] = 0


@router.get("/ledger/accounts", response=ListOut[AccountOut])
def list_accounts(request: HttpRequest) -> dict[str, object]:
    """The organization's chart of accounts, by number."""
    me = staff(request, "ledger.view")
    items = [AccountOut.from_orm(a) for a in accounts(me.organization)]
    return {"items": items, "count": len(items)}


@router.get("/ledger/trial-balance", response=TrialBalanceOut)
def get_trial_balance(request: HttpRequest, q: Query[RangeQuery]) -> dict[str, object]:
    """Debits, credits and balance per account over local days [from, to]; totals are equal."""
    me = staff(request, "ledger.view")
    tb = trial_balance(me.organization, q.start, q.end)
    return {
        "currency": tb.currency,
        "start": tb.start,
        "end": tb.end,
        "rows": [
            {
                "account": r.account_id,
                "number": r.number,
                "name": r.name,
                "type": r.type,
                "debit_cents": r.debit_cents,
                "credit_cents": r.credit_cents,
                "balance_cents": r.balance_cents,
            }
            for r in tb.rows
        ],
        "debit_cents": tb.debit_cents,
        "credit_cents": tb.credit_cents,
        "balanced": tb.balanced,
    }


@router.get("/ledger/entries", response=ListOut[EntryOut])
def list_entries(request: HttpRequest, q: Query[EntriesQuery]) -> dict[str, object]:
    """Journal entries, newest first, with their lines; filter by days, account, location."""
    me = staff(request, "ledger.view")
    org = me.organization
    account = None
    if q.account is not None:
        account = get_owned(Account, organization=org, pk=q.account, field="account")
    if q.location is not None:
        get_owned(Location, organization=org, pk=q.location, field="location")
    qs = journal(
        org,
        JournalFilter(
            start=q.start,
            end=q.end,
            account_id=account.pk if account else None,
            source_type=q.source_type,
        ),
    )
    if q.location is not None:
        qs = qs.filter(location_id=q.location)
    items = [
        {
            "id": e.pk,
            "occurred_at": e.occurred_at,
            "memo": e.memo,
            "source_type": e.source_type,
            "source_id": e.source_id,
            "location": e.location_id,
            "reverses": e.reverses_id,
            "lines": [
                {
                    "account": ln.account_id,
                    "account_number": ln.account.number,
                    "account_name": ln.account.name,
                    "debit_cents": ln.debit_cents,
                    "credit_cents": ln.credit_cents,
                    "memo": ln.memo,
                }
                for ln in e.lines.all()
            ],
        }
        for e in qs[q.offset : q.offset + q.limit]
    ]
    return {"items": items, "count": qs.count()}
