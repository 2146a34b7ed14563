"""Writes to an organization's own settings."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from medspa.core.audit import record_event
from medspa.core.errors import FieldError, Invalid, NotFound
from medspa.core.models import (
    IDLE_TIMEOUT_MAX_MINUTES,
    IDLE_TIMEOUT_MIN_MINUTES,
    Organization,
    Role,
    User,
)


def update_security_settings(
    *,
    organization: Organization,
    actor: User | None,
    mfa_required_roles: Iterable[str],
    idle_timeout_minutes: int,
) -> Organization:
    """Set which roles must sign in with a second factor and when an idle session ends."""
    if actor is not None and actor.organization_id != organization.pk:
        raise NotFound()
    wanted = set(mfa_required_roles)
    errors: list[FieldError] = []
    unknown = sorted(wanted - set(Role.values))
    if unknown:
        names = ", ".join(repr(role) for role in unknown)
        errors.append(FieldError("mfa_required_roles", f"{names} is not a role of this clinic."))
    if not IDLE_TIMEOUT_MIN_MINUTES <= idle_timeout_minutes <= IDLE_TIMEOUT_MAX_MINUTES:
        errors.append(
            FieldError(
                "idle_timeout_minutes",
                f"Choose between {IDLE_TIMEOUT_MIN_MINUTES} and "
                f"{IDLE_TIMEOUT_MAX_MINUTES} minutes.",
            )
        )
    if errors:
        raise Invalid(detail="; ".join(e.reason for e in errors), errors=errors)
    roles = [role for role in Role.values if role in wanted]  # the matrix's order, no repeats
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        before = {
            "mfa_required_roles": list(org.mfa_required_roles),
            "idle_timeout_minutes": org.idle_timeout_minutes,
        }
        org.mfa_required_roles = roles
        org.idle_timeout_minutes = idle_timeout_minutes
        org.save(update_fields=["mfa_required_roles", "idle_timeout_minutes"])
        record_event(
            organization=org,
            actor=actor,
            action="organization.security_changed",
            object_type="organization",
            object_id=org.pk,
            data={
                "before": before,
                "after": {
                    "mfa_required_roles": roles,
                    "idle_timeout_minutes": idle_timeout_minutes,
                },
            },
        )
    return org
