"""`medspa rotate_keys`: re-encrypt every stored token under the newest key of the ring."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction

from medspa.core.audit import audit_context, record_event
from medspa.core.crypto import is_current, key_ring, rotate_token
from medspa.core.fields import EncryptedBinaryField, EncryptedJSONField, EncryptedTextField

BATCH_SIZE = 500


@dataclass
class ColumnCount:
    label: str
    rotated: int = 0
    current: int = 0


def encrypted_columns() -> Iterator[tuple[type[models.Model], models.Field[Any, Any]]]:
    """Every concrete encrypted column of every installed model, each table once."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.local_concrete_fields:
            if isinstance(field, EncryptedTextField | EncryptedJSONField | EncryptedBinaryField):
                yield model, field


def rotate_column(
    model: type[models.Model], field: models.Field[Any, Any], *, dry_run: bool, batch_size: int
) -> ColumnCount:
    """Rotate one column in primary-key order, one transaction per batch."""
    qn = connection.ops.quote_name
    table, column, pk = qn(model._meta.db_table), qn(field.column), qn(model._meta.pk.column)
    # Raw SQL on purpose: the ORM would decrypt on read and encrypt again on write, and
    # `update(field=token)` would encrypt the token itself.
    where = f"{column} IS NOT NULL AND {column} <> ''"
    first = f"SELECT {pk}, {column} FROM {table} WHERE {where} ORDER BY {pk} LIMIT {batch_size}"
    after = (
        f"SELECT {pk}, {column} FROM {table} WHERE {pk} > %s AND {where} "
        f"ORDER BY {pk} LIMIT {batch_size}"
    )
    update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s"
    count = ColumnCount(label=f"{model._meta.label}.{field.name}")
    last: Any = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if last is None:
                cursor.execute(first)
            else:
                cursor.execute(after, [last])
            rows = cursor.fetchall()
            for row_pk, token in rows:
                if is_current(token):
                    count.current += 1  # a re-run after a crash skips what is done
                    continue
                count.rotated += 1
                if not dry_run:
                    # Only if unchanged since the read: a concurrent save already used the new key.
                    cursor.execute(update, [rotate_token(token), row_pk, token])
        if len(rows) < batch_size:
            return count
        last = rows[-1][0]


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the newest key in MEDSPA_ENCRYPTION_KEYS. "
        "Safe to re-run; remove an old key from the ring only after it has finished."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        try:
            key_ring()  # a malformed key fails here, before any row is read
        except ImproperlyConfigured as refusal:
            raise CommandError(str(refusal)) from None
        counts = [
            rotate_column(model, field, dry_run=dry_run, batch_size=options["batch_size"])
            for model, field in encrypted_columns()
        ]
        for count in counts:
            verb = "to rotate" if dry_run else "rotated"
            self.stdout.write(
                f"{count.label}: {count.rotated} {verb}, {count.current} already current"
            )
        total = sum(count.rotated for count in counts)
        if dry_run:
            self.stdout.write(f"Dry run: {total} values would be rotated; nothing changed.")
            return
        # One event for the whole run in the system chain (organization=None): a rotation
        # is an act on the installation's key ring, not on one clinic's records.
        with audit_context(via="cli"), transaction.atomic():
            record_event(
                organization=None,
                actor=None,
                action="encryption.keys_rotated",
                object_type="key_ring",
                object_id="MEDSPA_ENCRYPTION_KEYS",
                data={
                    "keys_in_ring": key_ring().size,
                    "rotated": {c.label: c.rotated for c in counts},
                    "already_current": {c.label: c.current for c in counts},
                },
            )
        self.stdout.write(f"Rotated {total} values to the newest key.")
