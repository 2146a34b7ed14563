"""Reads of the books shared by the API, the Books page and the exports; one organization each."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import Prefetch, QuerySet, Sum

from medspa.core.errors import Invalid
from medspa.core.models import Location, Organization
from medspa.ledger.exports import ExportEntry, ExportLine
from medspa.ledger.models import DEBIT_NORMAL, Account, JournalEntry, JournalLine


def books_zone(organization: Organization) -> tzinfo:
    """The zone the books' dates are read in: the organization's first location's (else UTC).

    A day's close and a date range on the Books page mean the clinic's calendar day, not UTC's;
    an organization with sites in several zones keeps one calendar for its books.
    """
    first = (
        Location.objects.filter(organization=organization).order_by("id").values("time_zone")[:1]
    )
    for row in first:
        return zoneinfo.ZoneInfo(row["time_zone"])
    return UTC


def day_bounds(
    zone: tzinfo, start: date | None, end: date | None
) -> tuple[datetime | None, datetime | None]:
    """Local calendar days [start, end] as UTC instants [from, until); None leaves a side open."""
    if start is not None and end is not None and end < start:
        raise Invalid.on("to", "The end date is before the start date.")
    since = datetime.combine(start, time(0), tzinfo=zone) if start else None
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone) if end else None
    return since, until


def accounts(organization: Organization) -> QuerySet[Account]:
    """The organization's chart of accounts, by number."""
    return Account.objects.filter(organization=organization).order_by("number")


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    number: str
    name: str
    type: str
    key: str | None
    debit_cents: int
    credit_cents: int

    @property
    def balance_cents(self) -> int:
        """The balance on the account's normal side (a debit balance for assets, ...)."""
        net = self.debit_cents - self.credit_cents
        return net if self.type in DEBIT_NORMAL else -net

    @property
    def net_debit_cents(self) -> int:
        return max(self.debit_cents - self.credit_cents, 0)

    @property
    def net_credit_cents(self) -> int:
        return max(self.credit_cents - self.debit_cents, 0)


@dataclass(frozen=True)
class TrialBalance:
    currency: str
    start: date | None
    end: date | None
    rows: list[TrialBalanceRow] = field(default_factory=list)

    @property
    def debit_cents(self) -> int:
        return sum(r.debit_cents for r in self.rows)

    @property
    def credit_cents(self) -> int:
        return sum(r.credit_cents for r in self.rows)

    @property
    def net_debit_cents(self) -> int:
        return sum(r.net_debit_cents for r in self.rows)

    @property
    def net_credit_cents(self) -> int:
        return sum(r.net_credit_cents for r in self.rows)

    @property
    def balanced(self) -> bool:
        return self.debit_cents == self.credit_cents


def line_totals(
    organization: Organization, since: datetime | None, until: datetime | None
) -> dict[int, tuple[int, int]]:
    """Debit and credit totals per account id over [since, until): one grouped query."""
    qs = JournalLine.objects.filter(organization=organization)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    grouped = (
        qs.order_by().values("account_id").annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    )
    # int(): PostgreSQL's SUM over bigint is numeric (a Decimal in Python); the value is whole.
    return {row["account_id"]: (int(row["d"] or 0), int(row["c"] or 0)) for row in grouped}


def trial_balance(
    organization: Organization, start: date | None = None, end: date | None = None
) -> TrialBalance:
    """Every account's debits, credits and balance over local days [start, end]; 3 queries."""
    since, until = day_bounds(books_zone(organization), start, end)
    totals = line_totals(organization, since, until)
    rows = [
        TrialBalanceRow(
            account_id=a.pk,
            number=a.number,
            name=a.name,
            type=a.type,
            key=a.key,
            debit_cents=totals.get(a.pk, (0, 0))[0],
            credit_cents=totals.get(a.pk, (0, 0))[1],
        )
        for a in accounts(organization)
        if a.is_active or a.pk in totals
    ]
    return TrialBalance(currency=organization.currency, start=start, end=end, rows=rows)


def account_balance(organization: Organization, key: str, at: datetime | None = None) -> int:
    """A system account's balance on its normal side, up to (not including) `at`."""
    account = Account.objects.filter(organization=organization, key=key).first()
    if account is None:
        return 0
    qs = JournalLine.objects.filter(organization=organization, account=account)
    if at is not None:
        qs = qs.filter(occurred_at__lt=at)
    sums = qs.aggregate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    net = int(sums["d"] or 0) - int(sums["c"] or 0)
    return net if account.is_debit_normal else -net


@dataclass(frozen=True)
class JournalFilter:
    """What the journal list narrows to; empty values do not filter."""

    start: date | None = None
    end: date | None = None
    account_id: int | None = None
    source_type: str = ""


def journal(organization: Organization, where: JournalFilter) -> QuerySet[JournalEntry]:
    """The organization's entries matching the filter, newest first, lines and accounts prefetched.

    Slicing the result costs two queries whatever the page size.
    """
    since, until = day_bounds(books_zone(organization), where.start, where.end)
    qs = JournalEntry.objects.filter(organization=organization).select_related("location")
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    if where.account_id is not None:
        qs = qs.filter(
            pk__in=JournalLine.objects.filter(
                organization=organization, account_id=where.account_id
            ).values("entry_id")
        )
    if where.source_type:
        qs = qs.filter(source_type=where.source_type)
    lines = JournalLine.objects.select_related("account").order_by("id")
    return qs.prefetch_related(Prefetch("lines", queryset=lines)).order_by("-occurred_at", "-id")


def export_entries(
    organization: Organization, start: date | None, end: date | None
) -> list[ExportEntry]:
    """The entries of local days [start, end] as plain rows for the export formats, oldest first.

    Each entry's date is the local date of its location's zone (the books' zone without one).
    """
    default_zone = books_zone(organization)
    since, until = day_bounds(default_zone, start, end)
    qs = journal(organization, JournalFilter()).order_by("occurred_at", "id")
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    rows: list[ExportEntry] = []
    for entry in qs.iterator(chunk_size=2000):
        zone = entry.location.zone if entry.location is not None else default_zone
        rows.append(
            ExportEntry(
                number=entry.pk,
                date=entry.occurred_at.astimezone(zone).date(),
                memo=entry.memo,
                source=f"{entry.source_type}:{entry.source_id}"
                if entry.source_id is not None
                else entry.source_type,
                location=entry.location.name if entry.location is not None else "",
                lines=tuple(
                    ExportLine(
                        account_number=line.account.number,
                        account_name=line.account.name,
                        account_type=line.account.type,
                        debit_cents=line.debit_cents,
                        credit_cents=line.credit_cents,
                        memo=line.memo,
                    )
                    for line in entry.lines.all()
                ),
            )
        )
    return rows
