"""The treatment gate: no treatment without intake, cleared flags and signed consents,
unless a manager writes why; the override is audited and counted as manual recovery."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medspa.clinical.gate import appointment_gaps, manual_recoveries
from medspa.clinical.models import GateOverride, IntakeRequestStatus, ReviewStatus
from medspa.core.audit import verify_chain
from medspa.core.errors import Conflict, Forbidden, Invalid
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.gate import treatment_gaps
from medspa.scheduling.models import AppointmentStatus
from tests.clinical.gate_helpers import (
    REASON,
    checked_in,
    consent,
    intake,
    intake_template,
    sign,
    start,
)
from tests.conftest import Clinic


def test_every_gap_is_listed_and_nothing_changes(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment)
    intake(
        clinic,
        appointment,
        IntakeRequestStatus.SUBMITTED,
        ReviewStatus.OPEN,
        "Neurotoxin screening",
    )
    consent(clinic)
    events = AuditEvent.objects.count()

    with pytest.raises(Conflict) as refusal:
        start(clinic, appointment, Role.PROVIDER)

    assert refusal.value.code == "treatment_gate"
    assert [e.reason for e in refusal.value.errors] == [
        "Health history intake is not submitted",
        "Neurotoxin screening answers flagged for review are not cleared yet",
        "Neurotoxin consent is not signed",
    ]
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert AuditEvent.objects.count() == events


def test_a_provider_saying_not_cleared_holds_the_gate(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment, IntakeRequestStatus.SUBMITTED, ReviewStatus.NOT_CLEARED)
    assert [g.what for g in treatment_gaps(appointment)] == [
        "Health history answers flagged for review were not cleared to treat"
    ]


def test_submitted_and_cleared_forms_and_a_signed_consent_open_the_gate(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment, IntakeRequestStatus.SUBMITTED)
    intake(clinic, appointment, IntakeRequestStatus.SUBMITTED, ReviewStatus.CLEARED, "Screening")
    intake(clinic, appointment, IntakeRequestStatus.CANCELLED, name="Old form")
    sign(clinic, consent(clinic))
    assert treatment_gaps(appointment) == []
    assert start(clinic, appointment, Role.PROVIDER).status == AppointmentStatus.IN_TREATMENT


def test_a_lapsed_consent_is_a_gap_again(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    sign(clinic, consent(clinic, valid_days=7), at=timezone.now() - timedelta(days=8))
    assert [g.kind for g in treatment_gaps(appointment)] == ["consent"]


def test_only_a_consent_of_the_appointments_services_counts(clinic: Clinic) -> None:
    appointment = checked_in(clinic, services=[clinic.facial])
    consent(clinic)  # neurotoxin only
    assert treatment_gaps(appointment) == []


def test_a_manager_overrides_with_a_reason_audited_and_counted(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment)
    consent(clinic)
    before = timezone.now()

    started = start(clinic, appointment, Role.MANAGER, override_reason=f"  {REASON}  ")

    assert started.status == AppointmentStatus.IN_TREATMENT
    override = GateOverride.objects.get()
    assert override.reason == REASON
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM clinical_gateoverride")
        assert REASON not in cursor.fetchone()[0]
    assert override.overridden_by == clinic.users[Role.MANAGER]
    assert [m["missing"] for m in override.missing] == [
        "Health history intake is not submitted",
        "Neurotoxin consent is not signed",
    ]
    event = AuditEvent.objects.get(action="appointment.gate_overridden")
    assert event.object_id == str(appointment.pk)
    # The reason is clinical free text: on the override's row, encrypted; never in the log.
    assert "reason" not in event.data and len(event.data["missing"]) == 2
    assert REASON not in json.dumps(event.data)
    assert verify_chain(clinic.organization) is None
    period = manual_recoveries(clinic.organization, before, timezone.now() + timedelta(seconds=1))
    assert list(period) == [override]


def test_manual_recoveries_count_one_period_and_one_organization(
    clinic: Clinic, outsider: Clinic
) -> None:
    for place in (clinic, outsider):
        appointment = checked_in(place)
        intake(place, appointment)
        start(place, appointment, Role.OWNER, override_reason=REASON)
    now = timezone.now()
    assert (
        manual_recoveries(
            clinic.organization, now - timedelta(hours=1), now + timedelta(hours=1)
        ).count()
        == 1
    )
    assert (
        manual_recoveries(
            clinic.organization, now + timedelta(hours=1), now + timedelta(hours=2)
        ).count()
        == 0
    )


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER])
def test_only_managers_may_override(clinic: Clinic, role: str) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment)
    with pytest.raises(Forbidden):
        start(clinic, appointment, role, override_reason=REASON)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert not GateOverride.objects.exists()


@pytest.mark.parametrize("reason", ["ok", "   short   ", "x" * 1001])
def test_an_override_needs_a_real_reason(clinic: Clinic, reason: str) -> None:
    appointment = checked_in(clinic)
    intake(clinic, appointment)
    with pytest.raises(Invalid) as refusal:
        start(clinic, appointment, Role.MANAGER, override_reason=reason)
    assert refusal.value.errors[0].field == "override_reason"
    assert not GateOverride.objects.exists()


def test_an_override_with_nothing_missing_is_not_recorded(clinic: Clinic) -> None:
    appointment = checked_in(clinic)
    start(clinic, appointment, Role.MANAGER, override_reason=REASON)
    assert not GateOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="appointment.gate_overridden").exists()


def test_the_gate_costs_the_same_queries_for_one_form_or_many(
    clinic: Clinic, django_assert_max_num_queries: object
) -> None:
    small = checked_in(clinic, services=[clinic.facial], hour=14)
    big = checked_in(clinic, hour=16)
    intake(clinic, small)
    consent(clinic)
    for n in range(6):
        intake(clinic, big, IntakeRequestStatus.SUBMITTED, ReviewStatus.OPEN, f"Form {n}")
    for n in range(4):
        consent(clinic, f"Consent {n}")
    # Requests, forms never asked for, consents (two): four, however many forms.
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        assert len(appointment_gaps(small)) == 1
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        assert len(appointment_gaps(big)) == 11


def test_a_form_attached_after_the_booking_still_holds_the_gate(clinic: Clinic) -> None:
    appointment = checked_in(clinic)  # booked before any form existed: nothing was asked
    template = intake_template(clinic, "Neurotoxin screening")
    template.services.add(clinic.neurotoxin)

    assert [gap.what for gap in appointment_gaps(appointment)] == [
        "Neurotoxin screening intake was never sent: send the link"
    ]
    with pytest.raises(Conflict):
        start(clinic, appointment, Role.PROVIDER)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    forms=st.lists(
        st.sampled_from(["pending", "submitted", "cancelled", "open", "cleared", "not_cleared"]),
        max_size=4,
    )
)
def test_treatment_starts_exactly_when_nothing_is_missing(clinic: Clinic, forms: list[str]) -> None:
    """Whatever the forms' states, the gate opens if and only if each live form is done."""
    # Each example books on a clean slate: its writes are rolled back after.
    with transaction.atomic():
        appointment = checked_in(clinic)
        for n, state in enumerate(forms):
            if state in {"open", "cleared", "not_cleared"}:
                intake(
                    clinic,
                    appointment,
                    IntakeRequestStatus.SUBMITTED,
                    state,
                    f"F{appointment.pk}-{n}",
                )
            else:
                intake(clinic, appointment, state, name=f"F{appointment.pk}-{n}")
        ready = all(s in {"submitted", "cancelled", "cleared"} for s in forms)
        try:
            start(clinic, appointment, Role.PROVIDER)
        except Conflict:
            assert not ready
        else:
            assert ready
        appointment.refresh_from_db()
        assert (appointment.status == AppointmentStatus.IN_TREATMENT) == ready
        transaction.set_rollback(True)
