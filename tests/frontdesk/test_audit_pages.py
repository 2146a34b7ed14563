"""The audit log browser: managers only, newest first, filtered, paged, read-only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client as HttpClient

from medspa.clients.services import update_client
from medspa.core.audit import record_event
from medspa.core.models import AuditEvent, Role
from tests.conftest import Clinic
from tests.factories import ClientFactory


def signed_in(clinic: Clinic, role: str = Role.MANAGER) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def note(clinic: Clinic, n: int, action: str = "block.added", **data: object) -> AuditEvent:
    return record_event(
        organization=clinic.organization,
        actor=clinic.users[Role.FRONT_DESK],
        action=action,
        object_type="resource_block",
        object_id=n,
        data={"n": n, **data},
    )


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER, Role.BILLING])
def test_only_owners_and_managers_see_the_log(clinic: Clinic, role: str) -> None:
    assert signed_in(clinic, role).get("/audit/").status_code == 404
    nav = signed_in(clinic, role).get("/clients/").content.decode()
    assert "Audit log" not in nav
    assert "Audit log" in signed_in(clinic, Role.OWNER).get("/clients/").content.decode()


def test_newest_first_with_words_links_and_data_and_never_another_organization(
    clinic: Clinic, outsider: Clinic
) -> None:
    client = clinic.client
    update_client(
        organization=clinic.organization,
        actor=clinic.users[Role.FRONT_DESK],
        client=client,
        changes={"preferred_name": "Abby"},
    )
    note(clinic, 7, reason="maintenance")
    note(outsider, 99, secret="theirs-zz9")
    response = signed_in(clinic).get("/audit/")
    page = response.content.decode()
    rows = response.context["rows"]
    assert [r.event.action for r in rows[:2]] == ["block.added", "client.updated"]
    assert "Changed a client&#x27;s details" in page
    assert f'href="/clients/{client.pk}/"' in page
    assert "maintenance" in page
    assert "theirs-zz9" not in page
    assert "Check the chain now" in page and "Audit chain intact" not in page
    checked = signed_in(clinic).get("/audit/?verify=1").content.decode()
    assert "Audit chain intact" in checked


def test_filters_narrow_by_staff_action_record_and_client(clinic: Clinic) -> None:
    note(clinic, 1)
    mine = record_event(
        organization=clinic.organization,
        actor=clinic.users[Role.MANAGER],
        action="client.medical_viewed",
        object_type="client",
        object_id=clinic.client.pk,
    )
    other = ClientFactory(organization=clinic.organization)
    record_event(
        organization=clinic.organization,
        actor=None,
        action="client.created",
        object_type="client",
        object_id=other.pk,
    )
    appointment = clinic.book(10, client=clinic.client)
    browser = signed_in(clinic)

    def found(**params: object) -> list[int]:
        return [r.event.pk for r in browser.get("/audit/", params).context["rows"]]

    assert found(actor=clinic.users[Role.MANAGER].pk) == [mine.pk]
    assert found(action="client.medical") == [mine.pk]
    assert len(found(object_type="resource_block", object_id="1")) == 1
    booked = AuditEvent.objects.get(action="appointment.booked", object_id=str(appointment.pk))
    assert found(client=clinic.client.pk) == [booked.pk, mine.pk]


def test_bad_filters_are_told_and_ignored(clinic: Clinic, outsider: Clinic) -> None:
    note(clinic, 1)
    response = signed_in(clinic).get(
        "/audit/", {"from": "yesterday", "actor": "x", "client": outsider.client.pk}
    )
    assert response.status_code == 200
    errors = response.context["errors"]
    assert set(errors) == {"from", "actor", "client"}
    assert outsider.client.full_name not in response.content.decode()


def test_pages_of_fifty_cost_the_same_queries_however_long_the_log(
    clinic: Clinic, django_assert_max_num_queries: object
) -> None:
    for n in range(120):
        note(clinic, n)
    browser = signed_in(clinic)
    with django_assert_max_num_queries(13):  # type: ignore[operator]
        first = browser.get("/audit/")
    assert len(first.context["rows"]) == 50
    older = first.context["older"]
    with django_assert_max_num_queries(13):  # type: ignore[operator]
        second = browser.get(older)
    assert second.context["rows"][0].event.pk < first.context["rows"][-1].event.pk
    third = browser.get(second.context["older"])
    assert third.context["older"] == ""
    assert 'href="/audit/">Newest' in third.content.decode()


def test_a_removed_event_shows_where_the_chain_breaks(clinic: Clinic) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses the delete itself")
    note(clinic, 1)
    removed, after = note(clinic, 2), note(clinic, 3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [removed.pk])
    page = signed_in(clinic).get("/audit/?verify=1").content.decode()
    assert f"breaks at event #{after.pk}" in page


def test_the_log_offers_no_way_to_change_anything(clinic: Clinic) -> None:
    note(clinic, 1)
    browser = signed_in(clinic, Role.OWNER)
    page = browser.get("/audit/").content.decode()
    assert 'method="post"' not in page.split("<main", 1)[1].split("</main>")[0]
    assert browser.post("/audit/", {}).status_code == 405
