"""Merging a duplicate client: all history moves to the record kept, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client as HttpClient

from medspa.clients.models import Client, CommunicationConsent
from medspa.clients.selectors import current_consents, search_clients
from medspa.clients.services import merge_clients, record_communication_consent, update_client
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import AuditEvent, Role, User
from medspa.scheduling.models import Appointment
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment
from tests.clients.helpers import actions, send
from tests.conftest import Clinic
from tests.factories import ClientFactory


def book(clinic: Clinic, client: Client, hour: int, days_ahead: int = 2) -> Appointment:
    return book_appointment(
        organization=clinic.organization,
        actor=None,
        client=client,
        location=clinic.location,
        start=clinic.at(hour, days_ahead=days_ahead),
        wanted=[Wanted(clinic.neurotoxin)],
    )


@pytest.fixture
def twin(clinic: Clinic) -> Client:
    """A second record of the clinic's client, made at the front desk by mistake."""
    twin = ClientFactory(
        organization=clinic.organization,
        first_name=clinic.client.first_name,
        email="",
        birth_date=None,
    )
    update_client(
        organization=clinic.organization,
        actor=None,
        client=twin,
        changes={"city": "Boston", "postal_code": "02116", "tags": ["vip", "laser"],
                 "staff_notes": "Likes tea.", "preferred_channel": "sms"},
    )  # fmt: skip
    update_client(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        changes={"tags": ["vip"]},
    )
    return twin


def test_merging_moves_every_appointment_and_consent_and_fills_gaps(
    clinic: Clinic, twin: Client, api_as: Callable[[User], HttpClient]
) -> None:
    keep = clinic.client
    book(clinic, keep, 10)
    book(clinic, twin, 12)
    book(clinic, twin, 10, days_ahead=3)
    record_communication_consent(
        organization=clinic.organization, actor=None, client=twin,
        channel="email", purpose="marketing", granted=True, source="portal",
    )  # fmt: skip
    total = Appointment.objects.count()
    manager = api_as(clinic.users[Role.MANAGER])
    response = send(manager, "POST", f"/api/v1/clients/{keep.pk}/merge", {"merge": twin.pk})
    assert response.status_code == 200, response.content
    assert Appointment.objects.count() == total == keep.appointments.count() == 3
    assert not Appointment.objects.filter(client=twin).exists()
    assert CommunicationConsent.objects.get().client == keep
    assert {(s.channel, s.purpose, s.granted) for s in current_consents(keep)} >= {
        ("email", "marketing", True)
    }
    keep.refresh_from_db()
    twin.refresh_from_db()
    assert keep.tags == ["laser", "vip"] and twin.tags == []
    assert (keep.city, keep.postal_code, keep.preferred_channel) == ("Boston", "02116", "sms")
    assert keep.staff_notes == f"[From merged client {twin.pk}] Likes tea."
    assert keep.email  # kept its own contact details
    assert (twin.is_active, twin.merged_into_id) == (False, keep.pk)
    assert response.json()["tags"] == ["laser", "vip"]


def test_a_merge_is_audited_on_both_records(clinic: Clinic, twin: Client) -> None:
    book(clinic, twin, 12)
    merge_clients(
        organization=clinic.organization,
        actor=clinic.users[Role.OWNER],
        keep=clinic.client,
        merge=twin,
    )
    assert actions(clinic.client.pk)[-1] == "client.merged"
    assert actions(twin.pk)[-1] == "client.merged_into"
    event = AuditEvent.objects.get(action="client.merged")
    assert event.actor == clinic.users[Role.OWNER]
    assert event.data["merged"] == twin.pk
    assert event.data["moved"]["scheduling.appointment"] == 1
    assert event.data["moved"]["clients.clienttag"] == 1  # "laser"; the twin's "vip" went


