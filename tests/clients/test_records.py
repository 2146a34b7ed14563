"""Client records: register with details, change them, list and filter by tag, find duplicates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.clients.models import Client
from medspa.clients.services import create_client, update_client
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import Role, User
from medspa.scheduling.models import ResourceKind
from tests.clients.helpers import actions, send
from tests.conftest import Clinic
from tests.factories import ClientFactory, ResourceFactory


def test_registering_with_full_details_stores_them_normalised(
    clinic: Clinic, desk: HttpClient
) -> None:
    body = {
        "first_name": "Maya",
        "last_name": "Chen",
        "preferred_name": "May",
        "pronouns": "she/her",
        "phone": "(508) 555-0142",
        "address_line1": "1 Main St",
        "city": "Boston",
        "region": "MA",
        "postal_code": "02116",
        "preferred_provider": clinic.injector.pk,
        "preferred_channel": "sms",
        "staff_notes": "Prefers mornings.",
        "tags": ["VIP", "vip ", "Bride 2026"],
    }
    response = send(desk, "POST", "/api/v1/clients", body)
    assert response.status_code == 201, response.content
    got = response.json()
    assert got["phone"] == "+15085550142" and got["country"] == "US"
    assert got["tags"] == ["bride-2026", "vip"]
    assert got["preferred_provider"] == clinic.injector.pk
    assert got["is_active"] is True and got["merged_into"] is None
    assert got["possible_duplicates"] == []


def test_the_booking_call_of_create_client_still_works(clinic: Clinic) -> None:
    client = create_client(
        organization=clinic.organization, actor=None, first_name="Ana", last_name="Ruiz",
        phone="", email="ana@example.com", birth_date=None,
    )  # fmt: skip
    assert client.preferred_channel == "none" and client.tags == []


def test_a_patch_changes_only_the_fields_sent_and_is_audited(
    clinic: Clinic, desk: HttpClient
) -> None:
    client = clinic.client
    phone = client.phone
    response = send(
        desk,
        "PATCH",
        f"/api/v1/clients/{client.pk}",
        {"email": " New@Example.COM ", "pronouns": "they/them", "tags": ["vip"]},
    )
    assert response.status_code == 200, response.content
    client.refresh_from_db()
    assert (client.email, client.pronouns, client.phone) == ("new@example.com", "they/them", phone)
    assert client.tags == ["vip"]
    assert client.updated_at > client.created_at
    assert actions(client.pk)[-1] == "client.updated"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"birth_date": str(timezone.localdate() + timedelta(days=2))}, "birth_date"),
        ({"first_name": ""}, "first_name"),
        ({"phone": "", "email": ""}, "phone"),
        ({"pronouns": "x" * 41}, "pronouns"),
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
        ({"tags": ["!!!"]}, "tags"),
        ({"country": "USA"}, "country"),
        ({"staff_notes": "x" * 2001}, "staff_notes"),
        ({"first_name": "A\x00"}, "first_name"),
    ],
)
def test_bad_input_answers_422_and_changes_nothing(
    clinic: Clinic, desk: HttpClient, changes: dict[str, Any], field: str
) -> None:
    before = Client.objects.values().get(pk=clinic.client.pk)
    response = send(desk, "PATCH", f"/api/v1/clients/{clinic.client.pk}", changes)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    if response.json()["errors"]:
        assert response.json()["errors"][0]["field"].endswith(field)
    assert Client.objects.values().get(pk=clinic.client.pk) == before
    assert "client.updated" not in actions(clinic.client.pk)


def test_preferred_provider_must_be_an_active_provider_of_the_clinic(
    clinic: Clinic, outsider: Clinic
) -> None:
    retired = ResourceFactory(organization=clinic.organization, is_active=False)
    change = {"organization": clinic.organization, "actor": None, "client": clinic.client}
    with pytest.raises(Invalid):
        update_client(**change, changes={"preferred_provider": clinic.treatment_room.pk})
    with pytest.raises(Invalid):
        update_client(**change, changes={"preferred_provider": retired.pk})
    with pytest.raises(NotFound):
        update_client(**change, changes={"preferred_provider": outsider.injector.pk})
    assert clinic.treatment_room.kind == ResourceKind.ROOM
    update_client(**change, changes={"preferred_provider": clinic.laser_tech.pk})
    update_client(**change, changes={"preferred_provider": None})
    clinic.client.refresh_from_db()
    assert clinic.client.preferred_provider is None


def test_the_outsiders_client_answers_404_everywhere(
    clinic: Clinic, outsider: Clinic, desk: HttpClient
) -> None:
    theirs = outsider.client
    before = Client.objects.values().get(pk=theirs.pk)
    for method, url, body in [
        ("GET", f"/api/v1/clients/{theirs.pk}", None),
        ("PATCH", f"/api/v1/clients/{theirs.pk}", {"pronouns": "he/him"}),
        ("GET", f"/api/v1/clients/{theirs.pk}/consents", None),
        ("POST", f"/api/v1/clients/{theirs.pk}/consents", {"channel": "sms", "granted": True}),
    ]:
        assert send(desk, method, url, body).status_code == 404, (method, url)
    assert Client.objects.values().get(pk=theirs.pk) == before
    with pytest.raises(NotFound):
        update_client(
            organization=clinic.organization, actor=None, client=theirs, changes={"city": "X"}
        )


def test_billing_may_read_but_not_change_a_client(
    clinic: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    billing = api_as(clinic.users[Role.BILLING])
    assert send(billing, "GET", f"/api/v1/clients/{clinic.client.pk}").status_code == 200
    response = send(billing, "PATCH", f"/api/v1/clients/{clinic.client.pk}", {"city": "Boston"})
    assert response.status_code == 403


def test_a_merged_client_cannot_be_changed(clinic: Clinic) -> None:
    merged = ClientFactory(
        organization=clinic.organization, is_active=False, merged_into=clinic.client
    )
    with pytest.raises(Conflict):
        update_client(
            organization=clinic.organization, actor=None, client=merged, changes={"city": "X"}
        )


def test_the_list_filters_by_tag_and_never_shows_the_outsider(
    clinic: Clinic, outsider: Clinic, desk: HttpClient
) -> None:
    for client, tags in [(clinic.client, ["vip"]), (outsider.client, ["vip"])]:
        update_client(
            organization=client.organization, actor=None, client=client, changes={"tags": tags}
        )
    ClientFactory(organization=clinic.organization)
    body = send(desk, "GET", "/api/v1/clients?tag=VIP").json()
    assert [item["id"] for item in body["items"]] == [clinic.client.pk]
    assert body["count"] == 1
    assert send(desk, "GET", "/api/v1/clients?tag=none-such").json()["count"] == 0
    assert send(desk, "GET", "/api/v1/clients").json()["count"] == 2


def test_the_client_list_costs_the_same_queries_for_2_or_30(
    clinic: Clinic, desk: HttpClient, django_assert_max_num_queries: Any
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            client = ClientFactory(organization=clinic.organization)
            update_client(
                organization=clinic.organization,
                actor=None,
                client=client,
                changes={"tags": ["vip", "laser"], "preferred_provider": clinic.injector.pk},
            )

    add(1)
    with django_assert_max_num_queries(8) as few:
        assert send(desk, "GET", "/api/v1/clients").json()["count"] == 2
    add(28)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(send(desk, "GET", "/api/v1/clients").json()["items"]) == 30


def test_a_new_client_is_warned_about_not_refused_for_a_likely_duplicate(
    clinic: Clinic, desk: HttpClient
) -> None:
    body = {"first_name": "Zed", "last_name": "Doe", "phone": clinic.client.phone}
    response = send(desk, "POST", "/api/v1/clients", body)
    assert response.status_code == 201
    assert response.json()["possible_duplicates"] == [clinic.client.pk]


def test_updated_at_follows_the_given_now(clinic: Clinic) -> None:
    now = timezone.now() + timedelta(hours=1)
    update_client(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        changes={"city": "Boston"},
        now=now,
    )
    clinic.client.refresh_from_db()
    assert clinic.client.updated_at == now
