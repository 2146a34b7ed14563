"""The Books page: the trial balance of a date range and the journal, for owners, managers
and billing staff. Read only: the books change only through the services that post to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from medspa.core.errors import Invalid
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text
from medspa.ledger.models import JournalEntry
from medspa.ledger.selectors import JournalFilter, journal, trial_balance

PAGE_SIZE = 50
TYPE_WORDS = {
    "asset": "Asset",
    "liability": "Liability",
    "equity": "Equity",
    "revenue": "Revenue",
    "expense": "Expense",
}


@dataclass(frozen=True)
class Line:
    account: str
    debit: str
    credit: str
    memo: str


@dataclass(frozen=True)
class Entry:
    entry: JournalEntry
    at: datetime
    lines: list[Line]


def _money(cents: int, currency: str) -> str:
    return decimal_text(cents, currency) if cents else ""


def _day(raw: str, errors: dict[str, str], name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Give a date, e.g. 2026-03-01."
        return None


def _filters(params: Any, today: date) -> tuple[JournalFilter, dict[str, str], dict[str, str]]:
    """The query string as a filter (this month by default), what could not be read, the echo."""
    errors: dict[str, str] = {}
    given = {n: str(params.get(n, "")).strip()[:40] for n in ("from", "to", "account")}
    if not given["from"] and not given["to"]:
        given["from"] = today.replace(day=1).isoformat()
        given["to"] = today.isoformat()
    start, end = _day(given["from"], errors, "from"), _day(given["to"], errors, "to")
    if start and end and end < start:
        errors["to"] = "The end date is before the start date."
        end = None
    account = given["account"]
    account_id = int(account) if account.isdigit() and len(account) < 12 else None
    if account and account_id is None:
        errors["account"] = "Choose an account from the list."
    return JournalFilter(start=start, end=end, account_id=account_id), errors, given


@login_required
@require_GET
def books(request: HttpRequest) -> HttpResponse:
    """The trial balance of the range and its journal entries, newest first."""
    who = page_staff(request, "ledger.view")
    organization = who.organization
    currency = organization.currency
    zone = timezone.get_current_timezone()  # page_staff set the organization's
    where, errors, given = _filters(request.GET, timezone.localdate())
    try:
        tb = trial_balance(organization, where.start, where.end)
    except Invalid as refusal:  # a range the selector refuses; the form says why
        errors["to"] = refusal.detail
        tb = trial_balance(organization)
    accounts = {row.account_id: row for row in tb.rows}
    if where.account_id is not None and where.account_id not in accounts:
        errors["account"] = "Choose an account from the list."
        where = JournalFilter(start=where.start, end=where.end)
    page = int(request.GET.get("page", "1")) if request.GET.get("page", "").isdigit() else 1
    page = max(page, 1)
    entries = journal(organization, where)
    found = list(entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    rows = [
        Entry(
            entry=e,
            at=e.occurred_at,
            lines=[
                Line(
                    account=f"{ln.account.number} {ln.account.name}",
                    debit=_money(ln.debit_cents, currency),
                    credit=_money(ln.credit_cents, currency),
                    memo=ln.memo,
                )
                for ln in e.lines.all()
            ],
        )
        for e in found[:PAGE_SIZE]
    ]
    echo = {k: v for k, v in given.items() if v}
    base = reverse("frontdesk:books")
    context = {
        "nav": "books",
        "given": given,
        "errors": errors,
        "currency": currency,
        "zone": str(zone),
        "balance": tb,
        "tb_rows": [
            {
                "id": r.account_id,
                "number": r.number,
                "name": r.name,
                "type": TYPE_WORDS.get(r.type, r.type),
                "debit": _money(r.debit_cents, currency),
                "credit": _money(r.credit_cents, currency),
                "balance": decimal_text(r.balance_cents, currency),
                "moved": bool(r.debit_cents or r.credit_cents),
            }
            for r in tb.rows
        ],
        "total_debit": decimal_text(tb.debit_cents, currency),
        "total_credit": decimal_text(tb.credit_cents, currency),
        "entries": rows,
        "account_name": (
            f"{accounts[where.account_id].number} {accounts[where.account_id].name}"
            if where.account_id is not None
            else ""
        ),
        "older": f"{base}?{urlencode({**echo, 'page': str(page + 1)})}"
        if len(found) > PAGE_SIZE
        else "",
        "newer": f"{base}?{urlencode({**echo, 'page': str(page - 1)})}" if page > 1 else "",
    }
    return render(request, "frontdesk/ledger/books.html", context)


urlpatterns: list[URLPattern] = [
    path("books/", books, name="books"),
]
