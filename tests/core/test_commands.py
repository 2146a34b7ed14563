"""The `medspa` command's own subcommands: tokens and the worker."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.core.models import IdempotencyRecord
from tests.conftest import Clinic
from tests.factories import OrganizationFactory


def test_token_create_prints_a_working_token_on_its_last_line(clinic: Clinic) -> None:
    out = StringIO()
    call_command(
        "token", "create", email=clinic.users["manager"].email, stdout=out, stderr=StringIO()
    )

    token = out.getvalue().strip().splitlines()[-1]
    response = HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/locations")
    assert response.status_code == 200
    assert response.json()["items"][0]["id"] == clinic.location.pk


def test_token_create_for_an_unknown_email_fails_clearly(db: None) -> None:
    with pytest.raises(CommandError, match="No active staff user"):
        call_command("token", "create", email="nobody@example.com")


@pytest.mark.django_db(transaction=True)  # the worker closes connections between polls
def test_the_worker_forgets_old_idempotency_keys() -> None:
    organization = OrganizationFactory()
    old = IdempotencyRecord.objects.create(
        organization=organization, key="old", scope="s", request_digest="x"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    IdempotencyRecord.objects.create(
        organization=organization, key="new", scope="s", request_digest="y"
    )

    call_command("worker", "--once", stdout=StringIO())

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_one_failing_periodic_job_does_not_stop_the_others(db: None) -> None:
    from medspa.core.housekeeping import (
        periodic_jobs,
        register_periodic_job,
        unregister_periodic_job,
    )
    from medspa.core.management.commands.worker import run_periodic_jobs

    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the card processor's certificate expired")

    register_periodic_job(broken, name="test.broken")
    register_periodic_job(lambda: ran.append("after"), name="test.after")
    try:
        failed = run_periodic_jobs()
    finally:
        unregister_periodic_job("test.broken")
        unregister_periodic_job("test.after")

    assert failed == ["test.broken"] and ran == ["after"]
    names = [name for name, _ in periodic_jobs()]
    # Core's own upkeep, and what apps added from their ready(): billing's instalments.
    assert names[0] == "core.purge_idempotency_records"
    assert "billing.charge_due_instalments" in names
