"""Consent to be contacted: defaults, a new row per decision, the latest one counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.clients.models import CommunicationConsent
from medspa.clients.selectors import current_consents, may_contact
from medspa.clients.services import record_communication_consent
from medspa.core.errors import Conflict
from medspa.core.models import Role, User
from tests.clients.helpers import actions, send
from tests.conftest import Clinic
from tests.factories import ClientFactory


def state(client: Any) -> dict[tuple[str, str], tuple[bool, str]]:
    return {(s.channel, s.purpose): (s.granted, s.source) for s in current_consents(client)}


def test_defaults_assume_transactional_on_given_channels_and_never_marketing(
    clinic: Clinic,
) -> None:
    email_only = ClientFactory(organization=clinic.organization, phone="")
    assert state(email_only) == {
        ("sms", "transactional"): (False, "default"),
        ("sms", "marketing"): (False, "default"),
        ("email", "transactional"): (True, "default"),
        ("email", "marketing"): (False, "default"),
        ("phone", "transactional"): (False, "default"),
        ("phone", "marketing"): (False, "default"),
    }


def test_each_decision_is_a_new_row_and_the_latest_counts(clinic: Clinic) -> None:
    client, now = clinic.client, timezone.now()
    for minutes, granted, source in [(0, True, "portal"), (5, False, "front desk")]:
        record_communication_consent(
            organization=clinic.organization,
            actor=clinic.users[Role.FRONT_DESK],
            client=client,
            channel="sms",
            purpose="marketing",
            granted=granted,
            source=source,
            now=now + timedelta(minutes=minutes),
        )
    assert CommunicationConsent.objects.filter(client=client).count() == 2
    assert state(client)[("sms", "marketing")] == (False, "front desk")
    assert not may_contact(client, "sms", "marketing")
    assert may_contact(client, "sms", "transactional")
    assert actions(client.pk).count("client.consent_recorded") == 2


def test_the_api_records_and_lists_consents(clinic: Clinic, desk: HttpClient) -> None:
    url = f"/api/v1/clients/{clinic.client.pk}/consents"
    body = {"channel": "email", "purpose": "marketing", "granted": True, "source": "portal"}
    response = send(desk, "POST", url, body)
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == clinic.users[Role.FRONT_DESK].pk
    got = send(desk, "GET", url).json()
    assert len(got["history"]) == 1 and len(got["current"]) == 6
    email_marketing = next(
        s for s in got["current"] if (s["channel"], s["purpose"]) == ("email", "marketing")
    )
    assert email_marketing["granted"] is True and email_marketing["source"] == "portal"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax", "purpose": "marketing", "granted": True}, "channel"),
        ({"channel": "sms", "purpose": "spam", "granted": True}, "purpose"),
        ({"channel": "sms", "purpose": "marketing"}, "granted"),
        ({"channel": "sms", "purpose": "marketing", "granted": True, "source": " "}, "source"),
    ],
)
def test_bad_consent_input_answers_422_and_records_nothing(
    clinic: Clinic, desk: HttpClient, body: dict[str, Any], field: str
) -> None:
    response = send(desk, "POST", f"/api/v1/clients/{clinic.client.pk}/consents", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert not CommunicationConsent.objects.exists()
    assert "client.consent_recorded" not in actions(clinic.client.pk)


def test_billing_may_not_record_consent(
    clinic: Clinic, api_as: Callable[[User], HttpClient]
) -> None:
    body = {"channel": "sms", "purpose": "marketing", "granted": True}
    billing = api_as(clinic.users[Role.BILLING])
    response = send(billing, "POST", f"/api/v1/clients/{clinic.client.pk}/consents", body)
    assert response.status_code == 403
    assert not CommunicationConsent.objects.exists()


def test_a_merged_client_takes_no_new_consent(clinic: Clinic) -> None:
    merged = ClientFactory(
        organization=clinic.organization, is_active=False, merged_into=clinic.client
    )
    with pytest.raises(Conflict):
        record_communication_consent(
            organization=clinic.organization,
            actor=None,
            client=merged,
            channel="sms",
            purpose="marketing",
            granted=True,
        )
