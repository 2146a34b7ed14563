"""Idempotency keys: a retried write returns the first answer instead of acting twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from medspa.core.errors import Conflict, FieldError, Invalid
from medspa.core.models import IdempotencyRecord, Organization

MAX_KEY_LENGTH = 200

# Claim a key in one statement. A concurrent request with the same key waits on the unique
# index until the first one commits, then inserts nothing and replays the stored answer.
_CLAIM = (
    "INSERT INTO core_idempotencyrecord "
    "(organization_id, scope, key, request_digest, created_at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (organization_id, scope, key) DO NOTHING RETURNING id"
)


_ANSWER = "UPDATE core_idempotencyrecord SET status_code = %s, response = %s WHERE id = %s"


def request_digest(payload: Any) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def run_idempotent(
    *,
    organization: Organization,
    key: str | None,
    scope: str,
    payload: Any,
    action: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Run the action once per key; a replay with the same body gets the stored answer.

    The key row is written in the same transaction as the action's effect, so either both
    exist or neither does: a failed attempt leaves the key free for a retry.
    """
    if key is None:
        return action()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise Invalid.on("Idempotency-Key", f"Give a key of 1 to {MAX_KEY_LENGTH} characters.")
    digest = request_digest(payload)
    with transaction.atomic():
        with connection.cursor() as cursor:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            cursor.execute(_CLAIM, [organization.pk, scope, key, digest, now])
            claimed = cursor.fetchone()
        if claimed is not None:
            status, body = action()
            with connection.cursor() as cursor:
                cursor.execute(_ANSWER, [status, json.dumps(body), claimed[0]])
            return status, body
        record = IdempotencyRecord.objects.filter(
            organization=organization, scope=scope, key=key
        ).first()
        if record is None or record.status_code is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed.",
                [FieldError("Idempotency-Key", "Retry in a moment.")],
                code="idempotency_in_progress",
            )
        if record.request_digest != digest:
            raise Invalid.on(
                "Idempotency-Key",
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
            )
        assert record.response is not None
        return record.status_code, record.response
