"""The checkout API: a visit checked out over HTTP, bad input as problem+json, tenancy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.billing.models import Invoice, Payment
from medspa.core.models import Role, User
from medspa.ledger.models import JournalEntry
from tests.billing.helpers import balanced, botox_priced, signed_visit, taxed
from tests.conftest import Clinic

Caller = Callable[[User], HttpClient]


def post(caller: HttpClient, url: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return caller.post(
        url, data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def test_the_desk_checks_a_visit_out_with_discount_tip_and_split_tender(
    clinic: Clinic, api_as: Caller
) -> None:
    botox_priced(clinic)
    taxed(clinic, injectable=625)
    appointment = signed_visit(clinic).appointment
    desk = api_as(clinic.users[Role.FRONT_DESK])

    built = post(desk, f"/api/v1/appointments/{appointment.pk}/invoice")
    assert built.status_code == 200  # the chart's signing already built it
    url = f"/api/v1/invoices/{built.json()['id']}"
    assert (
        post(desk, f"{url}/lines", {"description": "SPF 50", "unit_price_cents": 3800}).status_code
        == 201
    )
    assert (
        post(desk, f"{url}/discounts", {"reason": "Loyalty", "percent_bp": 1000}).status_code == 201
    )
    tip = post(desk, f"{url}/tips", {"provider": clinic.injector.pk, "amount_cents": 2000})
    assert tip.status_code == 201, tip.content
    issued = post(desk, f"{url}/issue").json()
    assert issued["status"] == "open" and issued["number"] == 1
    total = issued["total_cents"]

    tenders = {
        "tenders": [
            {"kind": "cash", "amount_cents": 5000},
            {"kind": "card_external", "amount_cents": total - 5000},
        ]
    }
    paid = post(desk, f"{url}/payments", tenders, **{"Idempotency-Key": "checkout-1"})
    replay = post(desk, f"{url}/payments", tenders, **{"Idempotency-Key": "checkout-1"})

    assert paid.status_code == replay.status_code == 201
    assert paid.json() == replay.json()
    assert paid.json()["status"] == "paid" and len(paid.json()["payments"]) == 2
    assert Payment.objects.count() == 2
    assert len(balanced(Invoice.objects.get(pk=issued["id"]))) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tenders": [{"kind": "cash", "amount_cents": 12.5}]}, "tenders.0.amount_cents"),
        ({"tenders": [{"kind": "cash", "amount_cents": "100"}]}, "tenders.0.amount_cents"),
        ({"tenders": [{"kind": "cash", "amount_cents": -1}]}, "tenders.0.amount_cents"),
        ({"tenders": [{"kind": "cash", "amount_cents": 10**9}]}, "tenders"),
        ({"tenders": []}, "tenders"),
    ],
)
def test_bad_payments_are_problems_and_change_nothing(
    clinic: Clinic, api_as: Caller, body: dict[str, Any], field: str
) -> None:
    botox_priced(clinic)
    invoice = signed_visit(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    post(desk, f"/api/v1/invoices/{invoice.pk}/issue")
    entries = JournalEntry.objects.count()

    response = post(
        desk, f"/api/v1/invoices/{invoice.pk}/payments", body, **{"Idempotency-Key": "x"}
    )

    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert not Payment.objects.exists() and JournalEntry.objects.count() == entries


def test_a_payment_needs_an_idempotency_key_and_a_void_invoice_takes_none(
    clinic: Clinic, api_as: Caller
) -> None:
    invoice = signed_visit(clinic, product="Unpriced")
    manager = api_as(clinic.users[Role.MANAGER])
    line = invoice.lines.get(kind="product")
    assert manager.delete(f"/api/v1/invoices/{invoice.pk}/lines/{line.pk}").status_code == 200
    post(manager, f"/api/v1/invoices/{invoice.pk}/issue")
    body = {"tenders": [{"kind": "cash", "amount_cents": 100}]}

    assert post(manager, f"/api/v1/invoices/{invoice.pk}/payments", body).status_code == 422
    assert (
        post(manager, f"/api/v1/invoices/{invoice.pk}/void", {"reason": "Duplicate"}).status_code
        == 200
    )
    refused = post(
        manager, f"/api/v1/invoices/{invoice.pk}/payments", body, **{"Idempotency-Key": "v"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_not_payable"


def test_the_list_shows_only_the_own_invoices_and_filters_by_client_and_status(
    clinic: Clinic, outsider: Clinic, api_as: Caller
) -> None:
    ours = signed_visit(clinic)
    theirs = signed_visit(outsider)
    billing = api_as(clinic.users[Role.BILLING])

    listed = billing.get("/api/v1/invoices").json()
    assert [i["id"] for i in listed["items"]] == [ours.pk]
    assert (
        billing.get(f"/api/v1/invoices?client={ours.client_id}&status=draft").json()["count"] == 1
    )
    assert billing.get("/api/v1/invoices?status=paid").json()["count"] == 0
    assert billing.get(f"/api/v1/invoices?client={theirs.client_id}").status_code == 404
    assert billing.get(f"/api/v1/invoices/{theirs.pk}").status_code == 404
    assert post(billing, f"/api/v1/invoices/{theirs.pk}/issue").status_code == 404
    assert billing.get("/api/v1/invoices?status=nope").status_code == 422


def test_a_provider_may_not_see_invoices(clinic: Clinic, api_as: Caller) -> None:
    invoice = signed_visit(clinic)
    provider = api_as(clinic.users[Role.PROVIDER])
    assert provider.get(f"/api/v1/invoices/{invoice.pk}").status_code == 403


def test_the_invoice_detail_costs_a_fixed_few_queries(
    clinic: Clinic, api_as: Caller, django_assert_max_num_queries: Any
) -> None:
    botox_priced(clinic)
    invoice = signed_visit(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    for n in range(20):
        post(
            desk,
            f"/api/v1/invoices/{invoice.pk}/lines",
            {"description": f"Item {n}", "unit_price_cents": 100 + n},
        )
    post(
        desk,
        f"/api/v1/invoices/{invoice.pk}/tips",
        {"provider": clinic.injector.pk, "amount_cents": 500},
    )

    with django_assert_max_num_queries(8):
        response = desk.get(f"/api/v1/invoices/{invoice.pk}")

    assert response.status_code == 200 and len(response.json()["lines"]) == 23
