"""The chart API: a provider charts and signs; billing reads charges; others are refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from medspa.clinical.models import DeviceSetting, InjectableEntry
from medspa.core.models import Role, User
from tests.clinical.chart_helpers import botox, charted, checked_in, jpeg, treating_provider
from tests.conftest import Clinic

pytestmark = pytest.mark.django_db
Api = Callable[[User], HttpClient]


def post(client: HttpClient, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def entry_body(clinic: Clinic, **change: Any) -> dict[str, Any]:
    body = botox(clinic, **change)
    return {**body, "expiry": body["expiry"].isoformat()}


def test_a_provider_charts_a_visit_and_signs_it(clinic: Clinic, api_as: Api) -> None:
    visit = checked_in(clinic)
    provider = api_as(treating_provider(clinic))

    opened = post(provider, f"/api/v1/appointments/{visit.pk}/chart")
    assert opened.status_code == 201, opened.content
    chart_id = opened.json()["id"]
    notes = provider.patch(
        f"/api/v1/charts/{chart_id}",
        data=json.dumps({"notes": "Mild asymmetry."}),
        content_type="application/json",
    )
    # The treatment starts (nothing is asked of this visit, so the gate lets it through).
    started = post(provider, f"/api/v1/appointments/{visit.pk}/status", {"status": "in_treatment"})
    assert started.status_code == 200, started.content
    added = post(provider, f"/api/v1/charts/{chart_id}/injectables", entry_body(clinic))
    photo = provider.post(
        f"/api/v1/charts/{chart_id}/photos",
        {"photo": _upload(), "kind": "before", "area": "Face"},
    )
    signed = post(provider, f"/api/v1/charts/{chart_id}/sign")

    assert notes.status_code == 200 and added.status_code == 201, added.content
    assert photo.status_code == 201, photo.content
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    body = provider.get(f"/api/v1/appointments/{visit.pk}/chart").json()
    assert body["chart"]["injectables"][0]["sites"][0]["site"] == "glabella"
    image = provider.get(f"/api/v1/charts/photos/{photo.json()['id']}")
    assert image["Content-Type"] == "image/jpeg" and image["Cache-Control"] == "private, no-store"


def _upload() -> Any:
    return SimpleUploadedFile("IMG_0001.HEIC", jpeg(80, 60), content_type="image/heic")


def test_an_edit_of_a_locked_chart_answers_409_and_changes_nothing(
    clinic: Clinic, api_as: Api
) -> None:
    chart = charted(clinic)
    provider_user = treating_provider(clinic)
    provider = api_as(provider_user)
    assert post(provider, f"/api/v1/charts/{chart.pk}/sign").status_code == 200

    response = post(provider, f"/api/v1/charts/{chart.pk}/injectables", entry_body(clinic))

    assert response.status_code == 409
    assert response.json()["code"] == "chart_locked"
    assert not InjectableEntry.objects.exists()


def test_an_expired_lot_answers_422_naming_the_expiry(clinic: Clinic, api_as: Api) -> None:
    chart = charted(clinic)
    expired = entry_body(clinic, expiry=clinic.day().replace(year=clinic.day().year - 1))
    response = post(
        api_as(treating_provider(clinic)), f"/api/v1/charts/{chart.pk}/injectables", expired
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "expiry"


def test_billing_sees_charges_but_never_notes(clinic: Clinic, api_as: Api) -> None:
    chart = charted(clinic, notes="Client anxious about needles")
    post(
        api_as(treating_provider(clinic)),
        f"/api/v1/charts/{chart.pk}/injectables",
        entry_body(clinic),
    )
    billing = api_as(clinic.users[Role.BILLING])

    charges = billing.get(f"/api/v1/appointments/{chart.appointment_id}/charges")
    refused = billing.get(f"/api/v1/appointments/{chart.appointment_id}/chart")

    assert charges.status_code == 200
    assert charges.json()["products"][0]["lot_number"] == "C1234A5"
    assert b"anxious" not in charges.content and b"glabella" not in charges.content
    assert refused.status_code == 403


def test_the_front_desk_cannot_read_a_chart_or_its_photos(clinic: Clinic, api_as: Api) -> None:
    chart = charted(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    assert desk.get(f"/api/v1/appointments/{chart.appointment_id}/chart").status_code == 403
    assert desk.get(f"/api/v1/clients/{chart.client_id}/charts").status_code == 403


def test_another_organizations_device_in_the_body_is_not_found(
    clinic: Clinic, outsider: Clinic, api_as: Api
) -> None:
    chart = charted(clinic)
    body = {"fluence": "20", "pulse_width_ms": "3", "spot_size_mm": "18", "passes": 1}
    response = post(
        api_as(treating_provider(clinic)),
        f"/api/v1/charts/{chart.pk}/device-settings",
        {**body, "device": outsider.laser.pk},
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "device"
    assert not DeviceSetting.objects.exists()


def test_aftercare_templates_are_managed_and_sent(
    clinic: Clinic, api_as: Api, django_capture_on_commit_callbacks: Any
) -> None:
    manager = api_as(clinic.users[Role.MANAGER])
    created = post(
        manager,
        "/api/v1/aftercare/templates",
        {
            "name": "After neurotoxin",
            "subject": "Aftercare from {clinic}",
            "body": "Hi {first_name}, no lying down for 4 hours.",
            "services": [clinic.neurotoxin.pk],
        },
    )
    assert created.status_code == 201, created.content
    chart = charted(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        sent = post(
            api_as(treating_provider(clinic)),
            f"/api/v1/charts/{chart.pk}/aftercare",
            {"template": created.json()["id"]},
        )
    assert sent.status_code == 201
    assert sent.json()["body"].startswith(f"Hi {clinic.client.first_name}")
    renamed = manager.patch(
        f"/api/v1/aftercare/templates/{created.json()['id']}",
        data=json.dumps({"is_active": False}),
        content_type="application/json",
    )
    assert renamed.json()["is_active"] is False
