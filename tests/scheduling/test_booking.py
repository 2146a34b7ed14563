"""The booking service: book, reschedule, cancel and the status machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medspa.core.audit import verify_chain
from medspa.core.errors import Conflict, Invalid, SlotTaken
from medspa.core.models import AuditEvent
from medspa.scheduling.models import Appointment, AppointmentStatus, Reservation
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import (
    book_appointment,
    cancel_appointment,
    change_status,
    reschedule_appointment,
)
from tests.conftest import Clinic
from tests.factories import ClientFactory


def book(clinic: Clinic, hour: int, *wanted: Wanted, minute: int = 0, client=None) -> Appointment:
    return book_appointment(
        organization=clinic.organization,
        actor=clinic.users["front_desk"],
        client=client or clinic.client,
        location=clinic.location,
        start=clinic.at(hour, minute),
        wanted=list(wanted) or [Wanted(clinic.neurotoxin)],
    )


def test_booking_holds_provider_and_room_for_the_treatment(clinic: Clinic) -> None:
    appointment = book(clinic, 10)

    held = {(r.resource_id, r.role) for r in appointment.reservations.all()}
    assert held == {(clinic.injector.pk, "provider"), (clinic.treatment_room.pk, "room")}
    assert appointment.end - appointment.start == timedelta(minutes=30)
    assert appointment.lines.get().provider == clinic.injector


def test_laser_booking_holds_room_through_prep_and_cleanup_but_provider_only_for_treatment(
    clinic: Clinic,
) -> None:
    appointment = book(clinic, 10, Wanted(clinic.laser_hair))

    by_role = {r.role: r for r in appointment.reservations.all()}
    assert appointment.start == clinic.at(10)  # the client arrives after the prep
    assert by_role["room"].start == clinic.at(9, 50)
    assert by_role["room"].end == clinic.at(11, 0)
    assert (by_role["provider"].start, by_role["provider"].end) == (
        clinic.at(10, 20),
        clinic.at(10, 50),
    )
    assert by_role["device"].resource_id == clinic.laser.pk


def test_the_same_slot_cannot_be_booked_twice(clinic: Clinic) -> None:
    book(clinic, 10)

    with pytest.raises(SlotTaken):
        book(clinic, 10, client=ClientFactory(organization=clinic.organization))
    assert Appointment.objects.count() == 1


def test_a_start_outside_working_hours_can_never_be_booked(clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused:
        book(clinic, 20)
    assert refused.value.errors[0].field == "start"
    assert not Appointment.objects.exists()


def test_a_start_off_the_grid_or_in_the_past_is_refused(clinic: Clinic) -> None:
    with pytest.raises(Invalid, match="grid"):
        book(clinic, 10, minute=7)
    with pytest.raises(Invalid, match="past"):
        book_appointment(
            organization=clinic.organization,
            actor=None,
            client=clinic.client,
            location=clinic.location,
            start=clinic.at(10, days_ahead=-1),
            wanted=[Wanted(clinic.neurotoxin)],
        )


def test_a_provider_without_the_certification_is_refused(clinic: Clinic) -> None:
    with pytest.raises(Invalid, match="not certified"):
        book(clinic, 10, Wanted(clinic.neurotoxin, clinic.laser_tech))


def test_botox_then_hydrafacial_back_to_back_with_the_same_provider(clinic: Clinic) -> None:
    appointment = book(clinic, 10, Wanted(clinic.neurotoxin), Wanted(clinic.facial))

    lines = list(appointment.lines.order_by("position"))
    assert [line.service for line in lines] == [clinic.neurotoxin, clinic.facial]
    assert lines[0].end == lines[1].start == clinic.at(10, 30)
    assert appointment.end == clinic.at(11, 15)
    assert {line.provider for line in lines} == {clinic.injector}


def test_provider_treats_another_client_while_numbing_cream_works(clinic: Clinic) -> None:
    # The laser tech is needed from 10:20; during 09:50-10:20 the room alone is held.
    clinic.laser_tech.capabilities.append("neurotoxin")
    clinic.laser_tech.save()
    book(clinic, 10, Wanted(clinic.laser_hair, clinic.laser_tech))

    other = book(
        clinic,
        9,
        Wanted(clinic.neurotoxin, clinic.laser_tech),
        minute=45,
        client=ClientFactory(organization=clinic.organization),
    )
    assert other.lines.get().provider == clinic.laser_tech


def test_cancelling_frees_the_slot_and_records_the_reason(clinic: Clinic) -> None:
    appointment = book(clinic, 10)

    cancel_appointment(appointment=appointment, actor=None, reason="Client has a cold")

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Client has a cold"
    assert not Reservation.objects.filter(active=True).exists()
    assert book(clinic, 10, client=ClientFactory(organization=clinic.organization))


def test_cancelling_needs_a_reason(clinic: Clinic) -> None:
    appointment = book(clinic, 10)
    with pytest.raises(Invalid, match="why"):
        cancel_appointment(appointment=appointment, actor=None, reason="  ")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_rescheduling_moves_every_reservation(clinic: Clinic) -> None:
    appointment = book(clinic, 10)

    moved = reschedule_appointment(appointment=appointment, actor=None, start=clinic.at(14))

    assert moved.start == clinic.at(14)
    assert {r.start for r in moved.reservations.all()} == {clinic.at(14)}
    assert Reservation.objects.count() == 2


def test_rescheduling_onto_a_taken_slot_changes_nothing(clinic: Clinic) -> None:
    appointment = book(clinic, 10)
    book(clinic, 14, client=ClientFactory(organization=clinic.organization))

    with pytest.raises(SlotTaken):
        reschedule_appointment(appointment=appointment, actor=None, start=clinic.at(14))

    appointment.refresh_from_db()
    assert appointment.start == clinic.at(10)
    assert appointment.reservations.filter(start=clinic.at(10), active=True).count() == 2


def test_rescheduling_may_overlap_its_own_old_time(clinic: Clinic) -> None:
    appointment = book(clinic, 10)
    moved = reschedule_appointment(appointment=appointment, actor=None, start=clinic.at(10, 15))
    assert moved.start == clinic.at(10, 15)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["confirmed", "checked_in", "in_treatment", "completed"], True),
        (["checked_in", "in_treatment", "completed"], True),
        (["in_treatment"], False),
        (["completed"], False),
        (["confirmed", "booked"], False),
        (["cancelled", "confirmed"], False),
        (["checked_in", "no_show"], False),
    ],
)
def test_the_status_machine_refuses_moves_that_make_no_sense(
    clinic: Clinic, path: list[str], allowed: bool
) -> None:
    appointment = book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(16, days_ahead=0),
        wanted=[Wanted(clinic.neurotoxin)],
        now=clinic.at(8, days_ahead=0),
    )
    now = clinic.at(16, 5, days_ahead=0)

    def walk() -> None:
        for status in path:
            change_status(appointment=appointment, actor=None, status=status, reason="r", now=now)

    if allowed:
        walk()
        appointment.refresh_from_db()
        assert appointment.status == path[-1]
    else:
        with pytest.raises(Conflict):
            walk()


def test_no_show_is_possible_only_after_the_start(clinic: Clinic) -> None:
    appointment = book(clinic, 10)
    with pytest.raises(Conflict, match="no-show"):
        change_status(appointment=appointment, actor=None, status="no_show")
    change_status(appointment=appointment, actor=None, status="no_show", now=clinic.at(10, 20))
    assert not appointment.reservations.filter(active=True).exists()


def test_every_write_is_audited_in_an_intact_chain(clinic: Clinic) -> None:
    appointment = book(clinic, 10)
    reschedule_appointment(appointment=appointment, actor=None, start=clinic.at(11))
    cancel_appointment(appointment=appointment, actor=None, reason="Moved away")

    actions = list(
        AuditEvent.objects.filter(
            object_type="appointment", object_id=str(appointment.pk)
        ).values_list("action", flat=True)
    )
    assert actions == ["appointment.booked", "appointment.rescheduled", "appointment.cancelled"]
    assert verify_chain(clinic.organization) is None