def test_a_merged_client_leaves_lists_and_search_but_its_link_still_answers(
    clinic: Clinic, twin: Client, desk: HttpClient
) -> None:
    merge_clients(organization=clinic.organization, actor=None, keep=clinic.client, merge=twin)
    ids = [item["id"] for item in send(desk, "GET", "/api/v1/clients").json()["items"]]
    assert ids == [clinic.client.pk]
    assert not search_clients(clinic.organization, twin.phone).exists()
    got = send(desk, "GET", f"/api/v1/clients/{twin.pk}").json()
    assert (got["is_active"], got["merged_into"]) == (False, clinic.client.pk)


def test_earlier_merges_follow_on_to_the_record_kept(clinic: Clinic, twin: Client) -> None:
    older = ClientFactory(organization=clinic.organization)
    merge_clients(organization=clinic.organization, actor=None, keep=twin, merge=older)
    merge_clients(organization=clinic.organization, actor=None, keep=clinic.client, merge=twin)
    older.refresh_from_db()
    assert older.merged_into == clinic.client


def test_refusals_change_nothing(clinic: Clinic, outsider: Clinic, twin: Client) -> None:
    org = clinic.organization
    book(clinic, twin, 12)
    with pytest.raises(Invalid):
        merge_clients(organization=org, actor=None, keep=twin, merge=twin)
    with pytest.raises(NotFound):
        merge_clients(organization=org, actor=None, keep=clinic.client, merge=outsider.client)
    with pytest.raises(NotFound):
        merge_clients(organization=org, actor=None, keep=outsider.client, merge=twin)
    merge_clients(organization=org, actor=None, keep=clinic.client, merge=twin)
    other = ClientFactory(organization=org)
    with pytest.raises(Conflict, match="already merged"):
        merge_clients(organization=org, actor=None, keep=other, merge=twin)
    with pytest.raises(Conflict):
        merge_clients(organization=org, actor=None, keep=twin, merge=other)
    assert other.appointments.count() == 0 and Client.objects.get(pk=other.pk).is_active
    outsider.client.refresh_from_db()
    assert outsider.client.is_active and outsider.client.merged_into is None
    assert not AuditEvent.objects.filter(
        organization=outsider.organization, action__startswith="client.merged"
    ).exists()


def test_the_api_refuses_bad_merges_with_clear_errors(
    clinic: Clinic, outsider: Clinic, twin: Client, api_as: Callable[[User], HttpClient]
) -> None:
    owner = api_as(clinic.users[Role.OWNER])
    url = f"/api/v1/clients/{clinic.client.pk}/merge"
    assert send(owner, "POST", url, {}).json()["errors"][0]["field"] == "merge"
    assert send(owner, "POST", url, {"merge": clinic.client.pk}).status_code == 422
    assert send(owner, "POST", url, {"merge": outsider.client.pk}).status_code == 404
    theirs = f"/api/v1/clients/{outsider.client.pk}/merge"
    assert send(owner, "POST", theirs, {"merge": twin.pk}).status_code == 404
    assert send(owner, "POST", url, {"merge": twin.pk}).status_code == 200
    again = send(owner, "POST", url, {"merge": twin.pk})
    assert again.status_code == 409 and again.json()["code"] == "client_merged"
    assert twin.appointments.count() == 0


def test_front_desk_and_providers_may_not_merge(
    clinic: Clinic, twin: Client, api_as: Callable[[User], HttpClient]
) -> None:
    for role in (Role.FRONT_DESK, Role.PROVIDER, Role.BILLING):
        caller = api_as(clinic.users[role])
        url = f"/api/v1/clients/{clinic.client.pk}/merge"
        assert send(caller, "POST", url, {"merge": twin.pk}).status_code == 403
    assert Client.objects.get(pk=twin.pk).is_active


def test_a_merged_record_cannot_be_booked(clinic: Clinic) -> None:
    keep, merge = (
        ClientFactory(organization=clinic.organization),
        ClientFactory(organization=clinic.organization),
    )
    merge_clients(organization=clinic.organization, actor=None, keep=keep, merge=merge)
    merge.refresh_from_db()
    with pytest.raises(Conflict):
        clinic.book(10, client=merge)
    assert not Appointment.objects.filter(client=merge).exists()
