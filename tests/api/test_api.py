"""The HTTP API: shapes other programs rely on, problem+json errors, idempotency."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.core.models import ApiToken, Role, User
from medspa.core.tokens import create_api_token
from medspa.scheduling.models import Appointment, Reservation
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment
from tests.conftest import Clinic
from tests.factories import ClientFactory


def post(http: HttpClient, url: str, body: dict[str, Any], **headers: str) -> Any:
    return http.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def booking_body(clinic: Clinic, hour: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "client": clinic.client.pk,
        "location": clinic.location.pk,
        "start": clinic.at(hour).isoformat(),
        "service": clinic.neurotoxin.pk,
        **extra,
    }


def test_locations_list_carries_id_name_and_time_zone(clinic: Clinic, desk: HttpClient) -> None:
    body = desk.get("/api/v1/locations").json()
    assert body["count"] == 1
    assert (
        body["items"][0] | {"id": clinic.location.pk, "time_zone": "America/New_York"}
        == body["items"][0]
    )
    assert body["items"][0]["name"] == clinic.location.name


def test_services_at_a_location_carry_duration_and_price(clinic: Clinic, desk: HttpClient) -> None:
    body = desk.get(f"/api/v1/services?location={clinic.location.pk}").json()
    laser = next(s for s in body["items"] if s["id"] == clinic.laser_hair.pk)
    assert laser["duration_minutes"] == 50  # 70 minutes held, of which 20 are buffers
    assert laser["price_cents"] == 25000
    assert body["count"] == 3


def test_creating_a_client_answers_201_with_its_id(desk: HttpClient) -> None:
    response = post(
        desk,
        "/api/v1/clients",
        {
            "first_name": "Maya",
            "last_name": "Chen",
            "phone": "(617) 555-0199",
            "email": "Maya@Example.com",
            "birth_date": "1990-04-02",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] > 0
    assert body["phone"] == "+16175550199"
    assert body["email"] == "maya@example.com"


def test_a_bad_client_gets_problem_json_naming_each_field(desk: HttpClient) -> None:
    response = post(
        desk,
        "/api/v1/clients",
        {"first_name": "", "last_name": "Chen", "phone": "12", "email": "x@"},
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"first_name", "phone", "email"}


def test_availability_offers_starts_with_the_location_offset(
    clinic: Clinic, desk: HttpClient
) -> None:
    day = clinic.day().isoformat()
    response = desk.get(
        f"/api/v1/availability?location={clinic.location.pk}&service={clinic.laser_hair.pk}"
        f"&start={day}&end={day}"
    )
    assert response.status_code == 200, response.content
    slots = response.json()["slots"]
    assert slots[0]["start"] == clinic.at(9, 15).isoformat()  # 10 minutes of prep from 09:00
    assert slots[0]["provider"] == clinic.laser_tech.pk
    assert set(slots[0]["resources"]) == {
        clinic.laser_tech.pk,
        clinic.laser_suite.pk,
        clinic.laser.pk,
    }
    assert slots[0]["start"].endswith(("-05:00", "-04:00"))


def test_availability_says_why_when_nothing_is_free(clinic: Clinic, desk: HttpClient) -> None:
    clinic.laser.blocks.create(
        organization=clinic.organization,
        start=clinic.at(0),
        end=clinic.at(23),
        reason="maintenance",
    )
    day = clinic.day().isoformat()
    body = desk.get(
        f"/api/v1/availability?location={clinic.location.pk}&service={clinic.laser_hair.pk}"
        f"&start={day}&end={day}"
    ).json()
    assert body["slots"] == []
    assert body["reasons"][0]["code"] == "blocked"
    assert "maintenance" in body["reasons"][0]["message"].lower()


def test_booking_answers_201_then_409_for_the_same_time(clinic: Clinic, desk: HttpClient) -> None:
    first = post(desk, "/api/v1/appointments", booking_body(clinic))
    assert first.status_code == 201, first.content
    assert first.json()["id"] == Appointment.objects.get().pk

    second = post(desk, "/api/v1/appointments", booking_body(clinic))
    assert second.status_code == 409
    assert second.json()["errors"][0]["field"] == "start"
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"start": "tomorrow at ten"}, 422, "start"),
        ({"hour": 21}, 422, "start"),
        ({"start": "2020-01-01T10:00:00-05:00"}, 422, "start"),
        ({"service": 999999}, 404, "service"),
        ({"client": 999999}, 404, "client"),
        ({"provider": 999999}, 404, "provider"),
        ({"service": None}, 422, "service"),
    ],
)
def test_bad_bookings_get_a_clear_error_and_change_nothing(
    clinic: Clinic, desk: HttpClient, change: dict[str, Any], status: int, field: str
) -> None:
    body = booking_body(clinic, hour=change.pop("hour", 10))
    body.update(change)
    response = post(desk, "/api/v1/appointments", body)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Appointment.objects.exists()


def test_several_services_are_booked_back_to_back(clinic: Clinic, desk: HttpClient) -> None:
    body = booking_body(clinic)
    del body["service"]
    body["services"] = [
        {"service": clinic.neurotoxin.pk, "provider": clinic.injector.pk},
        {"service": clinic.facial.pk, "provider": None},
    ]
    response = post(desk, "/api/v1/appointments", body)
    assert response.status_code == 201, response.content
    lines = response.json()["services"]
    assert [s["service"] for s in lines] == [clinic.neurotoxin.pk, clinic.facial.pk]
    assert lines[0]["end"] == lines[1]["start"]


def test_the_same_idempotency_key_returns_the_first_booking(
    clinic: Clinic, desk: HttpClient
) -> None:
    first = post(desk, "/api/v1/appointments", booking_body(clinic), **{"Idempotency-Key": "k-1"})
    again = post(desk, "/api/v1/appointments", booking_body(clinic), **{"Idempotency-Key": "k-1"})
    other = post(
        desk, "/api/v1/appointments", booking_body(clinic, hour=11), **{"Idempotency-Key": "k-1"}
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Appointment.objects.count() == 1


def test_reschedule_cancel_and_status_through_the_api(clinic: Clinic, desk: HttpClient) -> None:
    appointment_id = post(desk, "/api/v1/appointments", booking_body(clinic)).json()["id"]
    base = f"/api/v1/appointments/{appointment_id}"

    moved = post(desk, f"{base}/reschedule", {"start": clinic.at(13).isoformat()})
    assert moved.status_code == 200, moved.content
    assert moved.json()["start"] == clinic.at(13).isoformat()

    confirmed = post(desk, f"{base}/status", {"status": "confirmed"})
    assert confirmed.json()["status"] == "confirmed"

    refused = post(desk, f"{base}/status", {"status": "completed"})
    assert refused.status_code == 409

    cancelled = post(
        desk, f"{base}/cancel", {"reason": "Client is travelling"}, **{"Idempotency-Key": "c"}
    )
    assert cancelled.json()["status"] == "cancelled"
    assert not Reservation.objects.filter(active=True).exists()


def test_appointments_of_a_day_cost_the_same_queries_for_3_or_21(
    clinic: Clinic, desk: HttpClient, django_assert_max_num_queries: Any
) -> None:
    url = f"/api/v1/appointments?location={clinic.location.pk}&date={clinic.day().isoformat()}"

    def book_at(service: Any, hour: int, minute: int) -> None:
        book_appointment(
            organization=clinic.organization,
            actor=None,
            client=ClientFactory(organization=clinic.organization),
            location=clinic.location,
            start=clinic.at(hour, minute),
            wanted=[Wanted(service)],
        )

    neurotoxin_starts = [(9 + m // 60, m % 60) for m in range(0, 8 * 60, 30)]
    for hour, minute in neurotoxin_starts[:3]:
        book_at(clinic.neurotoxin, hour, minute)
    with django_assert_max_num_queries(8) as few:
        assert desk.get(url).json()["count"] == 3

    for hour, minute in neurotoxin_starts[3:]:
        book_at(clinic.neurotoxin, hour, minute)
    for hour, minute in [(10, 0), (11, 15), (12, 30), (13, 45), (15, 0)]:
        book_at(clinic.laser_hair, hour, minute)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert desk.get(url).json()["count"] == 21


def test_without_a_token_the_api_answers_401_problem_json(client: HttpClient) -> None:
    response = client.get("/api/v1/locations")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_revoked_or_unknown_token_is_refused(clinic: Clinic) -> None:
    token = create_api_token(user=clinic.users[Role.MANAGER])
    ApiToken.objects.filter(user=clinic.users[Role.MANAGER]).update(revoked_at=timezone.now())
    for presented in (token, "msp_nope"):
        response = HttpClient(HTTP_AUTHORIZATION=f"Bearer {presented}").get("/api/v1/locations")
        assert response.status_code == 401


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.BILLING])
def test_roles_that_do_not_book_are_refused_with_403(
    clinic: Clinic, api_as: Callable[[User], HttpClient], role: str
) -> None:
    response = post(api_as(clinic.users[role]), "/api/v1/appointments", booking_body(clinic))
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_session_sign_in_works_for_the_browser(clinic: Clinic) -> None:
    browser = HttpClient()
    browser.force_login(clinic.users[Role.MANAGER])
    assert browser.get("/api/v1/locations").status_code == 200


def test_openapi_schema_is_published(client: HttpClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/availability" in schema["paths"]
    assert "/api/v1/appointments" in schema["paths"]


def test_a_retried_reschedule_moves_once_and_replays_its_answer(
    clinic: Clinic, desk: HttpClient
) -> None:
    appointment_id = post(desk, "/api/v1/appointments", booking_body(clinic)).json()["id"]
    url = f"/api/v1/appointments/{appointment_id}/reschedule"
    body = {"start": clinic.at(13).isoformat()}

    first = post(desk, url, body, **{"Idempotency-Key": "move-1"})
    post(desk, url, {"start": clinic.at(15).isoformat()}, **{"Idempotency-Key": "move-2"})
    replay = post(desk, url, body, **{"Idempotency-Key": "move-1"})

    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json()
    assert Appointment.objects.get().start == clinic.at(15)  # the replay did not move it back


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("2027-03-14T02:30:00", "does not exist"),  # spring forward in New York
        ("2026-11-01T01:30:00", "happens twice"),  # fall back: give the offset
    ],
)
def test_a_wall_clock_time_that_does_not_exist_or_repeats_is_refused(
    clinic: Clinic, desk: HttpClient, start: str, reason: str
) -> None:
    response = post(desk, "/api/v1/appointments", {**booking_body(clinic), "start": start})
    assert response.status_code == 422
    assert reason in response.json()["errors"][0]["reason"]
    assert not Appointment.objects.exists()


def test_one_client_cannot_be_in_two_chairs_at_once(clinic: Clinic, desk: HttpClient) -> None:
    post(desk, "/api/v1/appointments", booking_body(clinic))
    laser = {**booking_body(clinic), "service": clinic.laser_hair.pk}
    response = post(desk, "/api/v1/appointments", laser)
    assert response.status_code == 409
    assert response.json()["code"] == "client_busy"
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            "/api/v1/clients",
            {"first_name": "x" * 101, "last_name": "Chen", "phone": "+16175550100"},
        ),
        (
            "/api/v1/clients",
            {"first_name": "Ma\x00ya", "last_name": "Chen", "phone": "+16175550100"},
        ),
        ("/api/v1/clients?offset=-5", None),
    ],
)
def test_oversized_or_unstorable_input_gets_422_not_an_error(
    desk: HttpClient, url: str, body: dict[str, Any] | None
) -> None:
    response = post(desk, url, body) if body else desk.get(url)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
