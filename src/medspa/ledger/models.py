"""The books: a chart of accounts per organization and an append-only double-entry journal."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from medspa.core.models import Location, Organization


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


# Assets and expenses grow with debits; the others grow with credits.
DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


class Account(models.Model):
    """One account of an organization's chart; system accounts carry a key the code posts to."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    # The code posts by key ("cash"); custom accounts added by the clinic's bookkeeper have none.
    key = models.CharField(max_length=40, null=True, blank=True)
    number = models.CharField(max_length=10)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                condition=models.Q(key__isnull=False),
                name="ledger_account_unique_key",
            ),
            models.UniqueConstraint(
                fields=["organization", "number"], name="ledger_account_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def is_debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL


class Immutable(Exception):
    """Journal rows are never changed or removed: corrections are reversing entries."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise Immutable("Journal rows are never updated; post a reversing entry.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise Immutable("Journal rows are never deleted; post a reversing entry.")


class AppendOnlyModel(models.Model):
    objects: ClassVar[models.Manager[Any]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise Immutable("Journal rows are never updated; post a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise Immutable("Journal rows are never deleted; post a reversing entry.")


class JournalEntry(AppendOnlyModel):
    """One balanced money movement: what happened, when, and which record caused it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="journal_entries"
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    memo = models.CharField(max_length=300)
    # What posted it ("invoice", "payment", "daily_close") and its id, without a foreign key:
    # the ledger knows no invoices (it sits below billing).
    source_type = models.CharField(max_length=40)
    source_id = models.BigIntegerField(null=True, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="ledger_entry_org_when"),
            models.Index(
                fields=["organization", "source_type", "source_id"], name="ledger_entry_source"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.memo}"


class JournalLine(AppendOnlyModel):
    """One side of an entry: a debit or a credit to one account, in minor units."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    # Copied from the entry so the trial balance reads one table through one index.
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit_cents = models.BigIntegerField(default=0)
    credit_cents = models.BigIntegerField(default=0)
    memo = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["entry_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit_cents__gt=0) & models.Q(credit_cents=0))
                | (models.Q(debit_cents=0) & models.Q(credit_cents__gt=0)),
                name="ledger_line_one_side",
            )
        ]
        indexes = [
            # The trial balance: a range of one organization's lines, summed per account.
            # PostgreSQL gets a covering index instead (migration 0002), for index-only scans.
            models.Index(fields=["organization", "occurred_at"], name="ledger_line_org_when"),
            models.Index(fields=["account", "occurred_at"], name="ledger_line_account_when"),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit_cents}" if self.debit_cents else f"Cr {self.credit_cents}"
        return f"{self.account_id} {side}"
