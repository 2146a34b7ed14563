"""Another organization's ids get 404 on every route, and its records never show in lists."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.api import api
from medspa.clinical.services import add_question, create_template
from medspa.core.models import Role
from medspa.scheduling.models import Appointment, ResourceBlock, WorkingHours
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment
from tests.billing.card_helpers import their_card_ids
from tests.billing.deposit_helpers import their_deposit_ids
from tests.billing.helpers import their_billing_ids
from tests.billing.plan_helpers import their_plan_ids
from tests.billing.promotion_helpers import their_promotion_ids
from tests.clinical.chart_helpers import chart_ids
from tests.clinical.consent_helpers import their_consent_ids
from tests.conftest import Clinic
from tests.ledger.helpers import their_ledger_ids
from tests.portal.helpers import their_intake_ids


def their_ids(theirs: Clinic) -> dict[str, int]:
    """The outsider's record of each kind an id parameter can name."""
    appointment = book_appointment(
        organization=theirs.organization,
        actor=None,
        client=theirs.client,
        location=theirs.location,
        start=theirs.at(10),
        wanted=[Wanted(theirs.neurotoxin)],
    )
    block = ResourceBlock.objects.create(
        organization=theirs.organization,
        resource=theirs.laser,
        start=theirs.at(18),
        end=theirs.at(19),
        reason="maintenance",
    )
    template = create_template(organization=theirs.organization, actor=None, name="Their screening")
    question = add_question(
        organization=theirs.organization,
        actor=None,
        version=template.versions.get(),
        key="pregnant",
        label="Are you pregnant?",
        kind="yes_no",
    )
    return {
        "template": template.pk,
        "version": template.versions.get().pk,
        "question": question.pk,
        "location": theirs.location.pk,
        "service": theirs.neurotoxin.pk,
        "client": theirs.client.pk,
        "provider": theirs.injector.pk,
        "resource": theirs.laser.pk,
        "appointment": appointment.pk,
        "hours": WorkingHours.objects.filter(resource=theirs.injector).first().pk,  # type: ignore[union-attr]
        "block": block.pk,
        **chart_ids(theirs),
        **their_billing_ids(theirs),
        **their_promotion_ids(theirs),
        **their_card_ids(theirs),
        **their_plan_ids(theirs),
        **their_consent_ids(theirs, appointment),
        **their_intake_ids(theirs, appointment),
        **their_ledger_ids(theirs),
        **their_deposit_ids(theirs),
    }


def routes() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    ]


def own_body(ours: Clinic) -> dict[str, Any]:
    return {
        "client": ours.client.pk,
        "location": ours.location.pk,
        "start": ours.at(10).isoformat(),
        "service": ours.neurotoxin.pk,
        "reason": "other",  # valid both as a block reason and as a cancel reason
        "status": "confirmed",
        "first_name": "A",
        "last_name": "B",
        "phone": "+16175550100",
        "weekday": 1,
        "start_time": "09:00",
        "end_time": "10:00",
        "end": ours.at(11).isoformat(),
        # Intake forms: a question, answers to check, services to attach (none).
        "key": "age",
        "label": "Age",
        "kind": "number",
        "answers": {},
        "services": [],
        "keys": [],
        # Charts: a note, an injectable, a device setting, an addendum, aftercare to send.
        "notes": "Glabella 20 units.",
        "product": "Botox Cosmetic",
        "quantity": "20",
        "unit": "units",
        "lot_number": "C1234A5",
        "expiry": (ours.day() + timedelta(days=365)).isoformat(),
        "device": ours.laser.pk,
        "fluence": "20",
        "pulse_width_ms": "3",
        "spot_size_mm": "18",
        "passes": 1,
        "text": "No bruising.",
        # Checkout: a priced line, a tip for our provider, a payment split over tenders.
        "unit_price_cents": 3800,
        "amount_cents": 500,
        "provider": ours.injector.pk,
        "tenders": [{"kind": "cash", "amount_cents": 500}],
        # A card kept on file: its confirmed setup and the client's consent.
        "setup_intent_id": "seti_walk",
        "consent_text": "I agree.",
        # The daily close: a till count.
        "counted_cents": 0,
        # Deposits: the tender a deposit is taken with.
        "tender": "cash",
        "template": 1,
        # Promotions: a code to apply, a referrer to record.
        "code": "WELCOME10",
        "referrer": ours.client.pk,
    }


def body_fields(operation: dict[str, Any]) -> set[str]:
    """The top-level fields of the operation's JSON body, from the OpenAPI schema."""
    ref = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref")
    )
    if not ref:
        return set()
    components = api.get_openapi_schema()["components"]["schemas"]
    return set(components[ref.rsplit("/", 1)[1]].get("properties", {}))


# For each id-bearing field a route takes in its query or body: which kind of record it names.
QUERY_AND_BODY_IDS = {
    "location": "location",
    "service": "service",
    "client": "client",
    "provider": "provider",
    "resource": "resource",
    "version": "version",
    "account": "account",
}


# Routes that name no record; the list test below proves they show only the caller's own.
ROUTES_WITHOUT_IDS = {
    ("GET", "/api/v1/locations"),
    ("GET", "/api/v1/clients"),
    ("POST", "/api/v1/clients"),
    ("GET", "/api/v1/intake/templates"),
    # Its service ids are probed by test_another_organizations_ids_inside_a_body_are_not_found.
    ("POST", "/api/v1/intake/templates"),
    ("GET", "/api/v1/reviews"),  # a list: test_intake_requests shows only the own ones
    ("GET", "/api/v1/aftercare/templates"),
    ("POST", "/api/v1/aftercare/templates"),  # its service ids: see the body test below
    ("GET", "/api/v1/consents/templates"),
    ("POST", "/api/v1/consents/templates"),  # its service ids: see the body test below
    ("GET", "/api/v1/ledger/accounts"),  # a list: tests/ledger/test_api.py shows only the own
    ("GET", "/api/v1/ledger/trial-balance"),  # sums of the own lines: tests/ledger/test_api.py
    # The caller's own codes and programme: tests/billing/test_promotions.py and
    # test_referrals.py show another organization's never appear.
    ("GET", "/api/v1/promotion-codes"),
    ("POST", "/api/v1/promotion-codes"),
    ("GET", "/api/v1/referral-programme"),
    ("PUT", "/api/v1/referral-programme"),
    ("GET", "/api/v1/payment-follow-ups"),  # a list: tests/billing/test_api_plans.py
    # The caller's own organization: tests/billing/test_receipt_pdf.py changes only its own.
    ("GET", "/api/v1/organization/billing-identity"),
    ("PATCH", "/api/v1/organization/billing-identity"),
    ("GET", "/api/v1/deposits"),  # a list: tests/billing/test_deposits_api.py, the outsider test
    ("GET", "/api/v1/fees"),  # a list: tests/billing/test_deposits_api.py, the outsider test
}


