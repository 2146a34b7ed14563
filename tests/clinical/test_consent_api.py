"""The consent routes: managers write templates, the desk and providers read, 404 elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client as HttpClient

from medspa.clinical.consent import consent_text_sha256
from medspa.clinical.models import ConsentSignature, ConsentTemplateVersion
from medspa.core.models import AuditEvent, Role, User
from tests.clients.helpers import send
from tests.clinical.consent_helpers import latest, neurotoxin_consent, new_version, sign
from tests.conftest import Clinic

Api = Callable[[User], HttpClient]


def test_a_manager_writes_publishes_and_attaches_a_consent(clinic: Clinic, api_as: Api) -> None:
    api = api_as(clinic.users[Role.MANAGER])
    created = send(
        api,
        "POST",
        "/api/v1/consents/templates",
        {"name": "Filler consent", "valid_days": 365, "body": "Filler may cause swelling."},
    )
    assert created.status_code == 201, created.content
    consent_id, draft_id = created.json()["id"], created.json()["versions"][0]["id"]
    published = send(api, "POST", f"/api/v1/consents/versions/{draft_id}/publish", {})
    assert published.status_code == 200 and not published.json()["is_draft"]
    version = ConsentTemplateVersion.objects.get(pk=draft_id)
    assert published.json()["text_sha256"] == consent_text_sha256(version)
    attached = send(
        api,
        "POST",
        f"/api/v1/consents/templates/{consent_id}/services",
        {"services": [clinic.neurotoxin.pk]},
    )
    assert attached.json()["services"] == [{"id": clinic.neurotoxin.pk, "name": "Neurotoxin"}]
    second = send(
        api,
        "POST",
        f"/api/v1/consents/templates/{consent_id}/versions",
        {"requires_resignature": False},
    )
    assert second.status_code == 201 and second.json()["number"] == 2
    assert second.json()["body"] == "Filler may cause swelling."
    edited = send(
        api, "PATCH", f"/api/v1/consents/versions/{second.json()['id']}", {"body": "Clearer."}
    )
    assert edited.json()["body"] == "Clearer." and not edited.json()["requires_resignature"]
    no_expiry = send(api, "PATCH", f"/api/v1/consents/templates/{consent_id}", {"valid_days": None})
    assert no_expiry.json()["valid_days"] is None


def test_a_published_version_answers_409_and_stays_as_it_was(clinic: Clinic, api_as: Api) -> None:
    version = latest(neurotoxin_consent(clinic))
    api = api_as(clinic.users[Role.OWNER])
    refused = send(api, "PATCH", f"/api/v1/consents/versions/{version.pk}", {"body": "Tampered"})
    assert refused.status_code == 409 and refused.json()["code"] == "version_published"
    assert refused["Content-Type"] == "application/problem+json"
    assert (
        send(api, "GET", f"/api/v1/consents/versions/{version.pk}")
        .json()["body"]
        .startswith("I understand")
    )


def test_bad_input_names_the_field_and_changes_nothing(clinic: Clinic, api_as: Api) -> None:
    api = api_as(clinic.users[Role.MANAGER])
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "X", "valid_days": 0}, "valid_days"),
        ({"name": "X", "services": [987654]}, "services"),
    ):
        response = send(api, "POST", "/api/v1/consents/templates", body)
        assert response.status_code in (404, 422), response.content
        assert response.json()["errors"][0]["field"] == field
    draft = send(api, "POST", "/api/v1/consents/templates", {"name": "Empty"}).json()
    empty = send(api, "POST", f"/api/v1/consents/versions/{draft['versions'][0]['id']}/publish")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    assert ConsentTemplateVersion.objects.published().count() == 0


def test_the_desk_sees_what_an_appointment_needs(clinic: Clinic, desk: HttpClient) -> None:
    template = neurotoxin_consent(clinic)
    signed, unsigned = clinic.book(10), clinic.book(12)
    sign(signed, latest(template))
    new_version(clinic, template, requires_resignature=False)

    items = send(desk, "GET", f"/api/v1/appointments/{signed.pk}/consents").json()["items"]
    other = send(desk, "GET", f"/api/v1/appointments/{unsigned.pk}/consents").json()["items"]

    assert [(i["state"], i["version_number"], i["satisfied"]) for i in items] == [
        ("signed", 2, True)
    ]
    assert [i["state"] for i in other] == ["needs_signature"]
    assert AuditEvent.objects.filter(action="consent.status_viewed").count() == 2


def test_a_clients_signatures_list_without_images_and_is_audited(
    clinic: Clinic, desk: HttpClient, django_assert_max_num_queries: Any
) -> None:
    appointment = clinic.book(10)
    for n in range(3):
        sign(appointment, latest(neurotoxin_consent(clinic, name=f"Consent {n}")))
    with django_assert_max_num_queries(12):
        response = send(desk, "GET", f"/api/v1/clients/{appointment.client_id}/consents/signatures")
    body = response.json()
    assert body["count"] == 3 and "signature_image" not in body["items"][0]
    assert {i["template_name"] for i in body["items"]} == {"Consent 0", "Consent 1", "Consent 2"}
    event = AuditEvent.objects.get(action="consent.signatures_viewed")
    assert event.data["count"] == 3 and "Maya" not in str(event.data)


def test_the_pdf_is_served_to_the_desk_and_audited(clinic: Clinic, desk: HttpClient) -> None:
    signature = sign(clinic.book(10), latest(neurotoxin_consent(clinic)))
    response = desk.get(f"/api/v1/consents/signatures/{signature.pk}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f"consent-{signature.pk}-" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action="consent.pdf_viewed")
    assert event.object_id == str(signature.pk) and event.actor == clinic.users[Role.FRONT_DESK]


def test_billing_may_not_see_consents_and_nobody_may_delete_one(
    clinic: Clinic, api_as: Api
) -> None:
    signature = sign(clinic.book(10), latest(neurotoxin_consent(clinic)))
    billing = api_as(clinic.users[Role.BILLING])
    assert billing.get(f"/api/v1/consents/signatures/{signature.pk}/pdf").status_code == 403
    owner = api_as(clinic.users[Role.OWNER])
    for method in ("DELETE", "PATCH", "PUT"):
        response = owner.generic(method, f"/api/v1/consents/signatures/{signature.pk}/pdf")
        assert response.status_code == 405
    assert ConsentSignature.objects.count() == 1


def test_another_organizations_consents_are_not_found(
    clinic: Clinic, outsider: Clinic, api_as: Api
) -> None:
    signature = sign(outsider.book(10), latest(neurotoxin_consent(outsider)))
    owner = api_as(clinic.users[Role.OWNER])
    for url in (
        f"/api/v1/consents/signatures/{signature.pk}/pdf",
        f"/api/v1/consents/versions/{signature.version_id}",
        f"/api/v1/clients/{signature.client_id}/consents/signatures",
        f"/api/v1/appointments/{signature.appointment_id}/consents",
    ):
        assert owner.get(url).status_code == 404, url
    assert send(owner, "GET", "/api/v1/consents/templates").json()["count"] == 0
    assert not AuditEvent.objects.filter(action="consent.pdf_viewed").exists()
