"""The permission matrix, walked for every role against the routes that enforce it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client as HttpClient

from medspa.core.models import Role, User
from medspa.core.permissions import MATRIX
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment
from tests.billing.card_helpers import card_names
from tests.billing.deposit_helpers import deposit_names
from tests.billing.helpers import billing_names
from tests.billing.refund_helpers import refund_names
from tests.clinical.chart_helpers import chart_names
from tests.conftest import Clinic
from tests.factories import ClientFactory

BOOKING = {
    "client": "{client}",
    "location": "{location}",
    "start": "{day}T10:00",
    "service": "{neurotoxin}",
}
# One route per guarded action: (action, method, url template, body).
ROUTES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("locations.view", "GET", "/api/v1/locations", None),
    ("services.view", "GET", "/api/v1/services", None),
    ("resources.view", "GET", "/api/v1/resources", None),
    ("schedule.view", "GET", "/api/v1/appointments?location={location}&date={day}", None),
    ("schedule.export", "GET", "/schedule.csv?location={location}&from={day}&to={day}", None),
    ("clients.view", "GET", "/api/v1/clients", None),
    ("clients.medical", "GET", "/api/v1/clients/{client}/medical", None),
    (
        "clients.create",
        "POST",
        "/api/v1/clients",
        {"first_name": "A", "last_name": "B", "email": "ab@example.com"},
    ),
    ("clients.update", "PATCH", "/api/v1/clients/{client}", {"preferred_name": "Abby"}),
    ("clients.merge", "POST", "/api/v1/clients/{client}/merge", {"merge": "{booked_client}"}),
    (
        "hours.manage",
        "POST",
        "/api/v1/resources/{injector}/blocks",
        {"start": "{day}T12:00", "end": "{day}T13:00", "reason": "time_off"},
    ),
    ("appointments.book", "POST", "/api/v1/appointments", BOOKING),
    (
        "appointments.reschedule",
        "POST",
        "/api/v1/appointments/{appointment}/reschedule",
        {"start": "{day}T14:00"},
    ),
    (
        "appointments.cancel",
        "POST",
        "/api/v1/appointments/{appointment}/cancel",
        {"reason": "Client called"},
    ),
    (
        "appointments.status",
        "POST",
        "/api/v1/appointments/{appointment}/status",
        {"status": "confirmed"},
    ),
    ("security.manage", "GET", "/settings/security/", None),
    # Charts: a draft chart and a signed one of the injector's, whose user is the provider.
    ("chart.view", "GET", "/api/v1/appointments/{appointment}/chart", None),
    ("chart.write", "PATCH", "/api/v1/charts/{chart}", {"notes": "Glabella 20 units."}),
    ("chart.sign", "POST", "/api/v1/charts/{chart}/sign", None),
    ("chart.addendum", "POST", "/api/v1/charts/{signed_chart}/addenda", {"text": "No bruising."}),
    ("chart.charges", "GET", "/api/v1/appointments/{appointment}/charges", None),
    # Invoices: a draft built from a signed chart (see tests/billing/helpers.py).
    ("billing.view", "GET", "/api/v1/invoices/{invoice}", None),
    (
        "billing.checkout",
        "POST",
        "/api/v1/invoices/{invoice}/lines",
        {"description": "SPF 50", "unit_price_cents": 3800},
    ),
    ("billing.void", "POST", "/api/v1/invoices/{invoice}/void", {"reason": "Booked twice"}),
    # Taking a card off file needs no Stripe call (see tests/billing/card_helpers.py).
    ("billing.cards", "DELETE", "/api/v1/cards/{card}", None),
    # A credit note on a cash-paid invoice, refunded as account credit (no key needed).
    (
        "billing.refund",
        "POST",
        "/api/v1/invoices/{paid_invoice}/credit-notes",
        {"amount_cents": 100, "reason": "Price correction", "method": "account_credit"},
    ),
    ("billing.close", "GET", "/api/v1/locations/{location}/daily-close", None),
    ("billing.follow_ups", "GET", "/api/v1/payment-follow-ups", None),
    (
        "promotions.manage",
        "POST",
        "/api/v1/promotion-codes",
        {"code": "WALK10", "percent_bp": 1000},
    ),
    ("billing.send", "POST", "/api/v1/invoices/{paid_invoice}/send", {"to_email": "a@example.com"}),
    (
        "billing.identity",
        "PATCH",
        "/api/v1/organization/billing-identity",
        {"tax_number": "12-3456789"},
    ),
    # Deposits and fees (see tests/billing/deposit_helpers.py).
    ("policies.manage", "PUT", "/api/v1/services/{neurotoxin}/policy", {"no_show_fee_cents": 2500}),
    (
        "deposits.take",
        "POST",
        "/api/v1/appointments/{deposit_visit}/deposit/payments",
        {"tender": "cash", "amount_cents": 10000},
    ),
    ("deposits.refund", "POST", "/api/v1/deposits/{held_deposit}/refund", {"reason": "Goodwill"}),
    ("fees.view", "GET", "/api/v1/fees?status=proposed", None),
    ("fees.decide", "POST", "/api/v1/fees/{fee}/waive", {"reason": "First time: waived"}),
    (
        "aftercare.manage",
        "POST",
        "/api/v1/aftercare/templates",
        {"name": "After filler", "subject": "Aftercare", "body": "Ice, no exercise today."},
    ),
    ("aftercare.send", "POST", "/api/v1/charts/{chart}/aftercare", {"template": "{aftercare}"}),
    # An override reason is a manager's act, whatever the gate finds (none here: not recorded).
    (
        "treatment.override",
        "POST",
        "/api/v1/appointments/{appointment}/status",
        {"status": "confirmed", "override_reason": "Consent signed on paper"},
    ),
    ("audit.view", "GET", "/audit/", None),
    ("ledger.view", "GET", "/api/v1/ledger/trial-balance", None),
    ("intake.view", "GET", "/api/v1/intake/templates", None),
    ("intake.manage", "POST", "/api/v1/intake/templates", {"name": "Health history"}),
    ("intake.send", "POST", "/api/v1/appointments/{appointment}/intake/send", None),
    ("intake.answers", "GET", "/api/v1/appointments/{appointment}/intake/answers", None),
    ("intake.review", "GET", "/api/v1/reviews?status=open", None),
    ("consent.view", "GET", "/api/v1/clients/{client}/consents/signatures", None),
    ("consent.manage", "POST", "/api/v1/consents/templates", {"name": "Neurotoxin consent"}),
]


def fill(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    if isinstance(value, str):
        filled = value.format(**names)
        whole = value.startswith("{") and value.endswith("}") and filled.isdigit()
        return int(filled) if whole else filled
    return value


def test_every_action_of_the_matrix_is_walked() -> None:
    assert sorted(action for action, *_ in ROUTES) == sorted(MATRIX)


@pytest.mark.parametrize(("action", "method", "url", "body"), ROUTES)
def test_each_role_may_do_exactly_what_the_matrix_says(
    clinic: Clinic,
    outsider: Clinic,
    api_as: Callable[[User], HttpClient],
    action: str,
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    booked = book_appointment(
        organization=clinic.organization,
        actor=None,
        client=ClientFactory(organization=clinic.organization),
        location=clinic.location,
        start=clinic.at(11),
        wanted=[Wanted(clinic.facial)],
    )
    names = {
        "location": clinic.location.pk,
        "day": clinic.day().isoformat(),
        "client": clinic.client.pk,
        "injector": clinic.injector.pk,
        "neurotoxin": clinic.neurotoxin.pk,
        "appointment": booked.pk,
        "booked_client": booked.client_id,
        **chart_names(clinic),
        **billing_names(clinic),
        **refund_names(clinic),
        **card_names(clinic),
        **deposit_names(clinic),
    }
    answers = {}
    for role in Role.values:
        # Each role acts on the same starting state: its writes are rolled back after.
        with transaction.atomic():
            if url.startswith("/api/"):
                caller, refused = api_as(clinic.users[role]), 403
            else:
                # A page: the member's session; a refusal answers 404 (see frontdesk/views).
                caller, refused = HttpClient(), 404
                caller.force_login(clinic.users[role])
            response = caller.generic(
                method,
                fill(url, names),
                data=json.dumps(fill(body, names)) if body else "",
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"walk-{action}-{role}",
            )
            transaction.set_rollback(True)
        allowed = role in MATRIX[action]
        answers[role] = (allowed, response.status_code)
        if allowed:
            assert response.status_code in (200, 201), (role, action, response.content)
        else:
            assert response.status_code == refused, (role, action, response.content)
    assert {role for role, (allowed, _) in answers.items() if allowed} == set(MATRIX[action])
    # The outsider's staff, whatever their role, never reach this clinic's records.
    if "{appointment}" in url:
        foreign = api_as(outsider.users[Role.OWNER]).generic(
            method,
            fill(url, names),
            data=json.dumps(fill(body, names)),
            content_type="application/json",
        )
        assert foreign.status_code == 404
