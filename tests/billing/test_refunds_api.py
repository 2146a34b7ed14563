"""The refund, credit-note, account-credit and daily-close routes over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.test import Client as HttpClient

from medspa.billing.models import DailyClose, Refund
from medspa.core.models import Role, User
from tests.billing.refund_helpers import books, issued, paid
from tests.conftest import Clinic

Caller = Callable[[User], HttpClient]


def post(caller: HttpClient, url: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return caller.post(
        url, data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def test_billing_refunds_part_of_a_payment_once_whatever_the_retries(
    clinic: Clinic, api_as: Caller, django_assert_max_num_queries: Any
) -> None:
    invoice = paid(clinic, ("card_external", 45000))
    card = invoice.payments.get()
    billing = api_as(clinic.users[Role.BILLING])
    url = f"/api/v1/invoices/{invoice.pk}/refunds"
    body = {
        "payment": card.pk,
        "amount_cents": 15000,
        "reason": "One area not treated",
        "reference": "TERM-77",
    }

    first = post(billing, url, body, **{"Idempotency-Key": "refund-1"})
    again = post(billing, url, body, **{"Idempotency-Key": "refund-1"})

    assert first.status_code == 201, first.content
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert first.json()["tender"] == "card_external" and first.json()["reference"] == "TERM-77"
    assert Refund.objects.count() == 1 and books(clinic)["card_clearing"] == 30000
    with django_assert_max_num_queries(20):
        listed = billing.get(url).json()
    assert (listed["refunded_cents"], listed["refundable_cents"]) == (15000, 30000)
    assert [r["amount_cents"] for r in listed["items"]] == [15000]


def test_bad_refunds_answer_problem_json_and_change_nothing(clinic: Clinic, api_as: Caller) -> None:
    invoice = paid(clinic)
    billing = api_as(clinic.users[Role.BILLING])
    url = f"/api/v1/invoices/{invoice.pk}/refunds"
    cash = invoice.payments.get().pk

    no_key = post(billing, url, {"payment": cash, "amount_cents": 100, "reason": "x"})
    too_much = post(
        billing,
        url,
        {"payment": cash, "amount_cents": 45001, "reason": "x"},
        **{"Idempotency-Key": "k1"},
    )
    negative = post(
        billing,
        url,
        {"payment": cash, "amount_cents": -5, "reason": "x"},
        **{"Idempotency-Key": "k2"},
    )
    floating = post(
        billing,
        url,
        {"payment": cash, "amount_cents": 10.5, "reason": "x"},
        **{"Idempotency-Key": "k3"},
    )
    desk = post(
        api_as(clinic.users[Role.FRONT_DESK]),
        url,
        {"payment": cash, "amount_cents": 100, "reason": "x"},
        **{"Idempotency-Key": "k4"},
    )

    assert no_key.status_code == 422 and "Idempotency-Key" in no_key.json()["detail"]
    assert too_much.status_code == 422 and too_much.json()["code"] == "refund_above_paid"
    assert too_much["Content-Type"] == "application/problem+json"
    assert negative.status_code == 422 and floating.status_code == 422
    assert desk.status_code == 403  # the front desk does not give money back
    assert not Refund.objects.exists()


def test_a_credit_note_becomes_account_credit_the_client_can_see(
    clinic: Clinic, outsider: Clinic, api_as: Caller
) -> None:
    invoice = paid(clinic, client=clinic.client)
    manager = api_as(clinic.users[Role.MANAGER])

    issued_note = post(
        manager,
        f"/api/v1/invoices/{invoice.pk}/credit-notes",
        {"amount_cents": 2500, "reason": "Promotion not applied", "method": "account_credit"},
        **{"Idempotency-Key": "cn-1"},
    )

    assert issued_note.status_code == 201, issued_note.content
    body = issued_note.json()
    assert body["credit_note"]["display_number"] == "CN000001"
    assert [r["tender"] for r in body["refunds"]] == ["account_credit"]
    credit = api_as(clinic.users[Role.FRONT_DESK]).get(f"/api/v1/clients/{clinic.client.pk}/credit")
    assert credit.status_code == 200
    assert credit.json()["balance_cents"] == 2500
    assert [m["amount_cents"] for m in credit.json()["movements"]] == [2500]
    theirs = manager.get(f"/api/v1/clients/{outsider.client.pk}/credit")
    assert theirs.status_code == 404
    open_one = issued(clinic, 12)
    on_open = post(
        manager,
        f"/api/v1/invoices/{open_one.pk}/credit-notes",
        {"amount_cents": 1000, "reason": "Price"},
        **{"Idempotency-Key": "cn-2"},
    )
    assert on_open.json()["invoice"]["balance_cents"] == 44000
    # Without a key a retry could credit twice: refused, nothing issued.
    unkeyed = post(
        manager,
        f"/api/v1/invoices/{open_one.pk}/credit-notes",
        {"amount_cents": 1000, "reason": "Price"},
    )
    assert unkeyed.status_code == 422 and "Idempotency-Key" in unkeyed.content.decode()
    assert open_one.credit_notes.count() == 1


def test_the_desk_closes_the_day_at_its_location_only(
    clinic: Clinic, outsider: Clinic, api_as: Caller
) -> None:
    paid(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    url = f"/api/v1/locations/{clinic.location.pk}/daily-close"

    before = desk.get(url).json()
    assert (before["expected_cents"], before["closed"]) == (45000, False)
    unexplained = post(desk, url, {"counted_cents": 44000})
    assert unexplained.status_code == 422
    assert unexplained.json()["errors"][0]["field"] == "explanation"
    closed = post(desk, url, {"counted_cents": 44000, "explanation": "Float short"})
    assert closed.status_code == 201, closed.content
    assert (closed.json()["difference_cents"], closed.json()["closed"]) == (-1000, True)
    assert post(desk, url, {"counted_cents": 45000}).status_code == 409
    theirs = f"/api/v1/locations/{outsider.location.pk}/daily-close"
    assert desk.get(theirs).status_code == 404
    assert post(desk, theirs, {"counted_cents": 0}).status_code == 404
    assert api_as(clinic.users[Role.PROVIDER]).get(url).status_code == 403
    assert DailyClose.objects.count() == 1
