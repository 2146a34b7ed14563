"""The front desk's day in a browser: book from an empty slot, drag to move, a refused move,
check a client in, cancel with a reason; axe finds no serious problem on any page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import axe_violations, run_in_demo

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BOSTON = ZoneInfo("America/New_York")
# Demo service names, written with the en dash the demo uses.
NEUROTOXIN = "Neurotoxin \u2013 one area"
LASER_LARGE = "Laser hair removal \u2013 large area"


def quiet_wednesday() -> date:
    """A Wednesday beyond the demo's bookings: every chair is free."""
    today = datetime.now(tz=BOSTON).date() + timedelta(days=49)
    return today + timedelta(days=(2 - today.weekday()) % 7)


def sign_in(page: Page, served: str, email: str) -> None:
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def assert_accessible(page: Page) -> None:
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def slot_point(page: Page, column: int, clock: str) -> tuple[float, float]:
    """The middle of the first slot after a time ("13:00"), in a provider's column."""
    header = page.locator(".ec-header .ec-col-head").nth(column).bounding_box()
    label = page.locator(f'.ec-body .ec-sidebar .ec-slot:has(time[datetime$="T{clock}:00"])')
    row = label.bounding_box()
    assert header and row
    return header["x"] + header["width"] / 2, row["y"] + 12


def wait_for_form(page: Page) -> None:
    """Wait until htmx has wired up the drawer's booking form (a real hand is slower)."""
    page.wait_for_function(
        "() => (document.querySelector('#service') || {})['htmx-internal-data'] !== undefined"
    )


def drag_later(page: Page, event: Locator, minutes: int) -> None:
    """Drag an appointment down its column by some minutes (15 minutes are 24 px)."""
    box = event.bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + 6
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + minutes * 24 / 15, steps=12)
    page.mouse.up()


def open_calendar(page: Page, served: str, day: date) -> None:
    page.goto(f"{served}/calendar/?date={day.isoformat()}")
    expect(page.locator(".ec-header .ec-col-head").first).to_be_visible()


def book_in_empty_slot(page: Page, label: str, client: str, *, phone: str = "") -> None:
    x, y = slot_point(page, 0, label)
    page.mouse.click(x, y)
    drawer = page.get_by_role("dialog")
    expect(drawer.get_by_role("heading", name="New appointment")).to_be_visible()
    wait_for_form(page)
    if phone:
        first, last = client.split(" ", 1)
        drawer.get_by_text("Register a new client").click()
        drawer.get_by_label("First name").fill(first)
        drawer.get_by_label("Last name").fill(last)
        drawer.get_by_label("Mobile phone").fill(phone)
        drawer.get_by_role("button", name="Create client").click()
    else:
        drawer.get_by_label("Client").fill(client.split(" ")[0])
        drawer.get_by_role("button", name=client).first.click()
    expect(drawer.get_by_text(client, exact=True)).to_be_visible()
    drawer.get_by_label("Service", exact=True).select_option(label=NEUROTOXIN)
    # The clicked time in the clicked provider's column is chosen already.
    chosen = drawer.locator(".start-option input:checked")
    expect(chosen).to_have_count(1)
    expect(drawer.locator(".start-option:has(input:checked)")).to_contain_text("Dr. Elena Vasquez")
    drawer.get_by_role("button", name="Book").click()
    expect(drawer.get_by_text("Booked.")).to_be_visible()


def test_front_desk_books_moves_and_cancels_from_the_calendar(served: str, page: Page) -> None:
    day = quiet_wednesday()
    sign_in(page, served, "frontdesk@demo.medspa.example")
    open_calendar(page, served, day)
    assert_accessible(page)

    book_in_empty_slot(page, "10:00", "Ella Rivers", phone="508-555-0142")
    shot(page, "appointment-panel.png")
    assert_accessible(page)
    drawer = page.get_by_role("dialog")
    drawer.get_by_role("button", name="Reschedule").click()
    expect(drawer.get_by_role("heading", name="Reschedule Ella Rivers")).to_be_visible()
    assert_accessible(page)
    shot(page, "reschedule.png")
    drawer.get_by_role("button", name="Back").click()
    expect(drawer.get_by_role("heading", name="Ella Rivers")).to_be_visible()
    page.get_by_role("dialog").get_by_role("button", name="Close").first.click()
    ella = page.locator(".ec-event:not(.processing)", has_text="Ella Rivers")
    expect(ella).to_have_count(1)
    expect(ella).to_contain_text("10:00")

    # Drag it to 11:00: the server moves it, and it stays there after a reload.
    drag_later(page, ella, minutes=60)
    expect(page.locator("#toast")).to_contain_text("Moved to")
    page.reload()
    expect(page.locator(".ec-event", has_text="Ella Rivers")).to_contain_text("11:00")

    # Another client at 13:00; dragging Ella onto it is refused and she snaps back.
    book_in_empty_slot(page, "13:00", "Ella Rivers-Blake", phone="508-555-0143")
    page.get_by_role("dialog").get_by_role("button", name="Close").first.click()
    ella = page.locator(".ec-event", has_text="Ella Rivers ·")
    drag_later(page, ella, minutes=120)
    expect(page.locator("#toast")).to_contain_text("Not moved")
    page.reload()
    expect(page.locator(".ec-event", has_text="Ella Rivers ·")).to_contain_text("11:00")

    # Cancel with a reason: the chair is free again.
    page.locator(".ec-event", has_text="Ella Rivers ·").click()
    drawer = page.get_by_role("dialog")
    drawer.get_by_text("Cancel with a reason").click()
    drawer.get_by_label("Reason for cancelling").fill("Client called: travelling")
    drawer.get_by_role("button", name="Cancel appointment").click()
    expect(drawer.get_by_text("Cancelled: Client called: travelling")).to_be_visible()
    drawer.get_by_role("button", name="Close").first.click()
    expect(page.locator(".ec-event", has_text="Ella Rivers ·")).to_have_count(0)


