"""API tokens: create one for a staff user, and find the user behind a presented token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from medspa.core.audit import record_event
from medspa.core.models import ApiToken, User

TOKEN_PREFIX = "msp_"
# Touch last_used_at at most this often: a write per request would cost throughput.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(*, user: User, name: str = "", actor: User | None = None) -> str:
    """Issue a new bearer token for a staff user; the plain token is shown once, here."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken.objects.create(
        user=user, name=name, prefix=token[:10], digest=_digest(token)
    )
    record_event(
        organization=user.organization,
        actor=actor,
        action="api_token.created",
        object_type="api_token",
        object_id=api_token.pk,
        data={"user": user.pk, "name": name},
    )
    return token


def user_for_token(token: str) -> User | None:
    """The active staff user a token belongs to, or None for an unknown or revoked token."""
    api_token = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(digest=_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if api_token is None:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.user
