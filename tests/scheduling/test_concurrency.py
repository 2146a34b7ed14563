"""No double booking, ever: many clients race for the same time on real connections."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections
from django.test import Client as HttpClient

from medspa.core.errors import DomainError, SlotTaken
from medspa.core.tokens import create_api_token
from medspa.scheduling.models import Appointment
from medspa.scheduling.selectors import Wanted, count_overlapping_reservations
from medspa.scheduling.services import book_appointment, reschedule_appointment
from tests.conftest import build_clinic
from tests.factories import ClientFactory, ResourceFactory, open_every_day

RACERS = 16


def race(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads released together; each returns a result or its exception."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except Exception as error:  # the outcome we assert on
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_sixteen_clients_race_for_one_slot_and_exactly_one_wins() -> None:
    clinic = build_clinic("Race")
    clients = [ClientFactory(organization=clinic.organization) for _ in range(RACERS)]
    start = clinic.at(11)

    def booker(client: Any) -> Callable[[], Any]:
        return lambda: book_appointment(
            organization=clinic.organization,
            actor=None,
            client=client,
            location=clinic.location,
            start=start,
            wanted=[Wanted(clinic.laser_hair)],
        )

    results = race([booker(c) for c in clients])

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"Appointment": 1, "SlotTaken": RACERS - 1}, (connection.vendor, outcomes)
    assert all(str(r) for r in results if isinstance(r, SlotTaken))
    assert Appointment.objects.count() == 1
    assert count_overlapping_reservations() == 0


@pytest.mark.django_db(transaction=True)
def test_random_concurrent_bookings_and_moves_never_overlap() -> None:
    clinic = build_clinic("Busy")
    services = [clinic.neurotoxin, clinic.facial, clinic.laser_hair]
    rng = random.Random(7)
    clients = [ClientFactory(organization=clinic.organization) for _ in range(RACERS)]
    first = book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clients[0],
        location=clinic.location,
        start=clinic.at(9),
        wanted=[Wanted(clinic.neurotoxin)],
    )

    def job(i: int) -> Callable[[], Any]:
        hour, minute = rng.choice([9, 10, 11]), rng.choice([0, 15, 30, 45])
        service = rng.choice(services)
        if i % 5 == 0:
            return lambda: reschedule_appointment(
                appointment=first, actor=None, start=clinic.at(hour, minute)
            )
        return lambda: book_appointment(
            organization=clinic.organization,
            actor=None,
            client=clients[i],
            location=clinic.location,
            start=clinic.at(hour, minute),
            wanted=[Wanted(service)],
        )

    results = race([job(i) for i in range(RACERS)])

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    assert not unexpected
    assert count_overlapping_reservations() == 0
    booked = sum(isinstance(r, Appointment) for i, r in enumerate(results) if i % 5)
    assert Appointment.objects.count() == 1 + booked


@pytest.mark.django_db(transaction=True)
def test_a_retried_booking_with_the_same_key_books_once() -> None:
    clinic = build_clinic("Retry")
    token = create_api_token(user=clinic.users["front_desk"])
    body = json.dumps(
        {
            "client": clinic.client.pk,
            "location": clinic.location.pk,
            "start": clinic.at(10).isoformat(),
            "service": clinic.neurotoxin.pk,
        }
    )

    def retry() -> Any:
        return HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}").post(
            "/api/v1/appointments",
            data=body,
            content_type="application/json",
            headers={"Idempotency-Key": "same-request"},
        )

    responses = race([retry for _ in range(8)])

    assert Appointment.objects.count() == 1
    # Every retry waited for the first and got its answer: the same appointment.
    assert [r.status_code for r in responses] == [201] * 8
    assert {r.json()["id"] for r in responses} == {Appointment.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_racers_who_leave_the_provider_open_fill_every_free_chair() -> None:
    clinic = build_clinic("Chairs")
    for i in range(2):
        injector = ResourceFactory(
            organization=clinic.organization, name=f"Injector {i}", capabilities=["neurotoxin"]
        )
        room = ResourceFactory(
            organization=clinic.organization,
            kind="room",
            name=f"Room {i}",
            location=clinic.location,
            capabilities=["treatment_room"],
        )
        open_every_day(injector, clinic.location)
        open_every_day(room, clinic.location)
    clients = [ClientFactory(organization=clinic.organization) for _ in range(RACERS)]

    results = race(
        [
            lambda c=c: book_appointment(
                organization=clinic.organization,
                actor=None,
                client=c,
                location=clinic.location,
                start=clinic.at(10),
                wanted=[Wanted(clinic.neurotoxin)],
            )
            for c in clients
        ]
    )

    # Three injectors and three rooms: three bookings, whatever order the racers lost in.
    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"Appointment": 3, "SlotTaken": RACERS - 3}, outcomes
    assert count_overlapping_reservations() == 0


@pytest.mark.django_db(transaction=True)
def test_the_database_itself_refuses_overlapping_reservations() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no exclusion constraints; its bookings run under BEGIN IMMEDIATE")
    clinic = build_clinic("Guard")
    appointment = book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(10),
        wanted=[Wanted(clinic.neurotoxin)],
    )
    held = appointment.reservations.first()
    assert held is not None
    held.pk = None
    with pytest.raises(IntegrityError, match="reservation_no_overlap"):
        held.save()  # straight past the booking service
