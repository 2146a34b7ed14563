"""The day sheet and the schedule export: wall-clock rows, scoped, constant queries, audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.core.models import AuditEvent, Role
from medspa.frontdesk.selectors import EXPORT_COLUMNS
from medspa.scheduling.models import Appointment, AppointmentStatus
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import cancel_appointment, change_status
from tests.conftest import Clinic
from tests.factories import ClientFactory


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def book(
    clinic: Clinic,
    hour: int,
    minute: int = 0,
    *,
    service: Service | None = None,
    client: Client | None = None,
    notes: str = "",
) -> Appointment:
    return clinic.book(
        hour, minute, wanted=[Wanted(service or clinic.neurotoxin)], client=client, notes=notes
    )


def sheet_url(clinic: Clinic, by: str = "provider", extra: str = "") -> str:
    return f"/day-sheet/?location={clinic.location.pk}&date={clinic.day()}&by={by}{extra}"


def csv_url(clinic: Clinic, first: date | None = None, last: date | None = None) -> str:
    first, last = first or clinic.day(), last or clinic.day()
    return f"/schedule.csv?location={clinic.location.pk}&from={first}&to={last}"


def sections(response: Any) -> dict[str, list[tuple[str, ...]]]:
    """Each section's resource name -> its rows as (start, end, client, service, status)."""
    sheet = response.context["sheet"]
    return {
        s.resource.name: [(r.start, r.end, r.client, r.service, r.status) for r in s.rows]
        for s in sheet.sections
    }


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_per_provider_each_provider_has_a_section_in_the_location_wall_clock(
    clinic: Clinic,
) -> None:
    ada = book(clinic, 10, notes="Prefers the left chair")
    sam = book(clinic, 13, service=clinic.laser_hair)
    response = signed_in(clinic).get(sheet_url(clinic))
    assert response.status_code == 200
    assert sections(response) == {
        "Lumen Dr. Ada": [("10:00", "10:30", ada.client.full_name, "Neurotoxin", "booked")],
        # The provider is held for the treatment segment only, after prep and numbing.
        "Lumen Sam (laser)": [
            ("13:20", "13:50", sam.client.full_name, "Laser hair removal", "booked")
        ],
    }
    row, laser = (s.rows[0] for s in response.context["sheet"].sections)
    assert (row.phone, row.room, row.device) == (ada.client.phone, "Lumen Treatment 1", "")
    assert (row.visit, laser.visit) == (None, ("13:00", "13:50"))  # the client's, if different
    assert row.notes == "Prefers the left chair"
    page = response.content.decode()
    assert "Prefers the left chair" in page
    assert "<caption>" in page
    assert 'onclick="window.print()"' in page
    assert 'aria-current="page">Day sheet' in page
    assert "medspa/print.css" in page


def test_per_room_rooms_and_devices_have_sections_naming_who_treats(clinic: Clinic) -> None:
    ada = book(clinic, 10)
    sam = book(clinic, 13, service=clinic.laser_hair)
    response = signed_in(clinic).get(sheet_url(clinic, by="room"))
    sheet = sections(response)
    assert list(sheet) == ["Lumen Laser suite", "Lumen Treatment 1", "Lumen GentleMax"]
    assert sheet["Lumen Treatment 1"] == [
        ("10:00", "10:30", ada.client.full_name, "Neurotoxin", "booked")
    ]
    # The room is held from the buffer before the client arrives until cleanup ends.
    assert sheet["Lumen Laser suite"][0][:2] == ("12:50", "14:00")
    laser_row = response.context["sheet"].sections[2].rows[0]
    assert (laser_row.provider, laser_row.room) == ("Lumen Sam (laser)", "Lumen Laser suite")
    assert sam.client.full_name in response.content.decode()


def test_a_provider_sees_their_own_section_first_with_a_link_to_all(clinic: Clinic) -> None:
    clinic.injector.user = clinic.users[Role.PROVIDER]
    clinic.injector.save()
    book(clinic, 10)
    book(clinic, 13, service=clinic.laser_hair)
    browser = signed_in(clinic, Role.PROVIDER)
    own = browser.get(sheet_url(clinic))
    assert list(sections(own)) == ["Lumen Dr. Ada"]
    assert "Show every provider" in own.content.decode()
    everyone = browser.get(sheet_url(clinic, extra="&all=1"))
    assert list(sections(everyone)) == ["Lumen Dr. Ada", "Lumen Sam (laser)"]


def test_cancelled_ones_leave_the_sheet_but_no_shows_stay_with_their_status(
    clinic: Clinic,
) -> None:
    gone = book(clinic, 10)
    cancel_appointment(appointment=gone, actor=None, reason="Client called")
    missed = book(clinic, 11)
    change_status(
        appointment=missed, actor=None, status=AppointmentStatus.NO_SHOW, now=clinic.at(12)
    )
    rows = sections(signed_in(clinic).get(sheet_url(clinic)))["Lumen Dr. Ada"]
    assert rows == [("11:00", "11:30", missed.client.full_name, "Neurotoxin", "no_show")]
    exported = csv_rows(signed_in(clinic).get(csv_url(clinic)))
    assert [(r[4], r[11], r[13]) for r in exported[1:]] == [
        (gone.client.full_name, "Cancelled", "Client called"),
        (missed.client.full_name, "No-show", ""),
    ]


