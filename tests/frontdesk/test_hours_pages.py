"""The hours page: a manager edits weekly hours and blocks; the calendar and availability follow."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.core.models import Role
from medspa.scheduling.models import ResourceBlock, ResourceKind, WorkingHours
from medspa.scheduling.selectors import Wanted, day_bounds, find_availability
from medspa.scheduling.staffing import block_events
from tests.conftest import Clinic
from tests.factories import ResourceFactory, open_every_day
from tests.frontdesk.test_calendar import events_url

HTMX = {"HTTP_HX_REQUEST": "true"}
DASH = "\u2013"  # an en dash: the page prints times as 09:00 DASH 17:00


def signed_in(clinic: Clinic, role: str = Role.MANAGER) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def url(clinic: Clinic, path: str = "/hours/") -> str:
    return f"{path}?location={clinic.location.pk}"


def hours_form(clinic: Clinic, **fields: Any) -> dict[str, Any]:
    """A valid new rule: the injector, on the test day, 18:00-20:00 (after the usual 9-17)."""
    data = {
        "resource": clinic.injector.pk,
        "weekday": clinic.day().weekday(),
        "start_time": "18:00",
        "end_time": "20:00",
        "valid_from": "",
        "valid_until": "",
        **fields,
    }
    return {f"hours-{k}": v for k, v in data.items()}


def block_form(clinic: Clinic, **fields: Any) -> dict[str, Any]:
    """A valid new block: the injector's time off for the whole test day."""
    data = {
        "target": clinic.injector.pk,
        "reason": "time_off",
        "start_date": clinic.day().isoformat(),
        "start_time": "",
        "end_date": "",
        "end_time": "",
        "note": "",
        **fields,
    }
    return {f"block-{k}": v for k, v in data.items()}


def shaded(browser: HttpClient, clinic: Clinic, resource_id: int) -> list[tuple[str, str]]:
    items = browser.get(events_url(clinic)).json()
    return [
        (e["start"][-5:], e["end"][-5:])
        for e in items
        if "working" in e.get("classNames", ()) and e["resourceIds"] == [resource_id]
    ]


def starts_on_test_day(clinic: Clinic, wanted: Wanted) -> int:
    start, end = day_bounds(clinic.location, clinic.day())
    found = find_availability(
        organization=clinic.organization,
        location=clinic.location,
        wanted=[wanted],
        start=start,
        end=end,
        now=datetime.now(tz=UTC),
    )
    return len(found.slots)


def counts() -> tuple[int, int]:
    return WorkingHours.objects.count(), ResourceBlock.objects.count()


# ---- the page ---------------------------------------------------------------------------


def test_a_manager_sees_every_resource_with_its_week_and_the_nav_marks_hours(
    clinic: Clinic,
) -> None:
    ResourceBlock.objects.create(
        organization=clinic.organization,
        resource=clinic.laser,
        start=clinic.at(9),
        end=clinic.at(12),
        reason="maintenance",
        note="Annual service",
    )
    page = signed_in(clinic).get(url(clinic))
    html = page.content.decode()
    assert page.status_code == 200
    for resource in (clinic.injector, clinic.treatment_room, clinic.laser):
        assert resource.name in html
    assert html.count(f'<span class="clock">09:00{DASH}17:00</span>') == 5 * 7
    assert "Annual service" in html and "Device maintenance" in html
    assert 'href="/hours/" aria-current="page"' in html
    day = clinic.day().isoformat()
    assert f"/calendar/?location={clinic.location.pk}&amp;date={day}&amp;view=devices" in html


def test_the_hours_link_shows_only_to_roles_that_manage_hours(clinic: Clinic) -> None:
    assert 'href="/hours/"' in signed_in(clinic, Role.OWNER).get("/calendar/").content.decode()
    desk = signed_in(clinic, Role.FRONT_DESK).get("/calendar/").content.decode()
    assert 'href="/hours/"' not in desk


# ---- weekly hours -----------------------------------------------------------------------


