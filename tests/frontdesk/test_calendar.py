"""The staff calendar pages: signed-in staff of the organization only, constant queries."""

from __future__ import annotations

from typing import Any

from django.test import Client as HttpClient

from medspa.core.models import Role
from tests.conftest import Clinic


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def events_url(clinic: Clinic, view: str = "providers") -> str:
    day = clinic.day()
    return (
        f"/calendar/events?location={clinic.location.pk}&view={view}"
        f"&start={day.isoformat()}T00:00:00&end={day.isoformat()}T23:59:00"
    )


def book(clinic: Clinic, hour: int, minute: int = 0) -> None:
    clinic.book(hour, minute)


def test_signing_in_leads_to_the_calendar(clinic: Clinic) -> None:
    response = signed_in(clinic).get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/calendar/"
    assert clinic.location.name in response.content.decode()


def test_billing_starts_on_the_invoices(clinic: Clinic) -> None:
    response = signed_in(clinic, Role.BILLING).get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/invoices/"
    assert response.status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client: HttpClient) -> None:
    response = client.get("/calendar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_up_is_closed(client: HttpClient) -> None:
    assert b"Sign Up Closed" in client.get("/accounts/signup/").content


def test_events_show_each_reservation_in_the_location_wall_clock(clinic: Clinic) -> None:
    book(clinic, 10)
    items = signed_in(clinic).get(events_url(clinic)).json()
    appointments = [e for e in items if e.get("display") != "background"]
    assert len(appointments) == 1
    assert appointments[0]["start"] == f"{clinic.day().isoformat()}T10:00"
    assert appointments[0]["resourceIds"] == [clinic.injector.pk]
    assert any(e.get("display") == "background" for e in items)  # working hours shaded


def test_another_organizations_location_is_not_found(clinic: Clinic, outsider: Clinic) -> None:
    browser = signed_in(clinic)
    assert browser.get(f"/calendar/?location={outsider.location.pk}").status_code == 404
    url = events_url(clinic).replace(
        f"location={clinic.location.pk}", f"location={outsider.location.pk}"
    )
    assert browser.get(url).status_code == 404


def test_the_calendar_data_costs_the_same_queries_for_1_or_12(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    browser = signed_in(clinic)
    book(clinic, 9)
    with django_assert_max_num_queries(10) as few:
        browser.get(events_url(clinic))
    for i in range(1, 12):
        book(clinic, 9 + i // 2, (i % 2) * 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(browser.get(events_url(clinic)).json()) > 12
