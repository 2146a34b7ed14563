"""A person opens medspa in a browser: the start page, signing in, the API documentation."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_owner_signs_in_and_sees_the_clinic(served: str, page: Page) -> None:
    page.goto(f"{served}/admin/login/?next=/")
    page.get_by_label("Email").fill("owner@demo.medspa.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_text("Signed in as")).to_contain_text("owner@demo.medspa.example")
    expect(page.get_by_text("Lumen Aesthetics")).to_be_visible()


def test_api_documentation_lists_the_booking_routes(served: str, page: Page) -> None:
    page.goto(f"{served}/api/v1/openapi.json")
    assert "/api/v1/appointments" in page.content()
