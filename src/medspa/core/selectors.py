"""Reads shared by the API and the pages, always scoped to one organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q

from medspa.core.errors import FieldError, NotFound
from medspa.core.models import AuditEvent, Location, Organization

M = TypeVar("M", bound=models.Model)


def get_owned(
    source: models.QuerySet[M] | type[M],
    *,
    organization: Organization,
    pk: Any,
    field: str,
    label: str | None = None,
) -> M:
    """Fetch one record of the organization, or 404 naming the field (never reveal others')."""
    qs: models.QuerySet[M] = source._default_manager.all() if isinstance(source, type) else source
    name = label or qs.model._meta.verbose_name
    try:
        return qs.get(organization=organization, pk=int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError):
        reason = f"No {name} with id {pk} in your organization."
        raise NotFound(reason, [FieldError(field, reason)]) from None


def locations_for(organization: Organization) -> models.QuerySet[Location]:
    return Location.objects.filter(organization=organization, is_active=True).order_by("name")


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log browser narrows to; empty values do not filter."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    actor_id: int | None = None
    action_prefix: str = ""
    object_type: str = ""
    object_id: str = ""
    # Events about any of these records: (object_type, ids as text: a list or a subquery).
    # Pages build it (a client's record and its appointments); core knows no higher app.
    about: tuple[tuple[str, Any], ...] = ()
    before_id: int | None = None  # keyset: only events older than this one


def audit_events(organization: Organization, where: AuditFilter) -> models.QuerySet[AuditEvent]:
    """The organization's audit events matching the filter, newest first."""
    qs = AuditEvent.objects.filter(organization=organization).select_related("actor")
    if where.since is not None:
        qs = qs.filter(at__gte=where.since)
    if where.until is not None:
        qs = qs.filter(at__lt=where.until)
    if where.actor_id is not None:
        qs = qs.filter(actor_id=where.actor_id)
    if where.action_prefix:
        qs = qs.filter(action__startswith=where.action_prefix)
    if where.object_type:
        qs = qs.filter(object_type=where.object_type)
    if where.object_id:
        qs = qs.filter(object_id=where.object_id)
    if where.about:
        match = Q(pk__in=[])
        for object_type, ids in where.about:
            match |= Q(object_type=object_type, object_id__in=ids)
        qs = qs.filter(match)
    if where.before_id is not None:
        qs = qs.filter(pk__lt=where.before_id)
    return qs.order_by("-id")


def audit_object_types(organization: Organization) -> list[str]:
    """The kinds of record the organization's audit log mentions, for the filter's choices."""
    return list(
        AuditEvent.objects.filter(organization=organization)
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )
