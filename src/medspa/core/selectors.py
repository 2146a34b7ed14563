"""Reads shared by the API and the pages, always scoped to one organization."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from medspa.core.errors import FieldError, NotFound
from medspa.core.models import Location, Organization

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
