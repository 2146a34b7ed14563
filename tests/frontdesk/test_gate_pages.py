"""The appointment panel's treatment gate: readiness before Start, a calm checklist when
refused, and the manager's override with a written reason."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from medspa.clinical.models import GateOverride, IntakeRequestStatus, ReviewStatus
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.models import Appointment, AppointmentStatus
from tests.clinical.gate_helpers import REASON, checked_in, consent, intake
from tests.conftest import Clinic


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient(HTTP_HX_REQUEST="true")
    browser.force_login(clinic.users[role])
    return browser


def not_ready(clinic: Clinic) -> Appointment:
    appointment = checked_in(clinic)
    intake(clinic, appointment)
    consent(clinic)
    return appointment


def start(browser: HttpClient, appointment: Appointment, **extra: str) -> str:
    response = browser.post(
        f"/calendar/appointments/{appointment.pk}/status", {"status": "in_treatment", **extra}
    )
    return f"{response.status_code} {response.content.decode()}"


def test_the_panel_says_ready_before_anyone_presses_start(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    page = signed_in(clinic).get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert "Ready for treatment" in page


def test_the_panel_counts_what_is_missing(
    clinic: Clinic, django_assert_max_num_queries: object
) -> None:
    appointment = not_ready(clinic)
    browser = signed_in(clinic)
    with django_assert_max_num_queries(22):  # type: ignore[operator]
        page = browser.get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert "Not ready: 2 items" in page
    assert "Health history intake is not submitted" in page


def test_a_refused_start_shows_the_checklist_and_changes_nothing(clinic: Clinic) -> None:
    appointment = not_ready(clinic)
    answer = start(signed_in(clinic, Role.PROVIDER), appointment)
    assert answer.startswith("409")
    assert "Treatment has not started" in answer
    assert "Neurotoxin consent is not signed" in answer
    assert "Ask a manager to override" in answer
    assert "Override and start treatment" not in answer
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_a_manager_sees_the_override_form_and_starts_with_a_reason(clinic: Clinic) -> None:
    appointment = not_ready(clinic)
    manager = signed_in(clinic, Role.MANAGER)
    assert "Override and start treatment" in start(manager, appointment)

    answer = start(manager, appointment, override_reason=REASON)

    assert answer.startswith("200") and "reason is on record" in answer
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.IN_TREATMENT
    assert GateOverride.objects.get().reason == REASON
    # The panel's history says an override happened; its reason (clinical) is not shown there.
    assert "override (2 gate items open)" in answer
    assert REASON not in answer.split('id="history-title"')[1]


def test_a_too_short_reason_is_told_next_to_the_field(clinic: Clinic) -> None:
    appointment = not_ready(clinic)
    answer = start(signed_in(clinic, Role.OWNER), appointment, override_reason="ok")
    assert answer.startswith("422")
    assert 'id="override-reason-error"' in answer and "at least 10 characters" in answer
    assert not GateOverride.objects.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER])
def test_staff_who_may_not_override_are_refused(clinic: Clinic, role: str) -> None:
    appointment = not_ready(clinic)
    assert start(signed_in(clinic, role), appointment, override_reason=REASON).startswith("403")
    assert not GateOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="appointment.gate_overridden").exists()


def test_a_submitted_and_cleared_visit_starts_from_the_panel(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment, IntakeRequestStatus.SUBMITTED, ReviewStatus.CLEARED)
    assert start(signed_in(clinic, Role.PROVIDER), appointment).startswith("200")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.IN_TREATMENT


def test_another_organizations_appointment_is_not_found(clinic: Clinic, outsider: Clinic) -> None:
    theirs = not_ready(outsider)
    answer = start(signed_in(clinic, Role.OWNER), theirs, override_reason=REASON)
    assert answer.startswith("404")
    assert not GateOverride.objects.exists()


def test_the_api_answers_409_with_every_gap_and_accepts_a_managers_reason(
    clinic: Clinic, api_as: object
) -> None:
    appointment = not_ready(clinic)
    url = f"/api/v1/appointments/{appointment.pk}/status"
    refused = api_as(clinic.users[Role.PROVIDER]).post(  # type: ignore[operator]
        url, {"status": "in_treatment"}, content_type="application/json"
    )
    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "treatment_gate" and len(body["errors"]) == 2
    started = api_as(clinic.users[Role.MANAGER]).post(  # type: ignore[operator]
        url, {"status": "in_treatment", "override_reason": REASON}, content_type="application/json"
    )
    assert started.status_code == 200 and started.json()["status"] == "in_treatment"
    assert GateOverride.objects.filter(appointment=appointment).count() == 1
