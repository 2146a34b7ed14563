"""The deposit and fee routes: policies, taking a deposit, refunds, the fee queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.test import Client as HttpClient

from medspa.billing.deposit_models import Deposit, ProposedFee
from medspa.core.models import Role, User
from tests.billing.deposit_helpers import cancel, deposit_of_visit, deposit_policy, ledger
from tests.conftest import Clinic

Api = Callable[[User], HttpClient]


def post(client: HttpClient, url: str, body: dict[str, Any], key: str | None = None) -> Any:
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def test_a_manager_sets_a_policy_and_everyone_reads_it(clinic: Clinic, api_as: Api) -> None:
    url = f"/api/v1/services/{clinic.neurotoxin.pk}/policy"
    manager = api_as(clinic.users[Role.MANAGER])
    before = api_as(clinic.users[Role.PROVIDER]).get(url).json()
    assert before["is_default"] and before["deposit_kind"] == "none"
    changed = manager.put(
        url,
        json.dumps(
            {"deposit_kind": "percent", "deposit_percent_bp": 2000, "no_show_fee_cents": 9000}
        ),
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["deposit_percent_bp"] == 2000 and not changed.json()["is_default"]
    bad = manager.put(url, json.dumps({"no_show_fee_cents": 1.5}), content_type="application/json")
    assert bad.status_code == 422
    assert bad["Content-Type"] == "application/problem+json"
    assert api_as(clinic.users[Role.PROVIDER]).get(url).json()["no_show_fee_cents"] == 9000


def test_the_desk_takes_a_deposit_once_per_key(
    clinic: Clinic, api_as: Api, desk: HttpClient
) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    url = f"/api/v1/appointments/{visit.pk}/deposit/payments"
    assert desk.get(f"/api/v1/appointments/{visit.pk}/deposit").json()["status"] == "due"
    first = post(desk, url, {"tender": "cash", "amount_cents": 10000}, key="dep-1")
    again = post(desk, url, {"tender": "cash", "amount_cents": 10000}, key="dep-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert first.json()["held_cents"] == 10000
    assert ledger(clinic)["deposits_held"] == 10000
    twice = post(desk, url, {"tender": "cash", "amount_cents": 10000}, key="dep-2")
    assert twice.status_code == 409 and twice.json()["code"] == "deposit_already_paid"
    assert post(desk, url, {"tender": "cash", "amount_cents": 10000}).status_code == 422


def test_a_wrong_amount_is_refused_with_the_field(clinic: Clinic, desk: HttpClient) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    url = f"/api/v1/appointments/{visit.pk}/deposit/payments"
    refused = post(desk, url, {"tender": "cash", "amount_cents": 5000}, key="k-1")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "amount_cents"
    assert deposit_of_visit(visit).status == "due"


def test_a_visit_without_a_deposit_answers_404(clinic: Clinic, desk: HttpClient) -> None:
    visit = clinic.book(10)
    assert desk.get(f"/api/v1/appointments/{visit.pk}/deposit").status_code == 404


def test_the_fee_queue_confirm_and_waive(clinic: Clinic, api_as: Api, desk: HttpClient) -> None:
    deposit_policy(clinic, deposit_kind="none")
    cancel(clinic.book(10), clinic, hours_before=2)
    cancel(clinic.book(13), clinic, hours_before=1)
    listed = desk.get("/api/v1/fees?status=proposed").json()
    assert listed["count"] == 2
    first, second = (item["id"] for item in listed["items"])
    confirmed = post(desk, f"/api/v1/fees/{first}/confirm", {"method": "invoice"}, key="f-1")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "invoiced" and confirmed.json()["invoice"]
    waived = post(desk, f"/api/v1/fees/{second}/waive", {"reason": "Snowstorm"})
    assert waived.json()["status"] == "waived"
    assert desk.get("/api/v1/fees?status=proposed").json()["count"] == 0
    assert post(desk, f"/api/v1/fees/{second}/waive", {"reason": "Again"}).status_code == 409
    assert desk.get("/api/v1/fees?status=nonsense").status_code == 422


def test_a_deposit_to_give_back_is_completed_by_the_desk(clinic: Clinic, desk: HttpClient) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    url = f"/api/v1/appointments/{visit.pk}/deposit/payments"
    deposit_id = post(desk, url, {"tender": "cash", "amount_cents": 10000}, key="d-1").json()["id"]
    cancel(visit, clinic, hours_before=48)
    due = desk.get("/api/v1/deposits?status=refund_due").json()
    assert [d["id"] for d in due["items"]] == [deposit_id]
    done = post(desk, f"/api/v1/deposits/{deposit_id}/refund", {}, key="r-1")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "refunded"
    assert post(desk, f"/api/v1/deposits/{deposit_id}/refund", {}, key="r-1").json() == done.json()
    assert post(desk, f"/api/v1/deposits/{deposit_id}/refund", {}, key="r-2").status_code == 409
    assert ledger(clinic)["deposits_held"] == 0


def test_the_outsider_reaches_none_of_it(clinic: Clinic, outsider: Clinic, api_as: Api) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    cancel(clinic.book(13), clinic, hours_before=1)
    deposit = Deposit.objects.get(appointment=visit)
    fee = ProposedFee.objects.get()
    them = api_as(outsider.users[Role.OWNER])
    assert them.get(f"/api/v1/services/{clinic.neurotoxin.pk}/policy").status_code == 404
    assert (
        them.put(
            f"/api/v1/services/{clinic.neurotoxin.pk}/policy",
            json.dumps({"no_show_fee_cents": 1}),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert them.get(f"/api/v1/appointments/{visit.pk}/deposit").status_code == 404
    paid = post(
        them,
        f"/api/v1/appointments/{visit.pk}/deposit/payments",
        {"tender": "cash", "amount_cents": 10000},
        key="x-1",
    )
    assert paid.status_code == 404
    assert post(them, f"/api/v1/deposits/{deposit.pk}/refund", {}, key="x-2").status_code == 404
    assert post(them, f"/api/v1/fees/{fee.pk}/waive", {"reason": "Mine"}).status_code == 404
    assert (
        post(them, f"/api/v1/fees/{fee.pk}/confirm", {"method": "invoice"}, key="x-3").status_code
        == 404
    )
    assert them.get("/api/v1/fees").json()["count"] == 0
    assert them.get("/api/v1/deposits").json()["count"] == 0
    deposit.refresh_from_db()
    fee.refresh_from_db()
    assert (deposit.status, fee.status) == ("due", "proposed")


def test_the_fee_list_is_a_fixed_number_of_queries(
    clinic: Clinic, desk: HttpClient, django_assert_max_num_queries: Any
) -> None:
    deposit_policy(clinic, deposit_kind="none")
    for hour in (9, 10, 11, 13):
        cancel(clinic.book(hour), clinic, hours_before=1)
    with django_assert_max_num_queries(6):
        assert desk.get("/api/v1/fees").json()["count"] == 4


def test_a_deposit_given_back_as_credit_shows_in_the_client_s_credit(
    clinic: Clinic, desk: HttpClient, api_as: Api
) -> None:
    deposit_policy(clinic, refund_to="account_credit")
    visit = clinic.book(10)
    url = f"/api/v1/appointments/{visit.pk}/deposit/payments"
    post(desk, url, {"tender": "cash", "amount_cents": 10000}, key="d-1")
    cancel(visit, clinic, hours_before=48)
    credit = api_as(clinic.users[Role.BILLING]).get(f"/api/v1/clients/{visit.client_id}/credit")
    assert credit.status_code == 200, credit.content
    body = credit.json()
    assert body["balance_cents"] == 10000
    assert [(m["amount_cents"], m["invoice"]) for m in body["movements"]] == [(10000, None)]
