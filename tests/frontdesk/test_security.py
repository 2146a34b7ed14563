"""Sign-in security: a second factor per role, the idle sign-out, and the settings page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.cache import cache
from django.test import Client as HttpClient

from medspa.core.models import AuditEvent, Organization, Role, User
from medspa.core.security import LAST_SEEN_KEY, STAMP_EVERY_SECONDS
from medspa.frontdesk.auth import StaffMFAAdapter
from tests.conftest import Clinic
from tests.frontdesk.test_calendar import signed_in

ACTIVATE = "/accounts/2fa/totp/activate/"
CLINICAL = [Role.OWNER, Role.MANAGER, Role.PROVIDER]


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    # Sign-in rate limits and used TOTP codes live in the cache.
    cache.clear()


def require(org: Organization, *roles: str, idle: int = 30) -> None:
    org.mfa_required_roles = list(roles)
    org.idle_timeout_minutes = idle
    org.save()


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in(user: User) -> tuple[HttpClient, Any]:
    browser = HttpClient()
    response = browser.post("/accounts/login/", {"login": user.email, "password": "secret"})
    return browser, response


def confirm_password(browser: HttpClient) -> None:
    """allauth asks for the password again before an authenticator is added."""
    response = browser.post("/accounts/reauthenticate/", {"password": "secret", "next": ACTIVATE})
    assert response.status_code == 302, response.content


def with_totp(user: User) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


# ---- a second factor required per role ------------------------------------------------------


@pytest.mark.parametrize("role", CLINICAL)
def test_a_required_role_without_an_authenticator_is_held_at_its_setup(
    clinic: Clinic, role: str
) -> None:
    require(clinic.organization, *CLINICAL)
    browser, _ = sign_in(clinic.users[role])
    response = browser.get("/calendar/")
    assert response.status_code == 302
    assert response["Location"] == ACTIVATE
    setup = browser.get(ACTIVATE)
    assert (
        setup["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
    )
    assert browser.get(setup["Location"]).status_code == 200
    confirm_password(browser)
    assert browser.get(ACTIVATE).status_code == 200


def test_htmx_requests_are_sent_to_the_setup_with_hx_redirect(clinic: Clinic) -> None:
    require(clinic.organization, Role.PROVIDER)
    browser = signed_in(clinic, Role.PROVIDER)
    response = browser.get("/calendar/events", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == ACTIVATE


def test_the_api_refuses_such_a_session_with_a_problem(clinic: Clinic) -> None:
    require(clinic.organization, Role.PROVIDER)
    response = signed_in(clinic, Role.PROVIDER).get("/api/v1/locations")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "second_factor_required"


def test_a_bearer_token_is_separate_from_the_second_factor(
    clinic: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    require(clinic.organization, Role.PROVIDER)
    assert api_as(clinic.users[Role.PROVIDER]).get("/api/v1/locations").status_code == 200


def test_a_role_not_required_goes_straight_to_the_calendar(clinic: Clinic) -> None:
    require(clinic.organization, Role.PROVIDER)
    browser, _ = sign_in(clinic.users[Role.FRONT_DESK])
    assert browser.get("/calendar/").status_code == 200


def test_another_organizations_requirement_does_not_apply(clinic: Clinic, outsider: Clinic) -> None:
    require(outsider.organization, *Role.values)
    assert signed_in(clinic, Role.PROVIDER).get("/calendar/").status_code == 200


def test_activating_an_authenticator_opens_the_calendar(clinic: Clinic) -> None:
    require(clinic.organization, Role.PROVIDER)
    browser, _ = sign_in(clinic.users[Role.PROVIDER])
    confirm_password(browser)
    page = browser.get(ACTIVATE).content.decode()
    assert re.search(r'<label for="id_code">\s*Authenticator code', page)
    secret = browser.session[SECRET_SESSION_KEY]
    response = browser.post(ACTIVATE, {"code": code_for(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=clinic.users[Role.PROVIDER]).exists()
    assert browser.get("/calendar/").status_code == 200


def test_sign_in_with_an_authenticator_asks_for_its_code(clinic: Clinic) -> None:
    require(clinic.organization, Role.PROVIDER)
    secret = with_totp(clinic.users[Role.PROVIDER])
    browser, response = sign_in(clinic.users[Role.PROVIDER])
    assert response["Location"] == "/accounts/2fa/authenticate/"
    page = browser.get("/accounts/2fa/authenticate/").content.decode()
    assert re.search(r'<label for="id_code">\s*Code', page)
    assert 'class="brand"' in page  # inside the app's own layout

    wrong = f"{(int(code_for(secret)) + 1) % 1_000_000:06d}"
    assert browser.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code == 200
    assert browser.get("/calendar/").status_code == 302  # still not signed in

    assert (
        browser.post("/accounts/2fa/authenticate/", {"code": code_for(secret)}).status_code == 302
    )
    assert browser.get("/calendar/").status_code == 200


def test_a_session_that_never_checked_the_code_must_confirm_it(clinic: Clinic) -> None:
    require(clinic.organization, Role.PROVIDER)
    with_totp(clinic.users[Role.PROVIDER])
    browser = signed_in(clinic, Role.PROVIDER)  # e.g. through the admin's own login
    response = browser.get("/calendar/")
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fcalendar%2F"


def test_the_two_factor_pages_render_in_the_app_layout_with_labels(clinic: Clinic) -> None:
    browser, _ = sign_in(clinic.users[Role.MANAGER])
    index = browser.get("/accounts/2fa/").content.decode()
    assert 'class="brand"' in index
    assert f'href="{ACTIVATE}"' in index
    confirm_password(browser)
    activate = browser.get(ACTIVATE).content.decode()
    assert re.search(r'<label for="authenticator_secret">\s*Authenticator secret', activate)
    assert 'alt="QR code to scan with your authenticator app' in activate


# ---- idle sign-out --------------------------------------------------------------------------


def idle_for(browser: HttpClient, seconds: float) -> None:
    session = browser.session
    session[LAST_SEEN_KEY] = int(time.time() - seconds)
    session.save()


def test_an_idle_session_is_signed_out_after_the_organizations_minutes(clinic: Clinic) -> None:
    require(clinic.organization, idle=10)
    browser = signed_in(clinic)
    assert browser.get("/calendar/").status_code == 200
    idle_for(browser, 10 * 60 + STAMP_EVERY_SECONDS + 5)
    response = browser.get("/calendar/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=%2Fcalendar%2F"
    assert "You were signed out after 10 minutes without activity." in response.content.decode()
    assert browser.get("/calendar/").status_code == 302


def test_activity_within_the_timeout_keeps_the_session(clinic: Clinic) -> None:
    require(clinic.organization, idle=10)
    browser = signed_in(clinic)
    idle_for(browser, 9 * 60)
    assert browser.get("/calendar/").status_code == 200
    assert time.time() - browser.session[LAST_SEEN_KEY] < 5  # activity noted


def test_a_recent_stamp_is_not_rewritten(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    idle_for(browser, 10)
    stamp = browser.session[LAST_SEEN_KEY]
    browser.get("/calendar/")
    assert browser.session[LAST_SEEN_KEY] == stamp


def test_an_idle_htmx_request_is_redirected_with_hx_redirect(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    browser.get("/calendar/")
    idle_for(browser, 31 * 60 + STAMP_EVERY_SECONDS)
    response = browser.get(
        "/calendar/events",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/calendar/"},
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fcalendar%2F"


def test_an_idle_api_session_answers_a_problem(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    browser.get("/calendar/")
    idle_for(browser, 31 * 60 + STAMP_EVERY_SECONDS)
    response = browser.get("/api/v1/locations")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


# ---- the settings page ----------------------------------------------------------------------


def test_owners_and_managers_see_the_page_and_its_nav_link(clinic: Clinic) -> None:
    for role in (Role.OWNER, Role.MANAGER):
        page = signed_in(clinic, role).get("/settings/security/").content.decode()
        assert 'href="/settings/security/" aria-current="page">Security</a>' in page
        assert 'href="/accounts/2fa/">Two-factor authentication</a>' in page
        assert re.search(r'<label for="id_mfa_required_roles_\d">.*Provider', page)
        assert '<label for="id_idle_timeout_minutes">' in page
    calendar = signed_in(clinic, Role.FRONT_DESK).get("/calendar/").content.decode()
    assert "/settings/security/" not in calendar


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER, Role.BILLING])
def test_other_roles_are_refused_and_change_nothing(clinic: Clinic, role: str) -> None:
    browser = signed_in(clinic, role)
    assert browser.get("/settings/security/").status_code == 404
    body = {"mfa_required_roles": ["owner"], "idle_timeout_minutes": "5"}
    assert browser.post("/settings/security/", body).status_code == 404
    clinic.organization.refresh_from_db()
    assert clinic.organization.mfa_required_roles == []


def test_saving_writes_the_settings_and_one_audit_event(clinic: Clinic, outsider: Clinic) -> None:
    body = {"mfa_required_roles": ["provider", "owner"], "idle_timeout_minutes": "15"}
    response = signed_in(clinic, Role.OWNER).post("/settings/security/", body, follow=True)
    assert "Security settings saved." in response.content.decode()
    clinic.organization.refresh_from_db()
    assert clinic.organization.mfa_required_roles == ["owner", "provider"]
    assert clinic.organization.idle_timeout_minutes == 15
    event = AuditEvent.objects.get(action="organization.security_changed")
    assert event.organization_id == clinic.organization.pk
    assert event.actor_id == clinic.users[Role.OWNER].pk
    outsider.organization.refresh_from_db()
    assert outsider.organization.mfa_required_roles == []
    assert outsider.organization.idle_timeout_minutes == 30


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"idle_timeout_minutes": "0"}, "idle_timeout_minutes", "Choose between 5 and 720"),
        ({"idle_timeout_minutes": "721"}, "idle_timeout_minutes", "Choose between 5 and 720"),
        ({"idle_timeout_minutes": "ten"}, "idle_timeout_minutes", "whole number"),
        (
            {"mfa_required_roles": ["janitor"], "idle_timeout_minutes": "30"},
            "mfa_required_roles",
            "janitor is not a role",
        ),
    ],
)
def test_bad_input_is_explained_next_to_its_field_and_changes_nothing(
    clinic: Clinic, body: dict[str, Any], field: str, message: str
) -> None:
    response = signed_in(clinic, Role.MANAGER).post("/settings/security/", body)
    assert response.status_code == 422
    error = re.search(
        rf'<small id="id_{field}_error" class="error">([^<]*)</small>', response.content.decode()
    )
    assert error is not None and message in error.group(1)
    clinic.organization.refresh_from_db()
    assert clinic.organization.idle_timeout_minutes == 30
    assert not AuditEvent.objects.filter(action="organization.security_changed").exists()


def test_the_page_costs_a_few_queries(clinic: Clinic, django_assert_max_num_queries: Any) -> None:
    browser = signed_in(clinic, Role.OWNER)
    # Six, plus one for the organization's clock (its first location's zone) on a cold worker.
    with django_assert_max_num_queries(7):
        assert browser.get("/settings/security/").status_code == 200


def test_a_required_authenticator_cannot_be_switched_off(clinic: Clinic) -> None:
    adapter = StaffMFAAdapter()
    provider, desk = clinic.users[Role.PROVIDER], clinic.users[Role.FRONT_DESK]
    with_totp(provider)
    with_totp(desk)
    require(clinic.organization, Role.PROVIDER)
    provider.refresh_from_db()
    desk.refresh_from_db()

    assert not adapter.can_delete_authenticator(Authenticator.objects.get(user=provider))
    assert adapter.can_delete_authenticator(Authenticator.objects.get(user=desk))