def test_the_csv_has_one_row_per_booked_service_in_local_time(clinic: Clinic) -> None:
    booked = book(clinic, 9, 30, client=clinic.client)
    response = signed_in(clinic).get(csv_url(clinic))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = clinic.day().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="schedule-lumen-back-bay-{day}-to-{day}.csv"'
    )
    header, *rows = csv_rows(response)
    assert tuple(header) == EXPORT_COLUMNS
    booked_at = booked.created_at.astimezone(clinic.location.zone).strftime("%Y-%m-%d %H:%M")
    assert rows == [
        [
            day,
            "09:30",
            "10:00",
            "Lumen Back Bay",
            clinic.client.full_name,
            f"'{clinic.client.phone}",  # "+1..." would be read as a formula
            clinic.client.email,
            "Neurotoxin",
            "Lumen Dr. Ada",
            "Lumen Treatment 1",
            "",
            "Booked",
            booked_at,
            "",
        ]
    ]


def test_the_csv_neutralizes_formulas_in_client_text(clinic: Clinic) -> None:
    sneaky = ClientFactory(
        organization=clinic.organization,
        first_name='=HYPERLINK("http://evil.example","x")',
        last_name="Rivera",
        email="@evil.example",
    )
    booked = book(clinic, 10, client=sneaky)
    cancel_appointment(appointment=booked, actor=None, reason="-2+3")
    row = csv_rows(signed_in(clinic).get(csv_url(clinic)))[1]
    assert row[4] == "'" + sneaky.full_name
    assert row[6] == "'@evil.example"
    assert row[13] == "'-2+3"


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (93, "Export at most 93 days at a time"),
        (-1, "The last day comes before the first day."),
    ],
)
def test_a_range_too_long_or_backwards_is_refused_with_a_message(
    clinic: Clinic, days: int, message: str
) -> None:
    first = clinic.day()
    response = signed_in(clinic).get(csv_url(clinic, first, first + timedelta(days=days)))
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="schedule.exported").exists()


def test_dates_out_of_any_schedule_are_refused_or_ignored(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    far = date(9999, 12, 31)
    refused = browser.get(csv_url(clinic, far, far))
    assert refused.status_code == 422
    assert "Choose the first and the last day" in refused.content.decode()
    shown = browser.get(f"/day-sheet/?location={clinic.location.pk}&date={far}")
    assert shown.status_code == 200  # today's sheet instead


def test_92_days_past_the_first_is_the_longest_export(clinic: Clinic) -> None:
    first = clinic.day()
    response = signed_in(clinic).get(csv_url(clinic, first, first + timedelta(days=92)))
    assert response.status_code == 200


def test_another_organization_stays_invisible(clinic: Clinic, outsider: Clinic) -> None:
    book(outsider, 10)
    book(clinic, 11)
    browser = signed_in(clinic, Role.OWNER)
    assert browser.get(sheet_url(outsider)).status_code == 404
    assert browser.get(csv_url(outsider)).status_code == 404
    for by in ("provider", "room"):
        assert "Outsider" not in browser.get(sheet_url(clinic, by=by)).content.decode()
    exported = csv_rows(browser.get(csv_url(clinic)))
    assert len(exported) == 2
    assert "Outsider" not in str(exported)


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.BILLING])
def test_roles_without_export_get_no_csv_and_no_link(clinic: Clinic, role: str) -> None:
    browser = signed_in(clinic, role)
    assert browser.get(csv_url(clinic)).status_code == 404
    page = browser.get(sheet_url(clinic)).content.decode()
    assert "/schedule.csv" not in page
    assert not AuditEvent.objects.filter(action="schedule.exported").exists()


def test_the_export_is_audited(clinic: Clinic) -> None:
    book(clinic, 10)
    book(clinic, 12)
    first, last = clinic.day(), clinic.day() + timedelta(days=6)
    signed_in(clinic).get(csv_url(clinic, first, last))
    event = AuditEvent.objects.get(action="schedule.exported")
    assert event.actor == clinic.users[Role.FRONT_DESK]
    assert event.data == {
        "location": clinic.location.pk,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "rows": 2,
        "via": "web",
    }


@pytest.mark.parametrize("url", [sheet_url, csv_url])
def test_the_sheet_and_the_export_cost_the_same_queries_for_1_or_12(
    clinic: Clinic, url: Callable[[Clinic], str]
) -> None:
    browser = signed_in(clinic)
    book(clinic, 9)
    address = url(clinic)
    browser.get(address)  # the worker loads the schedule setup once
    with CaptureQueriesContext(connection) as few:
        assert browser.get(address).status_code == 200
    for i in range(1, 12):
        book(clinic, 9 + i // 2, (i % 2) * 30, service=clinic.laser_hair if i == 5 else None)
    with CaptureQueriesContext(connection) as many:
        response = browser.get(address)
    assert len(many.captured_queries) == len(few.captured_queries) <= 10
    assert response.content.decode("utf-8-sig").count("Neurotoxin") >= 11
