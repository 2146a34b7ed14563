"""The append-only audit log: every write records who did what to which record, and from where."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from medspa.core.models import AuditChainHead, AuditEvent, Organization, User

GENESIS = "0" * 64


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    via: str = "system"  # "web", "api", "cli", "worker", "system"


NO_REQUEST = RequestContext()
_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "medspa_audit_context", default=None
)


@contextlib.contextmanager
def audit_context(*, ip_address: str | None = None, via: str = "system") -> Iterator[None]:
    """Tag the audit events written inside the block with where the request came from."""
    token = _context.set(RequestContext(ip_address=ip_address, via=via))
    try:
        yield
    finally:
        _context.reset(token)


def _digest(prev_hash: str, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def _payload(
    *,
    organization_id: int | None,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any],
    ip_address: str | None,
) -> dict[str, Any]:
    return {
        "organization": organization_id,
        "at": at.isoformat(),
        "actor": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
        "ip": ip_address,
    }


def _start_chain(organization: Organization | None) -> AuditChainHead:
    """Create the organization's chain head; a concurrent first write may win the race."""
    try:
        with transaction.atomic():
            return AuditChainHead.objects.create(organization=organization, last_hash=GENESIS)
    except IntegrityError:
        return (
            AuditChainHead.objects.select_for_update()
            .filter(organization=organization)
            .only("id", "last_hash")
            .get()
        )


def record_event(
    *,
    organization: Organization | None,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event to the organization's hash chain, inside the caller's transaction."""
    ctx = _context.get() or NO_REQUEST
    data = dict(data or {})
    if ctx.via != "system":
        data.setdefault("via", ctx.via)
    # Part of the caller's transaction: no savepoint of its own (one less round trip).
    with transaction.atomic(savepoint=False):
        # The head row lock orders appends, so the chain never forks under concurrency.
        head = (
            AuditChainHead.objects.select_for_update()
            .filter(organization=organization)
            .only("id", "last_hash")
            .first()
        )
        if head is None:
            head = _start_chain(organization)
        at = timezone.now()
        actor_id = actor.pk if actor is not None else None
        org_id = organization.pk if organization is not None else None
        payload = _payload(
            organization_id=org_id,
            at=at,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
            ip_address=ctx.ip_address,
        )
        event_hash = _digest(head.last_hash, payload)
        event = AuditEvent.objects.create(
            organization=organization,
            at=at,
            actor=actor,
            actor_label=str(actor) if actor is not None else ctx.via,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
            ip_address=ctx.ip_address,
            prev_hash=head.last_hash,
            hash=event_hash,
        )
        with connection.cursor() as cursor:  # plain SQL: one of every write's statements
            cursor.execute(
                "UPDATE core_auditchainhead SET last_hash = %s WHERE id = %s",
                [event_hash, head.pk],
            )
    return event


def verify_chain(organization: Organization | None) -> int | None:
    """The id of the first event whose hash does not match (0 if all are gone), or None."""
    prev = GENESIS
    last = 0
    events = AuditEvent.objects.filter(organization=organization).order_by("id")
    for event in events.iterator(chunk_size=2000):
        payload = _payload(
            organization_id=event.organization_id,
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            data=event.data,
            ip_address=event.ip_address,
        )
        if event.prev_hash != prev or _digest(prev, payload) != event.hash:
            return event.pk
        prev = event.hash
        last = event.pk
    # The head remembers the newest hash: removing the newest events shows up here.
    head = AuditChainHead.objects.filter(organization=organization).first()
    if head is not None and head.last_hash != prev:
        return last if prev != GENESIS else 0
    return None
