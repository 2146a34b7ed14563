"""Reads of intake forms, always scoped to one organization."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from medspa.catalog.models import Service
from medspa.clinical.models import IntakeQuestion, IntakeTemplate, IntakeTemplateVersion
from medspa.core.errors import FieldError, NotFound
from medspa.core.models import Organization
from medspa.core.selectors import get_owned


def template_list(
    organization: Organization, *, active_only: bool = False
) -> QuerySet[IntakeTemplate]:
    """The organization's intake templates by name, with their services and versions."""
    qs = IntakeTemplate.objects.filter(organization=organization).prefetch_related(
        Prefetch("services", queryset=Service.objects.only("id", "name")),
        Prefetch("versions", queryset=IntakeTemplateVersion.objects.order_by("number")),
    )
    return qs.filter(is_active=True) if active_only else qs


def template_detail(organization: Organization, template_id: object) -> IntakeTemplate:
    """One template with every version and its questions, or 404 (never another's)."""
    qs = IntakeTemplate.objects.prefetch_related(
        Prefetch("services", queryset=Service.objects.only("id", "name")),
        Prefetch(
            "versions",
            queryset=IntakeTemplateVersion.objects.order_by("number").prefetch_related(
                Prefetch("questions", queryset=IntakeQuestion.objects.order_by("position", "id"))
            ),
        ),
    )
    return get_owned(qs, organization=organization, pk=template_id, field="template_id")


def version_with_questions(
    organization: Organization, version_id: object, *, field: str = "version_id"
) -> IntakeTemplateVersion:
    """One version of the organization with its questions in order, or 404."""
    qs = IntakeTemplateVersion.objects.select_related("template").prefetch_related(
        Prefetch("questions", queryset=IntakeQuestion.objects.order_by("position", "id"))
    )
    return get_owned(
        qs, organization=organization, pk=version_id, field=field, label="intake form version"
    )


def current_versions_for_service(
    organization: Organization, service: Service
) -> list[IntakeTemplateVersion]:
    """The latest published version of each active template attached to the service.

    A service may ask for more than one form (a general health history and a treatment
    screening); a template with no published version yet asks for nothing.
    """
    published = (
        IntakeTemplateVersion.objects.published()
        .filter(
            organization=organization,
            template__is_active=True,
            template__services=service,
        )
        .select_related("template")
        .order_by("template__name", "template_id", "-number")
    )
    latest: dict[int, IntakeTemplateVersion] = {}
    for version in published:
        latest.setdefault(version.template_id, version)
    return list(latest.values())


def current_version_for_service(
    organization: Organization, service: Service
) -> IntakeTemplateVersion | None:
    """The first (by template name) of the service's current published versions, if any."""
    versions = current_versions_for_service(organization, service)
    return versions[0] if versions else None


def owned_services(organization: Organization, service_ids: Iterable[int]) -> list[Service]:
    """The organization's services with these ids; an unknown or foreign id answers 404.

    Shared by intake forms, consents and aftercare, which all attach to services.
    """
    wanted = set(service_ids)
    found = list(Service.objects.filter(organization=organization, pk__in=wanted))
    missing = sorted(wanted - {s.pk for s in found})
    if missing:
        reason = f"No service with id {missing[0]} in your organization."
        raise NotFound(reason, [FieldError("services", reason)])
    return found
