"""Idempotency keys: a retried write returns the first answer instead of acting twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from medspa.core.errors import Conflict, FieldError, Invalid
from medspa.core.models import IdempotencyRecord, Organization

MAX_KEY_LENGTH = 200


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
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid.on("Idempotency-Key", f"Give a key of 1 to {MAX_KEY_LENGTH} characters.")
    digest = request_digest(payload)
    records = IdempotencyRecord.objects.filter(organization=organization, scope=scope, key=key)
    with transaction.atomic():
        record = records.first()
        if record is None:
            try:
                # A concurrent request with the same key waits here on the unique index
                # until the first one commits, then finds its answer below.
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        organization=organization, scope=scope, key=key, request_digest=digest
                    )
            except IntegrityError:
                record = records.first()
                if record is None:
                    raise Conflict(
                        "A request with this Idempotency-Key is still being processed.",
                        [FieldError("Idempotency-Key", "Retry in a moment.")],
                        code="idempotency_in_progress",
                    ) from None
            else:
                status, body = action()
                record.status_code, record.response = status, body
                record.save(update_fields=["status_code", "response"])
                return status, body
        if record.request_digest != digest:
            raise Invalid.on(
                "Idempotency-Key",
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
            )
        assert record.status_code is not None and record.response is not None
        return record.status_code, record.response