# Books a walk-in for today at Boston (earlier today if need be, so that the test runs at
# any hour); when today is closed or full it opens one provider and one room for this
# evening, after every demo closing time.
WALK_IN_TODAY = """
from datetime import datetime, time
from medspa.catalog.models import Service
from medspa.clients.services import create_client
from medspa.core.models import Location
from medspa.scheduling.hours import add_working_hours
from medspa.scheduling.models import Resource
from medspa.scheduling.selectors import Wanted, day_bounds, find_availability, from_ts
from medspa.scheduling.services import book_appointment

where = Location.objects.get(name__startswith="Lumen Boston")
service = Service.objects.get(name__startswith="Neurotoxin", name__endswith="one area")
today = datetime.now(tz=where.zone).date()
start, end = day_bounds(where, today)

def slots():
    return find_availability(organization=where.organization, location=where,
        wanted=[Wanted(service)], start=start, end=end, now=start).slots

if not slots():
    for resource in (Resource.objects.get(name="Jenna Park"),
                     Resource.objects.get(name="Treatment Room 1", location=where)):
        add_working_hours(organization=where.organization, actor=None, resource=resource,
            location=where, weekday=today.weekday(), start_time=time(19, 45),
            end_time=time(23, 45), valid_from=today, valid_until=today)
client = create_client(organization=where.organization, actor=None, first_name="Walk",
                       last_name="In", phone="+15085550177")
booked = book_appointment(organization=where.organization, actor=None, client=client,
    location=where, start=from_ts(slots()[0].start), wanted=[Wanted(service)], now=start)
print(booked.pk)
"""


def test_front_desk_checks_a_client_in(served: str, demo_env: dict[str, str], page: Page) -> None:
    # A walk-in booked for today (earlier today if need be) so the test runs at any hour.
    appointment = run_in_demo(demo_env, WALK_IN_TODAY)
    sign_in(page, served, "frontdesk@demo.medspa.example")
    page.goto(f"{served}/calendar/appointments/{appointment}/")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Checked in", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_be_visible()


def test_every_staff_page_is_accessible_and_photographed(served: str, page: Page) -> None:
    page.goto(f"{served}/accounts/login/")
    assert_accessible(page)
    shot(page, "sign-in.png")
    sign_in(page, served, "manager@demo.medspa.example")
    busy = datetime.now(tz=BOSTON).date()
    busy += timedelta(days=(2 - busy.weekday()) % 7 or 7)
    open_calendar(page, served, busy)
    expect(page.locator(".ec-event").first).to_be_visible()
    assert_accessible(page)
    shot(page, "calendar-day.png")

    page.get_by_role("button", name="Week", exact=True).click()
    page.get_by_label("Week of").select_option(label="Jenna Park")
    expect(page.locator(".ec-header .ec-col-head")).to_have_count(7)
    expect(page.locator(".ec-event").first).to_be_visible()
    assert_accessible(page)
    shot(page, "calendar-week.png")
    page.get_by_role("button", name="Day", exact=True).click()

    page.get_by_role("button", name="New appointment").click()
    drawer = page.get_by_role("dialog")
    wait_for_form(page)
    drawer.get_by_label("Service", exact=True).select_option(label=LASER_LARGE)
    expect(drawer.locator("#starts")).not_to_contain_text("Choose a service")
    assert_accessible(page)
    shot(page, "booking.png")

    for path, name in [
        ("/day-sheet/", "day-sheet.png"),
        ("/hours/", "hours.png"),
        ("/settings/security/", "security.png"),
        ("/accounts/2fa/", "two-factor.png"),
        ("/clients/", "clients.png"),
    ]:
        page.goto(f"{served}{path}")
        expect(page.locator("main")).to_be_visible()
        assert_accessible(page)
        shot(page, name)

    # A client's record, with the medical history a manager may see.
    page.locator("main table a").first.click()
    expect(page.get_by_role("heading", name="Medical history")).to_be_visible()
    assert_accessible(page)
    shot(page, "client-record.png")


def test_the_calendar_works_on_a_1024_tablet(served: str, page: Page) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, served, "frontdesk@demo.medspa.example")
    open_calendar(page, served, quiet_wednesday())
    expect(page.get_by_role("button", name="New appointment")).to_be_in_viewport()
    page.get_by_role("button", name="New appointment").click()
    expect(page.get_by_role("button", name="Book")).to_be_visible()
    assert_accessible(page)
    shot(page, "booking-1024.png")
