"""A person opens medspa in a browser: signing in, the day calendar, the API documentation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def next_open_day() -> date:
    """A coming Wednesday: both demo sites are open and booked then."""
    today = datetime.now(tz=ZoneInfo("America/New_York")).date()
    return today + timedelta(days=(2 - today.weekday()) % 7 or 7)


def sign_in(page: Page, served: str, email: str) -> None:
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()


def test_front_desk_signs_in_and_lands_on_the_calendar(served: str, page: Page) -> None:
    sign_in(page, served, "frontdesk@demo.medspa.example")

    expect(page).to_have_url(f"{served}/calendar/")
    expect(page.get_by_label("Location")).to_be_visible()
    expect(page.get_by_text("Sofia Martinez · Front desk")).to_be_visible()


def test_the_day_calendar_shows_each_provider_with_their_appointments(
    served: str, page: Page
) -> None:
    sign_in(page, served, "manager@demo.medspa.example")
    page.goto(f"{served}/calendar/?date={next_open_day().isoformat()}")

    expect(page.locator(".ec-resource").first).to_be_visible()
    expect(page.locator(".ec-event").first).to_be_visible()

    page.get_by_role("link", name="Rooms").click()
    expect(page.locator(".ec-resource", has_text="Laser Suite 1").first).to_be_visible()


def test_a_wrong_password_is_refused_next_to_the_form(served: str, page: Page) -> None:
    page.goto(f"{served}/accounts/login/")
    page.get_by_label("Email").fill("frontdesk@demo.medspa.example")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(f"{served}/accounts/login/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sign-in-refused.png"))


def test_api_documentation_lists_the_booking_routes(served: str, page: Page) -> None:
    page.goto(f"{served}/api/v1/openapi.json")
    assert "/api/v1/appointments" in page.content()