@pytest.mark.parametrize(("method", "path"), sorted(set(routes()) - ROUTES_WITHOUT_IDS))
def test_every_route_answers_404_for_another_organizations_ids(
    clinic: Clinic, outsider: Clinic, method: str, path: str
) -> None:
    owner = HttpClient()
    owner.force_login(clinic.users[Role.OWNER])
    theirs = their_ids(outsider)
    path_params = re.findall(r"{(\w+)}", path)
    url = path
    for name in path_params:
        url = url.replace("{" + name + "}", str(theirs[name.removesuffix("_id")]))
    body = own_body(clinic)
    query = {
        "location": clinic.location.pk,
        "service": clinic.neurotoxin.pk,
        "start": clinic.day().isoformat(),
        "end": clinic.day().isoformat(),
        "date": clinic.day().isoformat(),
    }
    operation = api.get_openapi_schema()["paths"][path][method.lower()]
    params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    fields = body_fields(operation)
    probes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if path_params:
        probes.append(({k: v for k, v in query.items() if k in params}, body))
    for name, kind in QUERY_AND_BODY_IDS.items():
        if name in params:
            probes.append(
                ({**{k: v for k, v in query.items() if k in params}, name: theirs[kind]}, body)
            )
        if name in fields and not path_params:
            probes.append(({}, {**body, name: theirs[kind]}))
    assert probes, f"{method} {path} takes no ids: add it to ROUTES_WITHOUT_IDS"
    before = Appointment.objects.count()
    for params_, body_ in probes:
        response = owner.generic(
            method,
            url + ("?" + "&".join(f"{k}={v}" for k, v in params_.items()) if params_ else ""),
            data=json.dumps(body_) if method in {"POST", "PUT", "PATCH"} else "",
            content_type="application/json",
        )
        assert response.status_code == 404, (method, url, params_, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert Appointment.objects.count() == before


def test_lists_never_show_another_organizations_records(clinic: Clinic, outsider: Clinic) -> None:
    desk = HttpClient()
    desk.force_login(clinic.users[Role.FRONT_DESK])
    theirs = {
        "/api/v1/locations": {outsider.location.pk},
        "/api/v1/services": {outsider.neurotoxin.pk, outsider.facial.pk, outsider.laser_hair.pk},
        "/api/v1/clients": {outsider.client.pk},
        f"/api/v1/clients?q={outsider.client.first_name}": {outsider.client.pk},
        "/api/v1/resources": {outsider.injector.pk, outsider.laser.pk, outsider.laser_suite.pk},
    }
    for url, their_ids_ in theirs.items():
        body = desk.get(url).json()
        assert body["count"] == len(body["items"]) or url.startswith("/api/v1/clients")
        assert not {item["id"] for item in body["items"]} & their_ids_, url


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/appointments/{ours}/reschedule", {"start": "T14", "provider": "provider"}),
        ("/api/v1/appointments/{ours}/reschedule", {"start": "T14", "providers": ["provider"]}),
        (
            "/api/v1/resources/{injector}/working-hours",
            {"location": "location", "weekday": 1, "start_time": "18:00", "end_time": "19:00"},
        ),
        (
            "/api/v1/resources/{injector}/blocks",
            {"start": "T12", "end": "T13", "reason": "time_off", "location": "location"},
        ),
        ("/api/v1/appointments", {"services": [{"service": "service"}]}),
        ("/api/v1/appointments", {"services": [{"service": "own", "provider": "provider"}]}),
        ("/api/v1/intake/templates", {"name": "Consent", "services": ["service"]}),
        (
            "/api/v1/aftercare/templates",
            {"name": "After", "subject": "S", "body": "B", "services": ["service"]},
        ),
        ("/api/v1/consents/templates", {"name": "Consent", "services": ["service"]}),
    ],
)
def test_another_organizations_ids_inside_a_body_are_not_found(
    clinic: Clinic, outsider: Clinic, path: str, body: dict[str, Any]
) -> None:
    owner = HttpClient()
    owner.force_login(clinic.users[Role.OWNER])
    ours = book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(10),
        wanted=[Wanted(clinic.neurotoxin)],
    )
    theirs = their_ids(outsider)
    day = clinic.day().isoformat()

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if value == "own":
            return clinic.neurotoxin.pk
        if isinstance(value, str) and value.startswith("T"):
            return f"{day}{value}:00"
        return theirs.get(value, value) if isinstance(value, str) else value

    payload = resolve(body)
    if path == "/api/v1/appointments":
        payload |= {
            "client": clinic.client.pk,
            "location": clinic.location.pk,
            "start": clinic.at(15).isoformat(),
        }
    url = path.format(ours=ours.pk, injector=clinic.injector.pk)
    before = (
        Appointment.objects.count(),
        WorkingHours.objects.count(),
        ResourceBlock.objects.count(),
    )

    response = owner.post(url, data=json.dumps(payload), content_type="application/json")

    assert response.status_code == 404, response.content
    after = (
        Appointment.objects.count(),
        WorkingHours.objects.count(),
        ResourceBlock.objects.count(),
    )
    assert after == before
    ours.refresh_from_db()
    assert ours.start == clinic.at(10)
