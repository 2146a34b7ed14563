"""Allergies, medications and medical flags: clinical data, encrypted, audited, role-bound."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test import Client as HttpClient

from medspa.clients.models import MedicalHistory
from medspa.clients.services import merge_clients
from medspa.core.models import AuditEvent, Role, User
from tests.conftest import Clinic
from tests.factories import ClientFactory

Api = Callable[[User], HttpClient]
MEDICAL = {
    "allergies": ["Penicillin", "Lidocaine with epinephrine"],
    "medications": ["Warfarin 5 mg daily"],
    "medical_flags": ["blood_thinners"],
    "notes": "Bruises easily; hold pressure two minutes after each injection.",
}


def put(api: Api, user: User, client_id: int, body: dict[str, object]) -> HttpClient:
    return api(user).put(
        f"/api/v1/clients/{client_id}/medical", body, content_type="application/json"
    )


def test_a_provider_records_and_reads_the_medical_history(clinic: Clinic, api_as: Api) -> None:
    provider = clinic.users[Role.PROVIDER]
    recorded = put(api_as, provider, clinic.client.pk, MEDICAL)
    assert recorded.status_code == 201, recorded.content

    got = api_as(provider).get(f"/api/v1/clients/{clinic.client.pk}/medical").json()
    assert got["allergies"] == MEDICAL["allergies"]
    assert got["medical_flags"] == ["blood_thinners"] and got["versions"] == 1
    viewed = AuditEvent.objects.filter(action="client.medical_viewed", actor=provider)
    assert viewed.count() == 1


def test_the_database_holds_no_plaintext_of_it(clinic: Clinic, api_as: Api) -> None:
    put(api_as, clinic.users[Role.PROVIDER], clinic.client.pk, MEDICAL)
    with connection.cursor() as cursor:
        table = MedicalHistory._meta.db_table
        cursor.execute(f"SELECT allergies, medications, medical_flags, notes FROM {table}")
        raw = " ".join(str(v) for row in cursor.fetchall() for v in row)
    for secret in ("Penicillin", "Warfarin", "blood_thinners", "Bruises"):
        assert secret not in raw
    # Nor does the audit log carry the clinical content.
    logged = " ".join(str(e.data) for e in AuditEvent.objects.filter(object_type="client"))
    assert "Penicillin" not in logged


def test_each_change_is_a_new_version_and_the_latest_counts(clinic: Clinic, api_as: Api) -> None:
    provider = clinic.users[Role.PROVIDER]
    put(api_as, provider, clinic.client.pk, MEDICAL)
    put(api_as, provider, clinic.client.pk, {**MEDICAL, "allergies": ["Latex"]})
    got = api_as(provider).get(f"/api/v1/clients/{clinic.client.pk}/medical").json()
    assert got["allergies"] == ["Latex"] and got["versions"] == 2
    assert MedicalHistory.objects.filter(client=clinic.client).count() == 2


def test_front_desk_and_billing_never_see_it(clinic: Clinic, api_as: Api) -> None:
    put(api_as, clinic.users[Role.PROVIDER], clinic.client.pk, MEDICAL)
    for role in (Role.FRONT_DESK, Role.BILLING):
        user = clinic.users[role]
        assert api_as(user).get(f"/api/v1/clients/{clinic.client.pk}/medical").status_code == 403
        assert put(api_as, user, clinic.client.pk, MEDICAL).status_code == 403
    client = api_as(clinic.users[Role.FRONT_DESK]).get(f"/api/v1/clients/{clinic.client.pk}")
    assert "Penicillin" not in client.content.decode()


def test_another_organizations_client_is_not_found(
    clinic: Clinic, outsider: Clinic, api_as: Api
) -> None:
    provider = clinic.users[Role.PROVIDER]
    assert api_as(provider).get(f"/api/v1/clients/{outsider.client.pk}/medical").status_code == 404
    assert put(api_as, provider, outsider.client.pk, MEDICAL).status_code == 404
    assert not MedicalHistory.objects.exists()


def test_bad_input_is_refused_and_changes_nothing(clinic: Clinic, api_as: Api) -> None:
    provider = clinic.users[Role.PROVIDER]
    unknown = put(api_as, provider, clinic.client.pk, {**MEDICAL, "medical_flags": ["vampire"]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "medical_flags"
    long = put(api_as, provider, clinic.client.pk, {**MEDICAL, "allergies": ["x" * 200]})
    assert long.status_code == 422
    assert not MedicalHistory.objects.exists()
    assert not AuditEvent.objects.filter(action="client.medical_recorded").exists()


def test_a_merge_keeps_the_medical_history(clinic: Clinic, api_as: Api) -> None:
    duplicate = ClientFactory(organization=clinic.organization)
    put(api_as, clinic.users[Role.PROVIDER], duplicate.pk, MEDICAL)
    merge_clients(organization=clinic.organization, actor=None, keep=clinic.client, merge=duplicate)
    got = api_as(clinic.users[Role.PROVIDER]).get(f"/api/v1/clients/{clinic.client.pk}/medical")
    assert got.json()["allergies"] == MEDICAL["allergies"]
