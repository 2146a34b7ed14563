"""Staff sign-in: e-mail and password, and a lock after repeated failures."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient

from medspa.core.models import Role
from tests.conftest import Clinic


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


def sign_in(browser: HttpClient, email: str, password: str) -> int:
    response = browser.post("/accounts/login/", {"login": email, "password": password})
    return response.status_code


def test_staff_sign_in_with_email_and_password(clinic: Clinic) -> None:
    browser = HttpClient()
    assert sign_in(browser, clinic.users[Role.FRONT_DESK].email, "secret") == 302
    assert browser.get("/calendar/").status_code == 200


def test_five_failed_sign_ins_lock_the_account_even_with_the_right_password(
    clinic: Clinic,
) -> None:
    email = clinic.users[Role.FRONT_DESK].email
    for _ in range(5):
        assert sign_in(HttpClient(), email, "wrong") == 200
    browser = HttpClient()
    response = browser.post("/accounts/login/", {"login": email, "password": "secret"})
    assert response.status_code in (200, 429)
    assert browser.get("/calendar/").status_code == 302  # still signed out


def test_the_admin_signs_in_through_the_same_guarded_form(client: HttpClient) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
