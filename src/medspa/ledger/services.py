"""Every write to the books: the chart of accounts, posting an entry, reversing one.

Callers (billing, inventory, the daily close) build `Posting`s in their own transaction and
call `post_entry`; the entry is written there, so a sale and its journal entry commit or
roll back together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid
from medspa.core.models import Location, Organization, User
from medspa.ledger.accounts import ACCOUNT_KEYS, SYSTEM_ACCOUNTS
from medspa.ledger.models import Account, JournalEntry, JournalLine

__all__ = [
    "ACCOUNT_KEYS",
    "MAX_AMOUNT_CENTS",
    "Posting",
    "ensure_chart_of_accounts",
    "post_entry",
    "reverse_entry",
]

# A trillion dollars in cents: far above any clinic's sale, far below a 64-bit sum's limit.
MAX_AMOUNT_CENTS = 10**14


def _is_int(value: object) -> bool:
    # bool is an int subclass; Decimal and float are refused: amounts are whole minor units.
    return type(value) is int


@dataclass(frozen=True)
class Posting:
    """One side of an entry: a debit or a credit of whole minor units to a system account."""

    account: str  # a system account key, e.g. "cash", "card_clearing" (see ACCOUNT_KEYS)
    debit_cents: int = 0  # exactly one of debit/credit is > 0; ints only
    credit_cents: int = 0
    memo: str = ""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise Invalid(detail=problems[0].reason, errors=problems)

    def problems(self) -> list[FieldError]:
        """What is wrong with this posting (empty if nothing)."""
        errors: list[FieldError] = []
        if self.account not in ACCOUNT_KEYS:
            errors.append(FieldError("account", f"Unknown account {self.account!r}."))
        for name in ("debit_cents", "credit_cents"):
            value = getattr(self, name)
            if not _is_int(value):
                errors.append(
                    FieldError(name, f"Amounts are whole cents (int), not {type(value).__name__}.")
                )
            elif value < 0:
                errors.append(FieldError(name, "Amounts are never negative."))
            elif value > MAX_AMOUNT_CENTS:
                errors.append(FieldError(name, "The amount is too large."))
        if not errors and (self.debit_cents > 0) == (self.credit_cents > 0):
            errors.append(
                FieldError("amount", "A posting is either a debit or a credit, above zero.")
            )
        return errors

    @property
    def signed_cents(self) -> int:
        """Debits positive, credits negative."""
        return self.debit_cents - self.credit_cents


def ensure_chart_of_accounts(organization: Organization) -> None:
    """Create the organization's system accounts that are missing; safe to run any time."""
    existing = set(
        Account.objects.filter(organization=organization, key__isnull=False).values_list(
            "key", flat=True
        )
    )
    missing = [a for a in SYSTEM_ACCOUNTS if a.key not in existing]
    if not missing:
        return
    # ignore_conflicts: two first postings at once both try to create the chart; one wins.
    Account.objects.bulk_create(
        [
            Account(organization=organization, key=a.key, number=a.number, name=a.name, type=a.type)
            for a in missing
        ],
        ignore_conflicts=True,
    )


def _accounts_by_key(organization: Organization, keys: set[str]) -> dict[str, Account]:
    """The system accounts named by keys; the chart is created on first use (one query after)."""
    found = {
        a.key: a for a in Account.objects.filter(organization=organization, key__in=keys) if a.key
    }
    if len(found) < len(keys):
        ensure_chart_of_accounts(organization)
        found = {
            a.key: a
            for a in Account.objects.filter(organization=organization, key__in=keys)
            if a.key
        }
    missing = sorted(keys - set(found))
    if missing:
        # A bookkeeper's own account took the number a new system account needs.
        raise Invalid(
            detail=f"The books have no account for {', '.join(missing)}: free its number in "
            "the chart of accounts, then try again.",
            errors=[FieldError("postings", f"Unknown account: {', '.join(missing)}.")],
            code="unknown_account",
        )
    return found


def _check_postings(postings: Sequence[Posting]) -> None:
    if not postings:
        raise Invalid.on("postings", "An entry needs at least two postings.")
    errors: list[FieldError] = []
    for i, posting in enumerate(postings):
        if not isinstance(posting, Posting):
            errors.append(FieldError(f"postings.{i}", "Not a Posting."))
            continue
        # Checked again here: a frozen dataclass can still be forced with object.__setattr__.
        errors.extend(FieldError(f"postings.{i}.{e.field}", e.reason) for e in posting.problems())
    if errors:
        raise Invalid(detail=errors[0].reason, errors=errors)
    if len(postings) < 2:
        raise Invalid.on("postings", "An entry needs at least two postings.")
    debits = sum(p.debit_cents for p in postings)
    credits = sum(p.credit_cents for p in postings)
    if debits != credits:
        raise Invalid(
            detail=f"unbalanced: debits {debits} != credits {credits}",
            errors=[FieldError("postings", "unbalanced: debits must equal credits")],
            code="unbalanced",
        )


