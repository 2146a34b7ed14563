"""The panel's Deposit section and the Fees page: the desk takes a deposit, hands one back,
confirms or waives a proposed fee; roles, the outsider, bad input and a double tap."""

from __future__ import annotations

from typing import Any

from django.test import Client as HttpClient

from medspa.billing.deposit_models import Deposit, FeeStatus, ProposedFee
from medspa.core.models import Role
from tests.billing.deposit_helpers import cancel, deposit_policy, ledger, paid_deposit
from tests.conftest import Clinic


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def test_the_panel_shows_the_deposit_due_and_the_desk_takes_it_once(clinic: Clinic) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    desk = signed_in(clinic)
    panel = desk.get(f"/calendar/appointments/{visit.pk}/").content.decode()
    assert f"/appointments/{visit.pk}/deposit" in panel
    section = desk.get(f"/appointments/{visit.pk}/deposit").content.decode()
    assert "100.00" in section and "Take deposit" in section
    form = {"tender": "cash", "amount": "100.00", "idempotency_key": "tap-1"}
    first = desk.post(f"/appointments/{visit.pk}/deposit/take", form)
    again = desk.post(f"/appointments/{visit.pk}/deposit/take", form)
    assert "Deposit taken" in first.content.decode()
    assert "Already taken" in again.content.decode()
    assert Deposit.objects.get(appointment=visit).status == "held"
    assert ledger(clinic)["deposits_held"] == 10000
    history = desk.get(f"/calendar/appointments/{visit.pk}/").content.decode()
    assert "Deposit asked: 100.00" in history and "Deposit taken: 100.00" in history


def test_a_wrong_amount_is_shown_next_to_the_field_and_nothing_is_taken(clinic: Clinic) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    desk = signed_in(clinic)
    for amount in ("ten", "50.00"):
        response = desk.post(
            f"/appointments/{visit.pk}/deposit/take",
            {"tender": "cash", "amount": amount, "idempotency_key": f"k-{amount}"},
        )
        assert response.status_code == 422
        assert 'id="deposit-amount-error"' in response.content.decode()
    assert Deposit.objects.get(appointment=visit).status == "due"


def test_the_desk_hands_back_a_deposit_the_policy_gave_back(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic, tender="card_external")
    cancel(deposit.appointment, clinic, hours_before=30)
    desk = signed_in(clinic)
    url = f"/appointments/{deposit.appointment_id}/deposit"
    assert "To give back" in desk.get(url).content.decode()
    done = desk.post(f"{url}/give-back", {"reference": "refund slip 88"})
    assert "Deposit given back" in done.content.decode()
    deposit.refresh_from_db()
    assert (deposit.status, deposit.refund_reference) == ("refunded", "refund slip 88")


def test_the_fees_page_confirms_and_waives(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    deposit_policy(clinic, deposit_kind="none")
    for hour in (9, 10, 13):
        cancel(clinic.book(hour), clinic, hours_before=1)
    first, second, third = ProposedFee.objects.order_by("id")
    desk = signed_in(clinic)
    with django_assert_max_num_queries(12):
        page = desk.get("/fees/").content.decode()
    assert page.count("Confirm 50.00") == 3
    desk.post(f"/fees/{first.pk}/confirm", {"method": "invoice", "idempotency_key": "c-1"})
    refused = desk.post(f"/fees/{second.pk}/waive", {"reason": " "})
    assert refused.status_code == 422 and "required" in refused.content.decode().lower()
    desk.post(f"/fees/{second.pk}/waive", {"reason": "Snowstorm"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (FeeStatus.INVOICED, FeeStatus.WAIVED)
    page = desk.get("/fees/").content.decode()
    assert "Snowstorm" in page and page.count("Confirm 50.00") == 1
    assert third.status == FeeStatus.PROPOSED


def test_roles_and_the_outsider(clinic: Clinic, outsider: Clinic) -> None:
    deposit_policy(clinic, deposit_kind="none")
    visit = clinic.book(10)
    cancel(clinic.book(13), clinic, hours_before=1)
    fee = ProposedFee.objects.get()
    assert signed_in(clinic, Role.PROVIDER).get("/fees/").status_code == 404
    assert signed_in(clinic, Role.PROVIDER).get(f"/appointments/{visit.pk}/deposit").content == b""
    them = signed_in(outsider, Role.OWNER)
    assert them.get(f"/appointments/{visit.pk}/deposit").status_code == 404
    assert them.post(f"/fees/{fee.pk}/waive", {"reason": "Mine"}).status_code == 404
    assert (
        them.post(
            f"/appointments/{visit.pk}/deposit/take", {"tender": "cash", "amount": "1.00"}
        ).status_code
        == 404
    )
    assert "No fee is waiting" in them.get("/fees/").content.decode()
    fee.refresh_from_db()
    assert fee.status == "proposed"


def test_a_manager_edits_a_service_s_policy_on_its_page(clinic: Clinic) -> None:
    from medspa.catalog.policies import policy_for

    manager = signed_in(clinic, Role.MANAGER)
    listing = manager.get("/policies/").content.decode()
    assert "Neurotoxin" in listing and "None" in listing
    url = f"/policies/{clinic.neurotoxin.pk}/"
    form = {
        "deposit_kind": "percent",
        "deposit_percent": "20",
        "cancel_window_hours": "48",
        "late_cancel_deposit": "forfeit",
        "no_show_deposit": "forfeit",
        "refund_to": "account_credit",
        "late_cancel_fee": "75.00",
        "no_show_fee": "abc",
    }
    refused = manager.post(url, form)
    assert refused.status_code == 422 and 'id="p-noshow-fee-error"' in refused.content.decode()
    assert policy_for(clinic.neurotoxin).pk is None
    saved = manager.post(url, {**form, "no_show_fee": "120"})
    assert saved.status_code == 302
    policy = policy_for(clinic.neurotoxin)
    assert (policy.deposit_percent_bp, policy.cancel_window_hours) == (2000, 48)
    assert (policy.late_cancel_fee_cents, policy.no_show_fee_cents) == (7500, 12000)
    assert "20% of the price" in manager.get("/policies/").content.decode()
    assert signed_in(clinic).get("/policies/").status_code == 404
    assert (
        signed_in(clinic, Role.OWNER).get(f"/policies/{clinic.neurotoxin.pk}/").status_code == 200
    )


def test_another_clinic_s_service_policy_is_not_found(clinic: Clinic, outsider: Clinic) -> None:
    them = signed_in(outsider, Role.MANAGER)
    url = f"/policies/{clinic.neurotoxin.pk}/"
    assert them.get(url).status_code == 404
    assert them.post(url, {"deposit_kind": "none"}).status_code == 404
    assert url not in them.get("/policies/").content.decode()
