"""Booking from the calendar, the appointment panel, and drag to move."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from medspa.clients.models import Client
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.hours import add_block
from medspa.scheduling.models import Appointment, AppointmentStatus, Reservation
from medspa.scheduling.selectors import Wanted, find_availability
from medspa.scheduling.services import book_appointment
from tests.conftest import Clinic
from tests.factories import ClientFactory
from tests.frontdesk.test_calendar import events_url


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient(HTTP_HX_REQUEST="true")
    browser.force_login(clinic.users[role])
    return browser


def book(clinic: Clinic, hour: int, minute: int = 0, notes: str = "") -> Appointment:
    return clinic.book(
        hour, minute, wanted=[Wanted(clinic.neurotoxin, clinic.injector)], notes=notes
    )


def starts_url(clinic: Clinic, service: int, **extra: object) -> str:
    params = {"location": clinic.location.pk, "service": service, "date": clinic.day(), **extra}
    return "/calendar/book/starts?" + "&".join(f"{k}={v}" for k, v in params.items())


def offered(html: str) -> list[str]:
    return re.findall(r'name="start" value="([^"]+)"', html)


# ---- the booking form ---------------------------------------------------------------------


def test_the_form_offers_exactly_the_engines_starts_with_what_each_would_hold(
    clinic: Clinic,
) -> None:
    book(clinic, 10)
    html = signed_in(clinic).get(starts_url(clinic, clinic.laser_hair.pk)).content.decode()

    start, end = clinic.at(0), clinic.at(0) + timedelta(days=1)
    slots = find_availability(
        organization=clinic.organization,
        location=clinic.location,
        wanted=[Wanted(clinic.laser_hair)],
        start=start,
        end=end,
        now=timezone.now(),
    ).slots
    values = offered(html)
    assert len(values) == len(slots) > 0
    assert values[0].startswith(clinic.at(0).replace(hour=0).date().isoformat())
    # Each start names the provider, room and device it would hold.
    assert clinic.laser_tech.name in html
    assert clinic.laser_suite.name in html and clinic.laser.name in html


def test_a_day_without_starts_says_why_and_offers_the_nearest_days(clinic: Clinic) -> None:
    add_block(
        organization=clinic.organization,
        actor=None,
        resource=clinic.laser,
        start=clinic.at(0),
        end=clinic.at(0) + timedelta(days=1),
        reason="maintenance",
    )
    html = signed_in(clinic).get(starts_url(clinic, clinic.laser_hair.pk)).content.decode()

    assert offered(html) == []
    assert "No free time" in html
    assert "maintenance" in html
    tomorrow = (clinic.day() + timedelta(days=1)).isoformat()
    assert f'data-pick-date="{tomorrow}"' in html


def test_a_provider_not_certified_for_the_service_is_refused_at_the_field(clinic: Clinic) -> None:
    url = starts_url(clinic, clinic.laser_hair.pk, provider=clinic.injector.pk)
    html = signed_in(clinic).get(url).content.decode()
    assert offered(html) == []
    assert "not certified for Laser hair removal" in html


def test_booking_a_chosen_start_books_it_and_opens_the_appointment(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    html = browser.get(starts_url(clinic, clinic.neurotoxin.pk)).content.decode()
    choice = offered(html)[4]
    response = browser.post(
        "/calendar/book/confirm",
        {
            "location": clinic.location.pk,
            "client": clinic.client.pk,
            "service": clinic.neurotoxin.pk,
            "date": clinic.day(),
            "start": choice,
            "notes": "Prefers the left chair",
            "idempotency_key": "k-1",
        },
    )

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"calendarChanged": True}
    appointment = Appointment.objects.get(client=clinic.client)
    assert appointment.start == datetime.fromisoformat(choice.split("|")[0])
    assert appointment.notes == "Prefers the left chair"
    assert appointment.lines.get().provider_id == int(choice.split("|")[1])
    assert "Check in" in response.content.decode() or "Confirm" in response.content.decode()


def test_a_retried_booking_form_books_once(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    choice = offered(browser.get(starts_url(clinic, clinic.neurotoxin.pk)).content.decode())[0]
    form = {
        "location": clinic.location.pk,
        "client": clinic.client.pk,
        "service": clinic.neurotoxin.pk,
        "date": clinic.day(),
        "start": choice,
        "idempotency_key": "same-click",
    }
    first = browser.post("/calendar/book/confirm", form)
    second = browser.post("/calendar/book/confirm", form)

    assert first.status_code == second.status_code == 200
    assert Appointment.objects.filter(client=clinic.client).count() == 1


def test_a_start_taken_meanwhile_is_refused_and_nothing_is_half_made(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    url = starts_url(clinic, clinic.neurotoxin.pk, provider=clinic.injector.pk)
    choice = next(v for v in offered(browser.get(url).content.decode()) if "T15:00" in v)
    # Someone else takes the only treatment room at that time first.
    book(clinic, 15, 0)
    before = Reservation.objects.count()
    response = browser.post(
        "/calendar/book/confirm",
        {
            "location": clinic.location.pk,
            "client": clinic.client.pk,
            "service": clinic.neurotoxin.pk,
            "provider": clinic.injector.pk,
            "date": clinic.day(),
            "start": choice,
        },
    )

    assert response.status_code == 422
    assert "taken" in response.content.decode()
    assert Reservation.objects.count() == before
    assert not Appointment.objects.filter(client=clinic.client).exists()


def test_missing_client_and_start_are_named_next_to_their_fields(clinic: Clinic) -> None:
    response = signed_in(clinic).post(
        "/calendar/book/confirm",
        {"location": clinic.location.pk, "service": clinic.neurotoxin.pk, "date": clinic.day()},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="client-error"' in html and 'id="start-error"' in html
    assert not Appointment.objects.exists()


def test_a_provider_cannot_open_the_booking_form(clinic: Clinic) -> None:
    url = f"/calendar/book/?location={clinic.location.pk}"
    assert signed_in(clinic, Role.PROVIDER).get(url).status_code == 404
    assert signed_in(clinic).get(url).status_code == 200


# ---- clients: search as you type, register inline ------------------------------------------


def test_client_search_finds_by_name_phone_or_email_within_the_organization(
    clinic: Clinic, outsider: Clinic
) -> None:
    mine = ClientFactory(
        organization=clinic.organization,
        first_name="Priya",
        last_name="Raman",
        phone="+16175550199",
        email="priya@example.com",
    )
    ClientFactory(organization=outsider.organization, first_name="Priya", last_name="Other")
    browser = signed_in(clinic)
    for text in ("pri", "5550199", "priya@ex"):
        html = browser.get(f"/clients/search?q={text}").content.decode()
        assert "Priya Raman" in html, text
        assert "Priya Other" not in html
    assert f"/clients/{mine.pk}/pick" in html
    assert browser.get(f"/clients/{outsider.client.pk}/pick").status_code == 404


def test_registering_a_client_warns_of_a_likely_duplicate_first(clinic: Clinic) -> None:
    ClientFactory(organization=clinic.organization, phone="+16175550111", first_name="Ann")
    browser = signed_in(clinic)
    form = {
        "new_first_name": "Anne",
        "new_last_name": "Lee",
        "new_phone": "(617) 555-0111",
        "new_email": "",
    }
    warned = browser.post("/clients/new", form)
    assert "may already exist" in warned.content.decode()
    assert Client.objects.filter(first_name="Anne").count() == 0

    created = browser.post("/clients/new", {**form, "confirm_duplicate": "1"})
    assert created.status_code == 200
    assert Client.objects.filter(first_name="Anne", phone="+16175550111").count() == 1
    assert 'name="client"' in created.content.decode()


def test_registering_a_client_with_a_bad_phone_says_so_and_creates_nothing(
    clinic: Clinic,
) -> None:
    response = signed_in(clinic).post(
        "/clients/new", {"new_first_name": "Bo", "new_last_name": "Ng", "new_phone": "12"}
    )
    assert response.status_code == 422
    assert 'id="new_phone-error"' in response.content.decode()
    assert not Client.objects.filter(first_name="Bo").exists()


# ---- the appointment panel ----------------------------------------------------------------


def test_the_panel_shows_details_actions_and_history(clinic: Clinic) -> None:
    appointment = book(clinic, 11, notes="Bring parking voucher")
    html = signed_in(clinic).get(f"/calendar/appointments/{appointment.pk}/").content.decode()

    assert appointment.client.full_name in html
    assert clinic.neurotoxin.name in html and clinic.injector.name in html
    assert clinic.treatment_room.name in html
    assert "Bring parking voucher" in html
    assert ">Confirm<" in html and "Reschedule" in html and "Cancel appointment" in html
    # Not the appointment's day yet, and it has not started: no check-in, no no-show.
    assert ">Check in<" not in html and ">No-show<" not in html
    assert "Booked for" in html


def test_confirming_and_cancelling_with_a_reason_from_the_panel(clinic: Clinic) -> None:
    appointment = book(clinic, 11)
    browser = signed_in(clinic)
    url = f"/calendar/appointments/{appointment.pk}/status"

    confirmed = browser.post(url, {"status": "confirmed"})
    assert confirmed.status_code == 200 and "HX-Trigger" in confirmed
    refused = browser.post(url, {"status": "cancelled", "reason": " "})
    assert refused.status_code == 422
    assert 'id="cancel-reason-error"' in refused.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED

    browser.post(url, {"status": "cancelled", "reason": "Client has the flu"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert not appointment.reservations.filter(active=True).exists()
    html = browser.get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert "Cancelled: Client has the flu" in html


def test_staff_notes_are_saved_and_audited(clinic: Clinic) -> None:
    appointment = book(clinic, 11)
    signed_in(clinic).post(
        f"/calendar/appointments/{appointment.pk}/notes", {"notes": "Running 10 min late"}
    )
    appointment.refresh_from_db()
    assert appointment.notes == "Running 10 min late"
    assert AuditEvent.objects.filter(
        action="appointment.notes_changed", object_id=str(appointment.pk)
    ).exists()


def test_rescheduling_from_the_panel_moves_to_an_offered_start(clinic: Clinic) -> None:
    appointment = book(clinic, 11)
    browser = signed_in(clinic)
    form = browser.get(f"/calendar/appointments/{appointment.pk}/reschedule").content.decode()
    # Its own time is offered too: moving never collides with itself.
    choice = next(v for v in offered(form) if "T16:00" in v)
    moved = browser.post(
        f"/calendar/appointments/{appointment.pk}/reschedule/confirm", {"start": choice}
    )
    assert moved.status_code == 200
    appointment.refresh_from_db()
    assert appointment.start == clinic.at(16)


def test_another_organizations_appointment_is_not_found(clinic: Clinic, outsider: Clinic) -> None:
    theirs = book(outsider, 11)
    browser = signed_in(clinic)
    assert browser.get(f"/calendar/appointments/{theirs.pk}/").status_code == 404
    response = browser.post(f"/calendar/appointments/{theirs.pk}/status", {"status": "confirmed"})
    assert response.status_code == 404
    moved = browser.post(
        f"/calendar/appointments/{theirs.pk}/move",
        {"reservation": "r1", "start": f"{outsider.day()}T12:00"},
    )
    assert moved.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED and theirs.start == outsider.at(11)


def test_the_panel_costs_the_same_queries_for_a_long_history(clinic: Clinic) -> None:
    short = book(clinic, 9)
    long = book(clinic, 11)
    browser = signed_in(clinic)
    for i in range(6):
        browser.post(f"/calendar/appointments/{long.pk}/notes", {"notes": f"note {i}"})
    with CaptureQueriesContext(connection) as few:
        browser.get(f"/calendar/appointments/{short.pk}/")
    with CaptureQueriesContext(connection) as many:
        browser.get(f"/calendar/appointments/{long.pk}/")
    assert len(many) == len(few)


# ---- drag to move -------------------------------------------------------------------------


def _provider_reservation(appointment: Appointment) -> Reservation:
    return appointment.reservations.get(role="provider")


def test_dragging_an_appointment_moves_it(clinic: Clinic) -> None:
    appointment = book(clinic, 11)
    held = _provider_reservation(appointment)
    response = signed_in(clinic).post(
        f"/calendar/appointments/{appointment.pk}/move",
        {"reservation": f"r{held.pk}", "start": f"{clinic.day()}T13:15"},
    )
    assert response.status_code == 200, response.content
    assert "Moved to" in response.json()["detail"]
    appointment.refresh_from_db()
    assert appointment.start == clinic.at(13, 15)


def test_dragging_into_another_providers_column_hands_the_service_over(clinic: Clinic) -> None:
    clinic.laser_tech.capabilities = [*clinic.laser_tech.capabilities, "neurotoxin"]
    clinic.laser_tech.save()
    appointment = book(clinic, 11)
    held = _provider_reservation(appointment)
    response = signed_in(clinic).post(
        f"/calendar/appointments/{appointment.pk}/move",
        {
            "reservation": f"r{held.pk}",
            "start": f"{clinic.day()}T11:00",
            "resource": clinic.laser_tech.pk,
        },
    )
    assert response.status_code == 200, response.content
    assert appointment.lines.get().provider_id == clinic.laser_tech.pk


def test_dragging_onto_a_taken_slot_is_refused_and_changes_nothing(clinic: Clinic) -> None:
    book(clinic, 14)
    appointment = book(clinic, 11)
    held = _provider_reservation(appointment)
    response = signed_in(clinic).post(
        f"/calendar/appointments/{appointment.pk}/move",
        {"reservation": f"r{held.pk}", "start": f"{clinic.day()}T14:00"},
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert "taken" in response.json()["detail"]
    appointment.refresh_from_db()
    assert appointment.start == clinic.at(11)
    assert appointment.reservations.filter(active=True).count() == 2


def test_dragging_a_room_into_another_room_is_explained(clinic: Clinic) -> None:
    appointment = book(clinic, 11)
    room = appointment.reservations.get(role="room")
    response = signed_in(clinic).post(
        f"/calendar/appointments/{appointment.pk}/move",
        {
            "reservation": f"r{room.pk}",
            "start": f"{clinic.day()}T11:00",
            "resource": clinic.laser_suite.pk,
        },
    )
    assert response.status_code == 422
    assert "Rooms and devices" in response.json()["detail"]


def test_a_provider_cannot_drag_appointments(clinic: Clinic) -> None:
    appointment = book(clinic, 11)
    held = _provider_reservation(appointment)
    response = signed_in(clinic, Role.PROVIDER).post(
        f"/calendar/appointments/{appointment.pk}/move",
        {"reservation": f"r{held.pk}", "start": f"{clinic.day()}T13:00"},
    )
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.start == clinic.at(11)


def test_events_say_which_appointments_may_be_dragged(clinic: Clinic) -> None:
    book(clinic, 11)
    url = events_url(clinic)
    desk = [e for e in signed_in(clinic).get(url).json() if "startEditable" in e]
    provider = [e for e in signed_in(clinic, Role.PROVIDER).get(url).json() if "startEditable" in e]
    assert desk and all(e["startEditable"] for e in desk)
    assert all(not e["startEditable"] for e in provider)


def test_dates_beyond_the_calendar_fall_back_to_today(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    assert browser.get("/calendar/?date=9999-12-31").status_code == 200
    response = browser.get(starts_url(clinic, clinic.neurotoxin.pk, date="9999-12-31"))
    assert response.status_code == 200


def test_time_off_is_drawn_on_the_calendar(clinic: Clinic) -> None:
    add_block(
        organization=clinic.organization,
        actor=None,
        resource=clinic.injector,
        start=clinic.at(12),
        end=clinic.at(13),
        reason="time_off",
    )
    url = events_url(clinic)
    blocked = [e for e in signed_in(clinic).get(url).json() if "blocked" in e.get("classNames", [])]
    assert [(b["resourceIds"], b["start"][-5:], b["end"][-5:]) for b in blocked] == [
        ([clinic.injector.pk], "12:00", "13:00")
    ]


def test_processing_time_is_drawn_in_the_providers_column(clinic: Clinic) -> None:
    book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(10),
        wanted=[Wanted(clinic.laser_hair)],
    )
    url = events_url(clinic)
    events = signed_in(clinic).get(url).json()
    processing = [e for e in events if "processing" in e.get("classNames", [])]
    treatment = [e for e in events if e.get("extendedProps", {}).get("role") == "provider"]
    # Prep (before the client's 10:00) and numbing before the laser, cleanup after: the
    # provider is free meanwhile.
    assert [(e["start"][-5:], e["end"][-5:]) for e in treatment] == [("10:20", "10:50")]
    assert [(e["title"].split(" · ")[0], e["start"][-5:]) for e in processing] == [
        ("Prep", "09:50"),
        ("Numbing", "10:00"),
        ("Cleanup", "10:50"),
    ]
    assert all(e["resourceIds"] == [clinic.laser_tech.pk] for e in processing)


def test_a_start_without_providers_books_with_any_provider(clinic: Clinic) -> None:
    start = clinic.at(15).isoformat()
    response = signed_in(clinic).post(
        "/calendar/book/confirm",
        {
            "location": clinic.location.pk,
            "client": clinic.client.pk,
            "service": clinic.neurotoxin.pk,
            "date": clinic.day(),
            "start": start,
        },
    )
    assert response.status_code == 200
    assert Appointment.objects.get(client=clinic.client).start == clinic.at(15)


def test_each_event_names_the_room_and_device_it_holds_too(clinic: Clinic) -> None:
    book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(10),
        wanted=[Wanted(clinic.laser_hair)],
    )
    url = events_url(clinic)
    [treatment] = [
        e
        for e in signed_in(clinic).get(url).json()
        if e.get("extendedProps", {}).get("role") == "provider"
    ]
    assert clinic.laser_suite.name in treatment["title"]
    assert clinic.laser.name in treatment["title"]
    assert clinic.laser_tech.name not in treatment["title"]


def test_the_events_call_costs_the_same_on_an_empty_and_a_busy_day(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    browser.get(events_url(clinic))  # the worker loads its schedule setup once
    with CaptureQueriesContext(connection) as empty:
        browser.get(events_url(clinic))
    for hour in (9, 10, 11):
        clinic.book(hour)
    book_appointment(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        location=clinic.location,
        start=clinic.at(14),
        wanted=[Wanted(clinic.laser_hair)],
    )
    browser.get(events_url(clinic))
    with CaptureQueriesContext(connection) as busy:
        browser.get(events_url(clinic))
    assert len(busy) == len(empty)
