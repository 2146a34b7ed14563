"""Client pages: search, the record, its forms, medical data for clinicians only, scoping."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from medspa.clients.models import Client, ClientTag, CommunicationConsent, MedicalHistory
from medspa.clients.services import (
    merge_clients,
    record_communication_consent,
    record_medical_history,
)
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.models import Appointment
from tests.conftest import Clinic
from tests.factories import ClientFactory

ALLERGY = "Lidocaine-zz41"


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def with_allergy(clinic: Clinic, client: Client) -> MedicalHistory:
    return record_medical_history(
        organization=clinic.organization,
        actor=clinic.users[Role.PROVIDER],
        client=client,
        allergies=[ALLERGY],
        medical_flags=["blood_thinners"],
    )


def viewed(client: Client) -> int:
    return AuditEvent.objects.filter(
        action="client.medical_viewed", object_id=str(client.pk)
    ).count()


def details_form(client: Client, **changes: str) -> dict[str, str]:
    form = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "phone": client.phone,
        "email": client.email,
        "country": client.country,
        "preferred_channel": client.preferred_channel,
    }
    return {**form, **changes}


# The list.


@pytest.mark.parametrize(
    "query", ["Marguerite", "duvall", "617 555 0199", "marguerite.d@", "Marg Duv"]
)
def test_search_finds_by_name_phone_or_email_but_never_another_organization(
    clinic: Clinic, outsider: Clinic, query: str
) -> None:
    mine = ClientFactory(
        organization=clinic.organization,
        first_name="Marguerite",
        last_name="Duvall",
        phone="+16175550199",
        email="marguerite.d@example.com",
    )
    theirs = ClientFactory(
        organization=outsider.organization,
        first_name="Marguerite",
        last_name="Duvall",
        phone="+16175550199",
        email="marguerite.d@example.com",
    )
    response = signed_in(clinic).get("/clients/", {"q": query})
    assert response.status_code == 200
    assert [c.pk for c in response.context["clients"]] == [mine.pk]
    assert f"/clients/{theirs.pk}/" not in response.content.decode()


def test_htmx_search_answers_only_the_results(clinic: Clinic) -> None:
    ClientFactory(organization=clinic.organization, first_name="Odile")
    response = signed_in(clinic).get("/clients/", {"q": "odile"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Odile" in html
    assert "<html" not in html


def test_empty_search_lists_newest_first_and_tag_filters(clinic: Clinic) -> None:
    older = ClientFactory(organization=clinic.organization)
    newer = ClientFactory(organization=clinic.organization)
    ClientTag.objects.create(organization=clinic.organization, client=older, slug="vip")
    browser = signed_in(clinic)
    listed = [c.pk for c in browser.get("/clients/").context["clients"]]
    assert listed.index(newer.pk) < listed.index(older.pk)
    tagged = browser.get("/clients/", {"tag": "vip"}).context["clients"]
    assert [c.pk for c in tagged] == [older.pk]


def test_list_shows_next_visit_and_takes_constant_queries(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    clinic.book(10)
    browser.get("/clients/")  # the first request of a session loads it; count the next ones
    with CaptureQueriesContext(connection) as few:
        browser.get("/clients/")
    for hour in range(11, 17):
        appointment = clinic.book(hour)
        ClientTag.objects.create(
            organization=clinic.organization, client=appointment.client, slug=f"t{hour}"
        )
    with CaptureQueriesContext(connection) as many:
        response = browser.get("/clients/")
    assert len(many) == len(few)
    assert sum(1 for c in response.context["clients"] if c.next_local) == 7


# The record.


def test_record_shows_details_and_appointments_in_the_location_zone(clinic: Clinic) -> None:
    appointment = clinic.book(10, 30)
    client = appointment.client
    response = signed_in(clinic).get(f"/clients/{client.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert client.full_name in html and client.email in html
    assert "10:30\u201311:00" in html and "Neurotoxin" in html and "Lumen Dr. Ada" in html
    assert f"date={clinic.day().isoformat()}" in html


def test_record_takes_constant_queries_with_few_or_many_appointments(clinic: Clinic) -> None:
    client = clinic.book(9).client
    browser = signed_in(clinic, Role.PROVIDER)
    browser.get(f"/clients/{client.pk}/")
    with CaptureQueriesContext(connection) as few:
        browser.get(f"/clients/{client.pk}/")
    for hour in range(10, 17):
        clinic.book(hour, client=client)
    with CaptureQueriesContext(connection) as many:
        response = browser.get(f"/clients/{client.pk}/")
    assert len(response.context["upcoming"]) == 8
    assert len(many) == len(few)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_non_clinical_roles_never_see_nor_load_medical_history(clinic: Clinic, role: str) -> None:
    with_allergy(clinic, clinic.client)
    response = signed_in(clinic, role).get(f"/clients/{clinic.client.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert ALLERGY not in html and "blood thinners" not in html
    assert viewed(clinic.client) == 0


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_non_clinical_roles_cannot_record_medical_history(clinic: Clinic, role: str) -> None:
    response = signed_in(clinic, role).post(
        f"/clients/{clinic.client.pk}/medical", {"allergies": "Latex"}
    )
    assert response.status_code == 404
    assert not MedicalHistory.objects.filter(client=clinic.client).exists()


def test_provider_sees_medical_history_and_the_read_is_audited_once(clinic: Clinic) -> None:
    with_allergy(clinic, clinic.client)
    response = signed_in(clinic, Role.PROVIDER).get(f"/clients/{clinic.client.pk}/")
    html = response.content.decode()
    assert ALLERGY in html and "Takes blood thinners" in html
    assert viewed(clinic.client) == 1


def test_merged_record_points_to_the_record_it_was_merged_into(clinic: Clinic) -> None:
    duplicate = ClientFactory(organization=clinic.organization)
    merge_clients(organization=clinic.organization, actor=None, keep=clinic.client, merge=duplicate)
    html = signed_in(clinic).get(f"/clients/{duplicate.pk}/").content.decode()
    assert "merged into" in html and f"/clients/{clinic.client.pk}/" in html
    assert "Edit details" not in html


# The forms.


def test_edit_details_saves_and_redirects(clinic: Clinic) -> None:
    client = clinic.client
    form = details_form(client, preferred_name="Mags", tags="VIP, bride 2026")
    response = signed_in(clinic).post(f"/clients/{client.pk}/details", form)
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.preferred_name == "Mags"
    assert client.tags == ["bride-2026", "vip"]


def test_edit_details_with_bad_input_shows_the_message_and_changes_nothing(
    clinic: Clinic,
) -> None:
    client = clinic.client
    before = (client.first_name, client.phone, client.email)
    form = details_form(client, first_name="Renamed", phone="12", email="not-an-address")
    response = signed_in(clinic).post(f"/clients/{client.pk}/details", form)
    html = response.content.decode()
    assert response.status_code == 422
    assert "not a valid phone number" in html
    assert 'aria-describedby="d-phone-error"' in html
    client.refresh_from_db()
    assert (client.first_name, client.phone, client.email) == before


def test_htmx_edit_swaps_only_the_details_section(clinic: Clinic) -> None:
    response = signed_in(clinic).post(
        f"/clients/{clinic.client.pk}/details",
        details_form(clinic.client, birth_date="1990-02-31"),
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<section class="card" id="client-details"')
    assert "Give the birth date as a date" in html


def test_billing_may_not_edit(clinic: Clinic) -> None:
    form = details_form(clinic.client, first_name="Changed")
    response = signed_in(clinic, Role.BILLING).post(f"/clients/{clinic.client.pk}/details", form)
    assert response.status_code == 404
    clinic.client.refresh_from_db()
    assert clinic.client.first_name != "Changed"


def test_recording_a_consent_shows_the_new_state(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    url = f"/clients/{clinic.client.pk}/consents"
    form = {"channel": "sms", "purpose": "marketing", "granted": "yes", "source": "front desk"}
    response = browser.post(url, form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Consent recorded." in response.content.decode()
    consent = CommunicationConsent.objects.get(client=clinic.client)
    assert (consent.channel, consent.purpose, consent.granted) == ("sms", "marketing", True)


def test_consent_without_a_decision_shows_the_message_and_records_nothing(
    clinic: Clinic,
) -> None:
    url = f"/clients/{clinic.client.pk}/consents"
    response = signed_in(clinic).post(url, {"channel": "sms", "purpose": "marketing"})
    assert response.status_code == 422
    assert "Choose whether the client agrees or refuses." in response.content.decode()
    assert not CommunicationConsent.objects.filter(client=clinic.client).exists()


def test_provider_records_a_medical_version(clinic: Clinic) -> None:
    url = f"/clients/{clinic.client.pk}/medical"
    form = {"allergies": "Latex\n\nPenicillin", "medical_flags": ["keloids"], "notes": "ok"}
    response = signed_in(clinic, Role.PROVIDER).post(url, form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "History of keloid scarring" in response.content.decode()
    history = MedicalHistory.objects.get(client=clinic.client)
    assert history.allergies == ["Latex", "Penicillin"]
    assert history.medical_flags == ["keloids"]


def test_unknown_medical_flag_shows_the_message_and_records_nothing(clinic: Clinic) -> None:
    url = f"/clients/{clinic.client.pk}/medical"
    form = {"allergies": "Latex", "medical_flags": ["made_up"]}
    response = signed_in(clinic, Role.PROVIDER).post(url, form)
    assert response.status_code == 422
    assert "Unknown flag" in response.content.decode()
    assert not MedicalHistory.objects.filter(client=clinic.client).exists()


# Scoping.


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("post", "details"), ("post", "consents"), ("post", "medical")],
)
def test_another_organizations_client_answers_404(
    clinic: Clinic, outsider: Clinic, method: str, suffix: str
) -> None:
    browser = signed_in(clinic, Role.MANAGER)
    url = f"/clients/{outsider.client.pk}/{suffix}"
    response = getattr(browser, method)(url, {"first_name": "X", "channel": "sms"})
    assert response.status_code == 404
    outsider.client.refresh_from_db()
    assert outsider.client.first_name != "X"
    assert not CommunicationConsent.objects.filter(client=outsider.client).exists()


# A new client, with the duplicate warning.


def new_client_form(**changes: str) -> dict[str, str]:
    return {
        "first_name": "Ines",
        "last_name": "Moreau",
        "phone": "617 555 0142",
        "email": "ines.moreau@example.com",
        "birth_date": "1988-05-02",
        **changes,
    }


def test_a_new_client_is_registered_and_lands_on_the_record(clinic: Clinic) -> None:
    browser = signed_in(clinic)
    assert "New client" in browser.get("/clients/").content.decode()
    response = browser.post("/clients/register", new_client_form())
    created = Client.objects.get(organization=clinic.organization, last_name="Moreau")
    assert response.status_code == 302 and response["Location"] == f"/clients/{created.pk}/"
    assert created.phone == "+16175550142"
    assert AuditEvent.objects.filter(action="client.created", object_id=str(created.pk)).exists()


@pytest.mark.parametrize(
    ("same", "why"),
    [
        ({"phone": "+16175550142"}, "same phone"),
        ({"email": "INES.MOREAU@example.com"}, "same e-mail"),
        ({"first_name": "INES", "last_name": "moreau", "birth_date": "1988-05-02"}, "same name"),
    ],
)
def test_a_likely_duplicate_is_shown_before_anything_is_created(
    clinic: Clinic, outsider: Clinic, same: dict[str, str], why: str
) -> None:
    kwargs: dict[str, object] = {
        "first_name": "Other",
        "last_name": "Person",
        "phone": "",
        "email": "",
    }
    kwargs.update({k: (v if k != "birth_date" else date.fromisoformat(v)) for k, v in same.items()})
    existing = ClientFactory(organization=clinic.organization, **kwargs)
    ClientFactory(
        organization=outsider.organization, phone="+16175550142", email="ines.moreau@example.com"
    )
    before = Client.objects.count()
    browser = signed_in(clinic)

    warned = browser.post("/clients/register", new_client_form())

    html = warned.content.decode()
    assert warned.status_code == 200 and "may already be registered" in html
    assert f'href="/clients/{existing.pk}/"' in html and why in html
    assert [d.client.pk for d in warned.context["duplicates"]] == [existing.pk]
    assert Client.objects.count() == before
    anyway = browser.post("/clients/register", {**new_client_form(), "confirm_duplicate": "1"})
    assert anyway.status_code == 302
    assert Client.objects.count() == before + 1


def test_a_new_client_without_a_way_to_reach_them_is_told_and_not_created(clinic: Clinic) -> None:
    before = Client.objects.count()
    response = signed_in(clinic).post("/clients/register", new_client_form(phone="", email=""))
    assert response.status_code == 422
    assert 'id="n-phone-error"' in response.content.decode()
    assert Client.objects.count() == before


def test_billing_may_not_register_clients(clinic: Clinic) -> None:
    browser = signed_in(clinic, Role.BILLING)
    assert browser.get("/clients/register").status_code == 404
    assert "New client" not in browser.get("/clients/").content.decode()


# Merging a duplicate into the record.


def duplicate_pair(clinic: Clinic) -> tuple[Client, Client]:
    keep = ClientFactory(organization=clinic.organization, first_name="Ana", last_name="Silva")
    dup = ClientFactory(
        organization=clinic.organization, first_name="Ana", last_name="Silva", phone=keep.phone
    )
    clinic.book(10, client=dup)
    clinic.book(11, client=dup)
    record_communication_consent(
        organization=clinic.organization,
        actor=None,
        client=dup,
        channel="sms",
        purpose="marketing",
        granted=True,
    )
    with_allergy(clinic, dup)
    return keep, dup


def test_a_manager_picks_the_duplicate_sees_what_moves_and_confirms(clinic: Clinic) -> None:
    keep, dup = duplicate_pair(clinic)
    browser = signed_in(clinic, Role.MANAGER)
    record = browser.get(f"/clients/{keep.pk}/").content.decode()
    assert f'href="/clients/{keep.pk}/merge"' in record

    pick = browser.get(f"/clients/{keep.pk}/merge")
    assert [d.client.pk for d in pick.context["suggested"]] == [dup.pk]
    searched = browser.get(f"/clients/{keep.pk}/merge", {"q": "Silva"})
    assert [c.pk for c in searched.context["found"]] == [dup.pk]
    preview = browser.get(f"/clients/{keep.pk}/merge", {"merge": dup.pk})
    moving = {m.label: m.count for m in preview.context["moving"]}
    assert moving["appointments"] == 2 and moving["medical history"] >= 1
    assert any("consent" in label for label in moving)
    assert Appointment.objects.filter(client=dup).count() == 2  # nothing moved yet

    done = browser.post(
        f"/clients/{keep.pk}/merge/confirm", {"merge": dup.pk, "confirmed": "yes"}, follow=True
    )

    assert done.redirect_chain[-1][0] == f"/clients/{keep.pk}/"
    assert "was merged into this record (2 appointments" in done.content.decode()
    dup.refresh_from_db()
    assert not dup.is_active and dup.merged_into_id == keep.pk
    assert Appointment.objects.filter(client=keep).count() == 2
    assert MedicalHistory.objects.filter(client=keep).count() == 1


def test_merging_needs_the_confirmation_and_changes_nothing_without_it(clinic: Clinic) -> None:
    keep, dup = duplicate_pair(clinic)
    response = signed_in(clinic, Role.OWNER).post(
        f"/clients/{keep.pk}/merge/confirm", {"merge": dup.pk}
    )
    assert response.status_code == 422
    assert "Tick the box" in response.content.decode()
    dup.refresh_from_db()
    assert dup.is_active


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PROVIDER, Role.BILLING])
def test_only_managers_merge(clinic: Clinic, role: str) -> None:
    keep, dup = duplicate_pair(clinic)
    browser = signed_in(clinic, role)
    assert "Merge a duplicate" not in browser.get(f"/clients/{keep.pk}/").content.decode()
    assert browser.get(f"/clients/{keep.pk}/merge").status_code == 404
    url = f"/clients/{keep.pk}/merge/confirm"
    assert browser.post(url, {"merge": dup.pk, "confirmed": "yes"}).status_code == 404
    dup.refresh_from_db()
    assert dup.is_active


def test_another_organizations_client_cannot_be_merged_either_way(
    clinic: Clinic, outsider: Clinic
) -> None:
    browser = signed_in(clinic, Role.MANAGER)
    mine, theirs = clinic.client, outsider.client
    assert browser.get(f"/clients/{mine.pk}/merge", {"merge": theirs.pk}).status_code == 404
    assert browser.get(f"/clients/{theirs.pk}/merge").status_code == 404
    answer = browser.post(
        f"/clients/{mine.pk}/merge/confirm", {"merge": theirs.pk, "confirmed": "yes"}
    )
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


# Earlier medical versions and the history of contact decisions.


def test_clinicians_see_earlier_medical_versions_and_the_look_is_audited(clinic: Clinic) -> None:
    first = with_allergy(clinic, clinic.client)
    record_medical_history(
        organization=clinic.organization,
        actor=clinic.users[Role.PROVIDER],
        client=clinic.client,
        allergies=["Latex"],
    )
    browser = signed_in(clinic, Role.PROVIDER)
    assert (
        "Show earlier versions (1)" in browser.get(f"/clients/{clinic.client.pk}/").content.decode()
    )

    response = browser.get(f"/clients/{clinic.client.pk}/medical/versions", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert ALLERGY in html and "Latex" not in html
    event = AuditEvent.objects.get(action="client.medical_versions_viewed")
    assert event.data == {"versions": [first.pk], "via": "web"}
    assert ALLERGY not in str(event.data)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_earlier_medical_versions_are_not_for_the_desk_or_billing(
    clinic: Clinic, role: str
) -> None:
    with_allergy(clinic, clinic.client)
    browser = signed_in(clinic, role)
    assert browser.get(f"/clients/{clinic.client.pk}/medical/versions").status_code == 404
    assert not AuditEvent.objects.filter(action="client.medical_versions_viewed").exists()


def test_earlier_versions_of_another_organizations_client_answer_404(
    clinic: Clinic, outsider: Clinic
) -> None:
    with_allergy(outsider, outsider.client)
    browser = signed_in(clinic, Role.MANAGER)
    assert browser.get(f"/clients/{outsider.client.pk}/medical/versions").status_code == 404


def test_the_record_shows_every_contact_decision_newest_first(clinic: Clinic) -> None:
    for granted in (True, False):
        record_communication_consent(
            organization=clinic.organization,
            actor=clinic.users[Role.FRONT_DESK],
            client=clinic.client,
            channel="email",
            purpose="marketing",
            granted=granted,
            source="phone call",
        )
    response = signed_in(clinic, Role.BILLING).get(f"/clients/{clinic.client.pk}/")
    decisions = response.context["decisions"]
    assert [d.granted for d in decisions] == [False, True]
    html = response.content.decode()
    assert "History of decisions (2)" in html and "phone call" in html
