"""The permission matrix, walked for every role against the routes that enforce it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.core.models import Role, User
from medspa.core.permissions import MATRIX
from tests.conftest import Clinic

# One route per guarded action: (action, method, url template, body).
ROUTES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("locations.view", "GET", "/api/v1/locations", None),
    ("services.view", "GET", "/api/v1/services", None),
    ("resources.view", "GET", "/api/v1/resources", None),
    ("schedule.view", "GET", "/api/v1/appointments?location={location}&date={day}", None),
    ("clients.view", "GET", "/api/v1/clients", None),
    (
        "clients.create",
        "POST",
        "/api/v1/clients",
        {"first_name": "A", "last_name": "B", "email": "ab@example.com"},
    ),
    (
        "hours.manage",
        "POST",
        "/api/v1/resources/{injector}/blocks",
        {"start": "{day}T12:00", "end": "{day}T13:00", "reason": "time_off"},
    ),
    (
        "appointments.book",
        "POST",
        "/api/v1/appointments",
        {
            "client": "{client}",
            "location": "{location}",
            "start": "{day}T10:00",
            "service": "{neurotoxin}",
        },
    ),
]


def fill(value: Any, clinic: Clinic) -> Any:
    names = {
        "location": clinic.location.pk,
        "day": clinic.day().isoformat(),
        "client": clinic.client.pk,
        "injector": clinic.injector.pk,
        "neurotoxin": clinic.neurotoxin.pk,
    }
    if isinstance(value, dict):
        return {k: fill(v, clinic) for k, v in value.items()}
    if isinstance(value, str):
        filled = value.format(**names)
        return (
            int(filled)
            if value.startswith("{") and value.endswith("}") and filled.isdigit()
            else filled
        )
    return value


def test_the_matrix_names_every_action_once() -> None:
    assert {action for action, *_ in ROUTES} <= set(MATRIX)


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("action", "method", "url", "body"), ROUTES)
def test_each_role_may_do_exactly_what_the_matrix_says(
    clinic: Clinic,
    api_as: Callable[[User], HttpClient],
    role: str,
    action: str,
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    http = api_as(clinic.users[role])
    response = http.generic(
        method,
        fill(url, clinic),
        data=json.dumps(fill(body, clinic)) if body else "",
        content_type="application/json",
    )
    if role in MATRIX[action]:
        assert response.status_code in (200, 201), (role, action, response.content)
    else:
        assert response.status_code == 403, (role, action, response.content)
