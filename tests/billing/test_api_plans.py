"""Payment plans and failed-payment follow-ups over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.billing import plans
from medspa.billing.plan_models import Instalment, PaymentFollowUp, PaymentPlan
from medspa.core.audit import AuditEvent
from medspa.core.models import Role, User
from tests.billing.plan_helpers import (
    ScriptedGateway,
    card_on_file,
    owing,
    scripted_gateway,
    today,
)
from tests.conftest import Clinic

Caller = Callable[[User], HttpClient]


@pytest.fixture
def gateway() -> Iterator[ScriptedGateway]:
    yield from scripted_gateway()


def post(caller: HttpClient, url: str, body: dict[str, Any] | None = None) -> Any:
    return caller.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_the_desk_makes_reads_and_cancels_a_plan(
    clinic: Clinic, api_as: Caller, gateway: ScriptedGateway, django_assert_max_num_queries: Any
) -> None:
    invoice = owing(clinic)
    card = card_on_file(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    start = today(invoice, timezone.now())
    body = {"card": card.pk, "cadence": "weekly", "count": 4, "first_date": start.isoformat()}

    made = post(desk, f"/api/v1/invoices/{invoice.pk}/plan", body)

    assert made.status_code == 201, made.content
    plan = made.json()
    assert plan["status"] == "active" and plan["card_label"] == "Visa ending 4242"
    assert [i["amount_cents"] for i in plan["instalments"]] == [11250] * 4
    assert plan["instalments"][1]["due_date"] == (start + timedelta(weeks=1)).isoformat()
    with django_assert_max_num_queries(8):
        read = desk.get(f"/api/v1/invoices/{invoice.pk}/plan")
    assert read.status_code == 200 and read.json()["id"] == plan["id"]
    cancelled = post(desk, f"/api/v1/plans/{plan['id']}/cancel", {"reason": "Paying in full"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["end_reason"] == "Paying in full"


def test_bad_plans_answer_problem_json_and_change_nothing(
    clinic: Clinic, api_as: Caller, gateway: ScriptedGateway
) -> None:
    invoice = owing(clinic)
    card = card_on_file(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    url = f"/api/v1/invoices/{invoice.pk}/plan"
    start = today(invoice, timezone.now())
    events = AuditEvent.objects.count()
    for body, field in (
        ({"card": card.pk, "cadence": "weekly", "count": 30, "first_date": str(start)}, "count"),
        ({"card": card.pk, "cadence": "weekly", "count": 3.5, "first_date": str(start)}, "count"),
        ({"card": card.pk, "cadence": "monthly", "count": 3}, "first_date"),
        (
            {"card": card.pk, "cadence": "weekly", "count": 3, "first_date": "2001-01-01"},
            "first_date",
        ),
        ({"card": card.pk, "cadence": "dates", "dates": ["not a date"]}, "dates.0"),
    ):
        refused = post(desk, url, body)
        assert refused.status_code == 422, refused.content
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == field
    no_card = post(desk, url, {"card": 999999, "cadence": "weekly", "count": 2})
    assert no_card.status_code == 404
    assert not PaymentPlan.objects.exists() and not Instalment.objects.exists()
    assert AuditEvent.objects.count() == events
    assert desk.get(url).status_code == 404  # no plan yet


def test_a_provider_may_not_make_a_plan(
    clinic: Clinic, api_as: Caller, gateway: ScriptedGateway
) -> None:
    invoice = owing(clinic)
    body = {"card": card_on_file(clinic).pk, "cadence": "weekly", "count": 2}
    refused = post(api_as(clinic.users[Role.PROVIDER]), f"/api/v1/invoices/{invoice.pk}/plan", body)
    assert refused.status_code == 403 and not PaymentPlan.objects.exists()


def test_the_outsiders_staff_never_reach_the_clinics_plans(
    clinic: Clinic, outsider: Clinic, api_as: Caller, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = plans.create_plan(
        invoice=invoice,
        card=card_on_file(clinic),
        actor=None,
        cadence="weekly",
        count=2,
        first_date=today(invoice, now),
    )
    gateway.declines.add(plan.card.stripe_payment_method_id)
    for days in (0, 1, 4):
        plans.charge_due_instalments(now=now + timedelta(days=days))
    follow_up = PaymentFollowUp.objects.get()
    theirs = api_as(outsider.users[Role.OWNER])
    their_card = card_on_file(outsider)

    assert theirs.get(f"/api/v1/invoices/{invoice.pk}/plan").status_code == 404
    made = post(
        theirs,
        f"/api/v1/invoices/{invoice.pk}/plan",
        {"card": their_card.pk, "cadence": "weekly", "count": 2},
    )
    assert made.status_code == 404
    assert post(theirs, f"/api/v1/plans/{plan.pk}/cancel", {"reason": "x"}).status_code == 404
    resolve = post(
        theirs, f"/api/v1/payment-follow-ups/{follow_up.pk}/resolve", {"resolution": "paid"}
    )
    assert resolve.status_code == 404
    assert theirs.get("/api/v1/payment-follow-ups").json() == {"items": [], "count": 0}
    follow_up.refresh_from_db()
    assert follow_up.status == "open"


def test_billing_works_through_the_follow_ups(
    clinic: Clinic, api_as: Caller, gateway: ScriptedGateway, django_assert_max_num_queries: Any
) -> None:
    now = timezone.now()
    for hour in (10, 12, 14):
        invoice = owing(clinic, hour)
        plan = plans.create_plan(
            invoice=invoice,
            card=card_on_file(clinic),
            actor=None,
            cadence="monthly",
            count=3,
            first_date=today(invoice, now),
        )
        gateway.declines.add(plan.card.stripe_payment_method_id)
    for days in (0, 1, 4):
        plans.charge_due_instalments(now=now + timedelta(days=days))
    billing = api_as(clinic.users[Role.BILLING])

    with django_assert_max_num_queries(6):
        listed = billing.get("/api/v1/payment-follow-ups").json()
    assert listed["count"] == 3
    first = listed["items"][0]
    assert first["amount_cents"] == 45000 and "insufficient funds" in first["reason"]
    refused = post(
        billing, f"/api/v1/payment-follow-ups/{first['id']}/resolve", {"resolution": "x"}
    )
    assert refused.status_code == 422
    done = post(
        billing,
        f"/api/v1/payment-follow-ups/{first['id']}/resolve",
        {"resolution": "written_off", "note": "Goodwill after a complaint"},
    )
    assert done.status_code == 200, done.content
    assert done.json()["resolution"] == "written_off"
    assert billing.get("/api/v1/payment-follow-ups").json()["count"] == 2
    resolved = billing.get("/api/v1/payment-follow-ups?status=resolved").json()
    assert [f["id"] for f in resolved["items"]] == [first["id"]]
    desk = api_as(clinic.users[Role.FRONT_DESK])
    assert desk.get("/api/v1/payment-follow-ups").status_code == 403
