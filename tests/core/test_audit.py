"""The audit log: every write is recorded, in a hash chain that nobody can quietly edit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from medspa.core.audit import audit_context, record_event, verify_chain
from medspa.core.models import AuditEvent
from tests.conftest import Clinic


def test_events_chain_and_verify(clinic: Clinic, outsider: Clinic) -> None:
    for i in range(3):
        record_event(
            organization=clinic.organization,
            actor=clinic.users["manager"],
            action="test.done",
            object_type="thing",
            object_id=i,
        )
    record_event(
        organization=outsider.organization, actor=None, action="x", object_type="t", object_id=1
    )
    ours = list(AuditEvent.objects.filter(organization=clinic.organization))
    assert [e.prev_hash for e in ours[1:]] == [e.hash for e in ours[:-1]]
    assert verify_chain(clinic.organization) is None
    assert verify_chain(outsider.organization) is None


def test_the_request_context_tags_events_with_ip_and_channel(clinic: Clinic) -> None:
    with audit_context(ip_address="203.0.113.9", via="api"):
        event = record_event(
            organization=clinic.organization, actor=None, action="a", object_type="t", object_id=1
        )
    assert event.ip_address == "203.0.113.9"
    assert event.data["via"] == "api"


def test_an_event_cannot_be_changed_through_the_orm(clinic: Clinic) -> None:
    event = record_event(
        organization=clinic.organization, actor=None, action="a", object_type="t", object_id=1
    )
    event.action = "forged"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


def test_the_database_refuses_to_rewrite_an_event(clinic: Clinic) -> None:
    record_event(
        organization=clinic.organization, actor=None, action="a", object_type="t", object_id=1
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(organization=clinic.organization).update(action="forged")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(organization=clinic.organization).delete()


def test_a_removed_event_breaks_the_chain(clinic: Clinic) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses the delete itself (test above)")
    for i in range(3):
        record_event(
            organization=clinic.organization, actor=None, action="a", object_type="t", object_id=i
        )
    middle = AuditEvent.objects.filter(organization=clinic.organization).order_by("id")[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [middle.pk])
    assert verify_chain(clinic.organization) is not None


def test_removing_the_newest_events_breaks_the_chain(clinic: Clinic) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses the delete itself")
    for i in range(3):
        record_event(
            organization=clinic.organization, actor=None, action="a", object_type="t", object_id=i
        )
    newest = AuditEvent.objects.filter(organization=clinic.organization).order_by("-id")[0]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [newest.pk])
    assert verify_chain(clinic.organization) is not None
