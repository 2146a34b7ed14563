"""The clinic's identity on invoices and receipts: legal name and tax registration numbers."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from medspa.core.audit import record_event
from medspa.core.errors import FieldError, Invalid, NotFound
from medspa.core.models import Location, Organization, User

ORGANIZATION_FIELDS = {"legal_name": 200, "tax_number_label": 40, "tax_number": 60}
LOCATION_FIELDS = {"tax_number_label": 40, "tax_number": 60}


def _clean(changes: dict[str, Any], limits: dict[str, int]) -> dict[str, str]:
    """The fields given, trimmed; a field too long or not text is refused with its name."""
    clean: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, value in changes.items():
        if name not in limits or value is None:
            continue
        if not isinstance(value, str) or "\x00" in value:
            errors.append(FieldError(name, "Give text."))
            continue
        text = " ".join(value.split())  # one line as printed: no stray newlines or tabs
        if len(text) > limits[name]:
            errors.append(FieldError(name, f"Keep it under {limits[name]} characters."))
            continue
        clean[name] = text
    if errors:
        raise Invalid(detail="; ".join(e.reason for e in errors), errors=errors)
    return clean


def update_billing_identity(
    *, organization: Organization, actor: User | None, changes: dict[str, Any]
) -> Organization:
    """Set the legal name and tax number printed on every invoice and receipt."""
    if actor is not None and actor.organization_id != organization.pk:
        raise NotFound()
    clean = _clean(changes, ORGANIZATION_FIELDS)
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        before = {name: getattr(org, name) for name in clean}
        for name, value in clean.items():
            setattr(org, name, value)
        if clean:
            org.save(update_fields=list(clean))
        record_event(
            organization=org,
            actor=actor,
            action="organization.billing_identity_changed",
            object_type="organization",
            object_id=org.pk,
            data={"before": before, "after": clean},
        )
    return org


def update_location_tax_number(
    *, location: Location, actor: User | None, changes: dict[str, Any]
) -> Location:
    """Set a site's own tax registration, printed on its invoices beside the organization's."""
    if actor is not None and actor.organization_id != location.organization_id:
        raise NotFound()
    clean = _clean(changes, LOCATION_FIELDS)
    with transaction.atomic():
        current = Location.objects.select_for_update().get(pk=location.pk)
        before = {name: getattr(current, name) for name in clean}
        for name, value in clean.items():
            setattr(current, name, value)
        if clean:
            current.save(update_fields=list(clean))
        record_event(
            organization=current.organization,
            actor=actor,
            action="location.tax_number_changed",
            object_type="location",
            object_id=current.pk,
            data={"before": before, "after": clean},
        )
    return current