def test_added_hours_shade_the_calendar_at_once(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    assert shaded(browser, clinic, clinic.injector.pk) == [("09:00", "17:00")]

    answer = browser.post(url(clinic, "/hours/add"), hours_form(clinic), **HTMX)

    assert answer.status_code == 200
    assert "<html" not in answer.content.decode()  # only the section, for htmx to swap
    assert "Added" in answer.content.decode()
    assert shaded(browser, clinic, clinic.injector.pk) == [("09:00", "17:00"), ("18:00", "20:00")]


def test_without_javascript_adding_lands_back_on_the_page_with_a_notice(clinic: Clinic) -> None:
    answer = signed_in(clinic).post(url(clinic, "/hours/add"), hours_form(clinic), follow=True)
    assert answer.redirect_chain[-1][0] == url(clinic)
    assert "Added" in answer.content.decode()
    assert f"18:00{DASH}20:00" in answer.content.decode()


def test_removed_hours_leave_that_day_unshaded(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    rule = WorkingHours.objects.get(resource=clinic.injector, weekday=clinic.day().weekday())

    answer = browser.post(url(clinic, f"/hours/{rule.pk}/remove"), {"confirmed": "1"}, **HTMX)

    assert answer.status_code == 200
    assert not WorkingHours.objects.filter(pk=rule.pk).exists()
    assert shaded(browser, clinic, clinic.injector.pk) == []


def test_without_javascript_a_removal_asks_first(clinic: Clinic) -> None:
    rule = WorkingHours.objects.filter(resource=clinic.injector).first()
    assert rule is not None
    answer = signed_in(clinic).post(url(clinic, f"/hours/{rule.pk}/remove"))
    assert answer.status_code == 200
    assert "Are you sure?" in answer.content.decode()
    assert WorkingHours.objects.filter(pk=rule.pk).exists()


# ---- blocks -----------------------------------------------------------------------------


def test_time_off_takes_the_provider_out_of_availability(clinic: Clinic) -> None:
    wanted = Wanted(clinic.neurotoxin, clinic.injector)
    assert starts_on_test_day(clinic, wanted) > 0

    answer = signed_in(clinic).post(url(clinic, "/hours/blocks/add"), block_form(clinic), **HTMX)

    assert answer.status_code == 200
    assert starts_on_test_day(clinic, wanted) == 0
    assert starts_on_test_day(clinic, Wanted(clinic.neurotoxin)) == 0  # nobody else injects


def test_device_maintenance_takes_the_laser_out_of_availability(clinic: Clinic) -> None:
    wanted = Wanted(clinic.laser_hair)
    assert starts_on_test_day(clinic, wanted) > 0
    form = block_form(
        clinic,
        target=clinic.laser.pk,
        reason="maintenance",
        start_time="08:00",
        end_time="18:00",
    )

    signed_in(clinic).post(url(clinic, "/hours/blocks/add"), form, **HTMX)

    assert starts_on_test_day(clinic, wanted) == 0
    assert starts_on_test_day(clinic, Wanted(clinic.facial)) > 0  # rooms and people still work


def test_block_events_draw_the_block_grey_with_its_reason(clinic: Clinic) -> None:
    form = block_form(clinic, start_time="12:00", end_time="13:30", note="Dentist")
    signed_in(clinic).post(url(clinic, "/hours/blocks/add"), form)
    start, end = day_bounds(clinic.location, clinic.day())
    ids = [clinic.injector.pk, clinic.laser_tech.pk]

    events = block_events(clinic.organization, clinic.location, ids, start, end)

    day = clinic.day().isoformat()
    assert [(e["resourceIds"], e["start"], e["end"], e["title"]) for e in events] == [
        ([clinic.injector.pk], f"{day}T12:00", f"{day}T13:30", "Time off · Dentist")
    ]
    assert events[0]["display"] == "background"
    assert events[0]["classNames"] == ["blocked", "time_off"]


def test_a_closure_shades_every_column_and_closes_the_location(clinic: Clinic) -> None:
    form = block_form(clinic, target="location", reason="holiday", note="Thanksgiving")
    signed_in(clinic).post(url(clinic, "/hours/blocks/add"), form)
    start, end = day_bounds(clinic.location, clinic.day())
    ids = [clinic.injector.pk, clinic.laser_tech.pk]

    events = block_events(clinic.organization, clinic.location, ids, start, end)

    assert [e["resourceIds"] for e in events] == [ids]
    assert starts_on_test_day(clinic, Wanted(clinic.facial)) == 0


def test_a_lifted_block_gives_the_time_back(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    browser.post(url(clinic, "/hours/blocks/add"), block_form(clinic))
    block = ResourceBlock.objects.get(resource=clinic.injector)

    answer = browser.post(url(clinic, f"/hours/blocks/{block.pk}/remove"), {"confirmed": "1"})

    assert answer.status_code == 302
    assert not ResourceBlock.objects.exists()
    assert starts_on_test_day(clinic, Wanted(clinic.neurotoxin, clinic.injector)) > 0


# ---- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER, Role.BILLING])
def test_roles_that_do_not_manage_hours_are_refused(clinic: Clinic, role: str) -> None:
    browser = signed_in(clinic, role)
    rule = WorkingHours.objects.filter(resource=clinic.injector).first()
    assert rule is not None
    before = counts()

    assert browser.get(url(clinic)).status_code == 404
    assert browser.post(url(clinic, "/hours/add"), hours_form(clinic)).status_code == 404
    assert browser.post(url(clinic, "/hours/blocks/add"), block_form(clinic)).status_code == 404
    removal = browser.post(url(clinic, f"/hours/{rule.pk}/remove"), {"confirmed": "1"})
    assert removal.status_code == 404
    assert counts() == before


def test_another_organizations_ids_answer_404_and_change_nothing(
    clinic: Clinic, outsider: Clinic
) -> None:
    browser = signed_in(clinic)
    theirs = WorkingHours.objects.filter(resource=outsider.injector).first()
    assert theirs is not None
    their_block = ResourceBlock.objects.create(
        organization=outsider.organization,
        resource=outsider.laser,
        start=outsider.at(9),
        end=outsider.at(10),
        reason="maintenance",
    )
    before = counts()

    assert browser.get(url(outsider)).status_code == 404
    for path, data in [
        (url(clinic, f"/hours/{theirs.pk}/remove"), {"confirmed": "1"}),
        (url(clinic, f"/hours/blocks/{their_block.pk}/remove"), {"confirmed": "1"}),
        (url(clinic, "/hours/add"), hours_form(clinic, resource=outsider.injector.pk)),
        (url(clinic, "/hours/blocks/add"), block_form(clinic, target=outsider.laser.pk)),
        (url(outsider, "/hours/add"), hours_form(clinic)),
    ]:
        assert browser.post(path, data).status_code == 404, path
    assert counts() == before


BAD_INPUT = [
    ("hours", {"start_time": "17:00", "end_time": "09:00"}, "end_time", "must be after"),
    ("hours", {"weekday": "9"}, "weekday", "Choose a day of the week"),
    ("hours", {"start_time": "16:00", "end_time": "18:00"}, "start_time", "already has hours"),
    ("hours", {"valid_from": "2031-02-01", "valid_until": "2031-01-01"}, "valid_until", "end"),
    ("blocks", {"start_date": "2030-03-10", "start_time": "02:30"}, "start_time", "does not exist"),
    ("blocks", {"start_date": "2030-11-03", "start_time": "01:30"}, "start_time", "happens twice"),
    ("blocks", {"start_time": "13:00", "end_time": "12:00"}, "end_time", "must be after"),
    ("blocks", {"target": "somebody"}, "target", "Choose a provider"),
    ("blocks", {"reason": "vacation"}, "reason", "Choose one of the reasons"),
]


@pytest.mark.parametrize(("section", "fields", "field", "message"), BAD_INPUT)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "full page"])
def test_bad_input_is_explained_next_to_its_field_and_changes_nothing(
    clinic: Clinic, section: str, fields: dict[str, str], field: str, message: str, htmx: bool
) -> None:
    before = counts()
    if section == "hours":
        path, data, prefix = "/hours/add", hours_form(clinic, **fields), "hours"
    else:
        path, data, prefix = "/hours/blocks/add", block_form(clinic, **fields), "block"

    answer = signed_in(clinic).post(url(clinic, path), data, **(HTMX if htmx else {}))

    html = answer.content.decode()
    assert answer.status_code == 422
    assert counts() == before
    error_id = f"id_{prefix}-{field}_error"
    assert f'id="{error_id}"' in html
    assert message in html.split(f'id="{error_id}"', 1)[1].split("</small>", 1)[0]
    assert f'aria-describedby="{error_id}"' in html
    assert ("<html" in html) is not htmx


# ---- cost -------------------------------------------------------------------------------


def test_the_page_costs_the_same_queries_for_few_or_many_resources_and_blocks(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    browser = signed_in(clinic)
    browser.get(url(clinic))  # the worker loads the schedule setup once
    with django_assert_max_num_queries(12) as few:
        assert browser.get(url(clinic)).status_code == 200
    spent = len(few.captured_queries)  # read now: every request clears the connection's log
    for i in range(12):
        device = ResourceFactory(
            organization=clinic.organization,
            kind=ResourceKind.DEVICE,
            name=f"Laser {i}",
            location=clinic.location,
        )
        open_every_day(device, clinic.location)
        ResourceFactory(organization=clinic.organization, name=f"Visiting {i}")
        for days_ahead in (1, 2):
            ResourceBlock.objects.create(
                organization=clinic.organization,
                resource=device,
                start=clinic.at(9, days_ahead=days_ahead),
                end=clinic.at(11, days_ahead=days_ahead),
                reason="maintenance",
            )
    browser.get(url(clinic))
    with django_assert_max_num_queries(spent):
        html = browser.get(url(clinic)).content.decode()
    assert html.count("Device maintenance") >= 24 and "Visiting 11" in html


def test_whole_days_and_dates_read_in_the_location_wall_clock(clinic: Clinic) -> None:
    day = clinic.day()
    form = block_form(clinic, end_date=date.fromordinal(day.toordinal() + 2).isoformat())
    signed_in(clinic).post(url(clinic, "/hours/blocks/add"), form)
    block = ResourceBlock.objects.get()
    zone = clinic.location.zone
    assert block.start.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, time.min)
    assert (block.end.astimezone(zone).date() - day).days == 3
    assert block.end.astimezone(zone).time() == time.min
