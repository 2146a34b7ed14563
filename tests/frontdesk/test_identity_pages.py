"""Receipt details: owners and managers set the legal name and tax numbers printed on invoices;
a refused field saves nothing; other roles and organizations do not reach the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.core.models import Role
from tests.conftest import Clinic


def signed_in(clinic: Clinic, role: str = Role.OWNER) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def test_an_owner_sets_the_identity_printed_on_receipts(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: Any
) -> None:
    owner = signed_in(clinic)
    site = clinic.location.pk

    with django_assert_max_num_queries(12):
        form = owner.get("/settings/billing/")
    saved = owner.post(
        "/settings/billing/",
        {
            "org-legal_name": "Lumen Aesthetics LLC",
            "org-tax_number_label": "EIN",
            "org-tax_number": " 12-3456789 ",
            f"loc-{site}-tax_number_label": "MA sales tax",
            f"loc-{site}-tax_number": "SR-1",
        },
    )

    assert form.status_code == 200 and saved.status_code == 302
    clinic.organization.refresh_from_db()
    clinic.location.refresh_from_db()
    assert (clinic.organization.legal_name, clinic.organization.tax_number) == (
        "Lumen Aesthetics LLC",
        "12-3456789",
    )
    assert clinic.location.tax_number == "SR-1"
    outsider.organization.refresh_from_db()
    assert outsider.organization.tax_number == ""


def test_a_refused_field_is_marked_and_nothing_is_saved(clinic: Clinic) -> None:
    owner = signed_in(clinic, Role.MANAGER)
    site = clinic.location.pk

    refused = owner.post(
        "/settings/billing/",
        {"org-tax_number": "12-3456789", f"loc-{site}-tax_number": "9" * 61},
    )

    body = refused.content.decode()
    assert refused.status_code == 422 and f'id="loc-{site}-tax_number-error"' in body
    assert 'value="12-3456789"' in body
    clinic.organization.refresh_from_db()
    assert clinic.organization.tax_number == ""


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.PROVIDER])
def test_other_roles_do_not_reach_the_page(clinic: Clinic, role: str) -> None:
    browser = signed_in(clinic, role)

    assert browser.get("/settings/billing/").status_code == 404
    assert browser.post("/settings/billing/", {"org-tax_number": "x"}).status_code == 404
    clinic.organization.refresh_from_db()
    assert clinic.organization.tax_number == ""
