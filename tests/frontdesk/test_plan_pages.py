"""The invoice page's payment plan section and the follow-ups page: the desk makes and
cancels a plan, billing resolves a failed one; roles, the outsider and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.billing import plans
from medspa.billing.plan_models import PaymentFollowUp, PaymentPlan
from medspa.core.models import Role
from tests.billing.plan_helpers import (
    ScriptedGateway,
    card_on_file,
    owing,
    scripted_gateway,
    today,
)
from tests.conftest import Clinic


@pytest.fixture
def gateway() -> Iterator[ScriptedGateway]:
    yield from scripted_gateway()


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def test_the_desk_makes_a_plan_due_today_and_sees_it_charged_next(
    clinic: Clinic, gateway: ScriptedGateway, django_assert_max_num_queries: Any
) -> None:
    invoice = owing(clinic)
    card = card_on_file(clinic)
    desk = signed_in(clinic)
    start = today(invoice, timezone.now())
    page = desk.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Spread the 450.00 USD owed over instalments" in page and "Visa ending 4242" in page

    made = desk.post(
        f"/invoices/{invoice.pk}/plan",
        {"card": card.pk, "cadence": "monthly", "count": "3", "first_date": start.isoformat()},
        follow=True,
    )

    text = made.content.decode()
    assert "The first is due today and is charged within a minute." in text
    assert "Due now" in text and "worker&#x27;s next pass" in text
    assert PaymentPlan.objects.get().instalment_count == 3
    plans.charge_due_instalments()
    with django_assert_max_num_queries(25):
        after = desk.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Paid ✓" in after and after.count("Scheduled") == 2


def test_a_bad_plan_form_says_why_next_to_the_field_and_changes_nothing(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    invoice = owing(clinic)
    card = card_on_file(clinic)
    desk = signed_in(clinic)
    start = today(invoice, timezone.now())
    for form, message in (
        (
            {"card": card.pk, "cadence": "monthly", "count": "40", "first_date": str(start)},
            "from 2 to 24",
        ),
        (
            {"card": card.pk, "cadence": "weekly", "count": "2", "first_date": "2001-01-01"},
            "cannot be in the past",
        ),
        ({"card": card.pk, "cadence": "dates", "dates": "next tuesday"}, "YYYY-MM-DD"),
        ({"card": "", "cadence": "monthly", "count": "3"}, "card on file"),
    ):
        refused = desk.post(f"/invoices/{invoice.pk}/plan", form)
        assert refused.status_code == 422
        assert message in refused.content.decode()
    assert not PaymentPlan.objects.exists()


def test_cancelling_from_the_page_needs_a_reason(clinic: Clinic, gateway: ScriptedGateway) -> None:
    invoice = owing(clinic)
    plan = plans.create_plan(
        invoice=invoice,
        card=card_on_file(clinic),
        actor=None,
        cadence="weekly",
        count=2,
        first_date=today(invoice, timezone.now()) + timedelta(days=3),
    )
    desk = signed_in(clinic)
    assert desk.post(f"/plans/{plan.pk}/cancel", {"cancel_reason": ""}).status_code == 422
    done = desk.post(f"/plans/{plan.pk}/cancel", {"cancel_reason": "Paid in full by cheque"})
    assert done.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "cancelled"


def test_a_provider_and_the_outsider_cannot_touch_plans(
    clinic: Clinic, outsider: Clinic, gateway: ScriptedGateway
) -> None:
    invoice = owing(clinic)
    form = {"card": card_on_file(clinic).pk, "cadence": "monthly", "count": "3"}
    assert (
        signed_in(clinic, Role.PROVIDER).post(f"/invoices/{invoice.pk}/plan", form).status_code
        == 404
    )
    assert (
        signed_in(outsider, Role.OWNER).post(f"/invoices/{invoice.pk}/plan", form).status_code
        == 404
    )
    assert signed_in(clinic, Role.FRONT_DESK).get("/payment-follow-ups/").status_code == 404
    assert not PaymentPlan.objects.exists()


def failed(clinic: Clinic, gateway: ScriptedGateway) -> PaymentFollowUp:
    now = timezone.now()
    invoice = owing(clinic)
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
    return PaymentFollowUp.objects.get(plan=plan)


def test_billing_works_a_follow_up_to_a_new_card(
    clinic: Clinic, outsider: Clinic, gateway: ScriptedGateway, django_assert_max_num_queries: Any
) -> None:
    follow_up = failed(clinic, gateway)
    failed(outsider, gateway)
    new_card = card_on_file(clinic, pm="pm_card_mastercard")
    billing = signed_in(clinic, Role.BILLING)
    with django_assert_max_num_queries(12):
        page = billing.get("/payment-follow-ups/").content.decode()
    assert page.count('class="checkout-card follow-up"') == 1  # not the outsider's
    assert "insufficient funds" in page

    missing = billing.post(
        f"/payment-follow-ups/{follow_up.pk}/resolve", {"resolution": "new_card", "card": ""}
    )
    assert missing.status_code == 422 and "Choose the client" in missing.content.decode()
    done = billing.post(
        f"/payment-follow-ups/{follow_up.pk}/resolve",
        {"resolution": "new_card", "card": new_card.pk, "note": "Client called back"},
    )
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.resolution == "new_card"
    assert PaymentPlan.objects.get(pk=follow_up.plan_id).card == new_card
    theirs = PaymentFollowUp.objects.exclude(pk=follow_up.pk).get()
    stranger = billing.post(f"/payment-follow-ups/{theirs.pk}/resolve", {"resolution": "paid"})
    assert stranger.status_code == 404


def test_a_payment_at_the_desk_shows_on_the_plan_at_once(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    import uuid

    from medspa.billing import services

    invoice = owing(clinic)
    plans.create_plan(
        invoice=invoice,
        card=card_on_file(clinic),
        actor=None,
        cadence="monthly",
        count=3,
        first_date=today(invoice, timezone.now()) + timedelta(days=1),
    )
    services.record_payment(
        invoice=invoice,
        tenders=[services.TenderIn("cash", 20000)],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )
    page = signed_in(clinic).get(f"/invoices/{invoice.pk}/").content.decode()
    plan_part = page.split('id="plan"')[1]
    assert "Covered" in plan_part and "100.00" in plan_part and "of 150.00" in plan_part


def test_a_paid_invoice_without_a_plan_shows_no_plan_section(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    import uuid

    from medspa.billing import services

    invoice = owing(clinic)
    services.record_payment(
        invoice=invoice,
        tenders=[services.TenderIn("cash", 45000)],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )
    page = signed_in(clinic).get(f"/invoices/{invoice.pk}/").content.decode()
    assert 'id="plan"' not in page


def test_without_a_consented_card_the_desk_is_told_to_save_one(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    invoice = owing(clinic)
    page = signed_in(clinic).get(f"/invoices/{invoice.pk}/").content.decode()
    assert "has none with recorded consent: save their card first" in page
    assert "Make payment plan" not in page
