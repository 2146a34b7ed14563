"""Owners and managers set what every invoice and receipt prints about the clinic: its legal
name and tax registration numbers, the organization's and each location's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from medspa.core.errors import DomainError
from medspa.core.identity import (
    LOCATION_FIELDS,
    ORGANIZATION_FIELDS,
    update_billing_identity,
    update_location_tax_number,
)
from medspa.core.models import Location
from medspa.frontdesk.views import page_staff


@login_required
@require_http_methods(["GET", "POST"])
def billing_identity(request: HttpRequest) -> HttpResponse:
    """The legal name and tax numbers printed on invoices and receipts; one save for all."""
    who = page_staff(request, "billing.identity")
    org = who.organization
    locations = list(Location.objects.filter(organization=org, is_active=True).order_by("name"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        given_org = {n: request.POST.get(f"org-{n}", "")[:500] for n in ORGANIZATION_FIELDS}
        given_sites = {
            site.pk: {n: request.POST.get(f"loc-{site.pk}-{n}", "")[:500] for n in LOCATION_FIELDS}
            for site in locations
        }
        try:
            # All or nothing: one refused field leaves every other as it was.
            with transaction.atomic():
                try:
                    update_billing_identity(organization=org, actor=who.user, changes=given_org)
                except DomainError as refusal:
                    errors.update({f"org-{e.field}": e.reason for e in refusal.errors})
                for site in locations:
                    try:
                        update_location_tax_number(
                            location=site, actor=who.user, changes=given_sites[site.pk]
                        )
                    except DomainError as refusal:
                        errors.update(
                            {f"loc-{site.pk}-{e.field}": e.reason for e in refusal.errors}
                        )
                if errors:
                    raise _Refused
        except _Refused:
            pass
        else:
            messages.success(request, "Saved: invoices and receipts print these from now on.")
            return redirect("frontdesk:billing_identity")
        values: dict[str, Any] = {f"org-{n}": v for n, v in given_org.items()}
        for pk, fields in given_sites.items():
            values.update({f"loc-{pk}-{n}": v for n, v in fields.items()})
    else:
        values = {f"org-{n}": getattr(org, n) for n in ORGANIZATION_FIELDS}
        for site in locations:
            values.update({f"loc-{site.pk}-{n}": getattr(site, n) for n in LOCATION_FIELDS})
    context = {
        "nav": "identity",
        "organization": org,
        "org_fields": [
            _field(
                "org-legal_name",
                "Legal name",
                "as registered, if not the trading name",
                values,
                errors,
            ),
            _field(
                "org-tax_number_label",
                "Name of the tax number",
                "e.g. EIN, VAT no., GST/HST no.",
                values,
                errors,
            ),
            _field("org-tax_number", "Tax number", "", values, errors),
        ],
        "sites": [
            {
                "location": site,
                "fields": [
                    _field(
                        f"loc-{site.pk}-tax_number_label",
                        "Name of its tax number",
                        "e.g. a state sales tax permit",
                        values,
                        errors,
                    ),
                    _field(f"loc-{site.pk}-tax_number", "Its tax number", "", values, errors),
                ],
            }
            for site in locations
        ],
        "refused": bool(errors),
    }
    return render(
        request, "frontdesk/checkout/identity.html", context, status=422 if errors else 200
    )


class _Refused(Exception):
    """Rolls the whole save back when any field was refused."""


def _field(
    name: str, label: str, hint: str, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, str]:
    return {
        "name": name,
        "label": label,
        "hint": hint,
        "value": str(values.get(name, "")),
        "error": errors.get(name, ""),
    }


urlpatterns: list[URLPattern] = [
    path("settings/billing/", billing_identity, name="billing_identity"),
]
