"""Pieces every API router and page shares: who is calling, list envelopes, problem+json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any, Generic, TypeVar

from django.http import HttpRequest, HttpResponse
from django.templatetags.tz import do_timezone
from ninja import Schema
from ninja.params.functions import Header
from pydantic import AfterValidator, StringConstraints

from medspa.core.errors import DomainError, Forbidden
from medspa.core.models import Organization, User
from medspa.core.permissions import require

T = TypeVar("T")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    return value


# Text fields of API input: bounded, and free of characters no database stores.
Name = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_nul)]
ShortText = Annotated[str, StringConstraints(max_length=300), AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
Moment = Annotated[str, StringConstraints(max_length=40), AfterValidator(_no_nul)]

# The header a client sends so that a retried write acts once (see core/idempotency.py).
IdempotencyKey = Annotated[str | None, Header(None, alias="Idempotency-Key")]


class ListOut(Schema, Generic[T]):
    items: list[T]
    count: int


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member and the organization every read and write is scoped to."""

    user: User
    organization: Organization


def staff(request: HttpRequest, action: str) -> Staff:
    """The caller, refused unless a member of an organization whose role allows the action."""
    user = getattr(request, "auth", None) or request.user
    if not isinstance(user, User) or user.organization is None:
        raise Forbidden("Only staff of a clinic can use this.")
    require(user, action)
    return Staff(user=user, organization=user.organization)


def problem_response(error: DomainError) -> HttpResponse:
    """Render a domain error as RFC 9457 problem details."""
    body: dict[str, Any] = {
        "type": f"https://medspa.example/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "errors": [{"field": e.field, "reason": e.reason} for e in error.errors],
    }
    return HttpResponse(
        json.dumps(body), status=error.status, content_type="application/problem+json"
    )


def wall_clock(moment: datetime, zone: tzinfo) -> datetime:
    """The moment in `zone`, kept there by templates' `|date`/`|time` filters.

    Those filters convert an aware datetime to the active zone; this is Django's own
    `|timezone` filter, for a value computed in a view (one row per location, say).
    """
    return do_timezone(moment, zone)  # type: ignore[no-any-return]