def _write(
    *,
    organization: Organization,
    occurred_at: datetime,
    memo: str,
    postings: Sequence[Posting],
    source_type: str,
    source_id: int | None,
    location: Location | None,
    actor: User | None,
    reverses: JournalEntry | None,
) -> JournalEntry:
    accounts = _accounts_by_key(organization, {p.account for p in postings})
    entry = JournalEntry.objects.create(
        organization=organization,
        location=location,
        occurred_at=occurred_at,
        memo=memo[:300],
        source_type=source_type,
        source_id=source_id,
        reverses=reverses,
        created_by=actor,
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                entry=entry,
                organization=organization,
                occurred_at=occurred_at,
                account=accounts[p.account],
                debit_cents=p.debit_cents,
                credit_cents=p.credit_cents,
                memo=p.memo[:300],
            )
            for p in postings
        ]
    )
    return entry


def post_entry(
    *,
    organization: Organization,
    occurred_at: datetime,
    memo: str,
    postings: Sequence[Posting],
    source_type: str,
    source_id: int | None = None,
    location: Location | None = None,
    actor: User | None = None,
) -> JournalEntry:
    """Write one balanced journal entry, inside the caller's transaction; refuse anything else."""
    _check_postings(postings)
    if not source_type or len(source_type) > 40:
        raise Invalid.on("source_type", "Say what posted the entry (at most 40 characters).")
    if occurred_at.tzinfo is None:
        raise Invalid.on("occurred_at", "The time needs a time zone.")
    if location is not None and location.organization_id != organization.pk:
        raise Invalid.on("location", "The location belongs to another organization.")
    # No savepoint of its own: an entry is always part of its caller's use case, and an
    # error inside marks the caller's whole transaction for rollback, which is what we want
    # (a savepoint cost two round trips on every payment).
    with transaction.atomic(savepoint=False):
        entry = _write(
            organization=organization,
            occurred_at=occurred_at,
            memo=memo,
            postings=postings,
            source_type=source_type,
            source_id=source_id,
            location=location,
            actor=actor,
            reverses=None,
        )
        record_event(
            organization=organization,
            actor=actor,
            action="ledger.entry_posted",
            object_type="journal_entry",
            object_id=entry.pk,
            data={
                "source_type": source_type,
                "source_id": source_id,
                "lines": len(postings),
                "total_cents": sum(p.debit_cents for p in postings),
            },
        )
    return entry


def reverse_entry(
    *,
    entry: JournalEntry,
    occurred_at: datetime,
    memo: str,
    actor: User | None = None,
) -> JournalEntry:
    """Post the mirror of an entry (debits become credits); the original stays as it was."""
    if occurred_at.tzinfo is None:
        raise Invalid.on("occurred_at", "The time needs a time zone.")
    lines = list(entry.lines.select_related("account").order_by("id"))
    mirror: list[Posting] = []
    for line in lines:
        if line.account.key is None:
            raise Invalid.on("entry", "Entries on custom accounts are reversed by hand.")
        mirror.append(
            Posting(
                account=line.account.key,
                debit_cents=line.credit_cents,
                credit_cents=line.debit_cents,
                memo=line.memo,
            )
        )
    _check_postings(mirror)
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise Conflict("This entry was already reversed.", code="already_reversed")
    try:
        with transaction.atomic():
            reversal = _write(
                organization=entry.organization,
                occurred_at=occurred_at,
                memo=memo,
                postings=mirror,
                source_type=entry.source_type,
                source_id=entry.source_id,
                location=entry.location,
                actor=actor,
                reverses=entry,
            )
            record_event(
                organization=entry.organization,
                actor=actor,
                action="ledger.entry_reversed",
                object_type="journal_entry",
                object_id=reversal.pk,
                data={"reverses": entry.pk, "lines": len(mirror)},
            )
    except IntegrityError as exc:  # the one-to-one on `reverses`: reversed once only
        raise Conflict("This entry was already reversed.", code="already_reversed") from exc
    return reversal
