"""The demo on an empty database: the same seed gives the same clinic; the command's rules."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q

from medspa.core.models import Organization
from medspa.demo import DEMO_SLUG, DemoError, DemoSummary, build_demo
from medspa.scheduling.models import Appointment
from tests.test_demo import NOW, fingerprint


def build(seed: int = 1, *, reset: bool = False) -> DemoSummary:
    # One week either side: enough to compare two seeds, and a third of the cost.
    return build_demo(seed=seed, reset=reset, now=NOW, weeks_past=1, weeks_future=1)


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_clinic_and_another_seed_another() -> None:
    build(1)
    first = fingerprint()
    build(1, reset=True)
    assert fingerprint() == first
    build(2, reset=True)
    second = fingerprint()
    assert second != first
    assert {row[:3] for row in second} != {row[:3] for row in first}


@pytest.mark.django_db
def test_the_command_builds_once_and_reset_refuses_other_data() -> None:
    out = StringIO()
    call_command("demo", seed=3, weeks_past=1, weeks_future=1, stdout=out)
    assert "Built the demo clinic" in out.getvalue()
    assert "frontdesk@demo.medspa.example" in out.getvalue()
    count = Appointment.objects.count()

    out = StringIO()
    call_command("demo", seed=4, stdout=out)
    assert "already loaded" in out.getvalue()
    assert Appointment.objects.count() == count
    with pytest.raises(DemoError):
        build_demo(seed=4, now=NOW)

    Organization.objects.create(name="Another clinic", slug="another")
    with pytest.raises(CommandError, match="other organizations"):
        call_command("demo", seed=4, reset=True, stdout=StringIO())
    assert Appointment.objects.count() == count
    assert Organization.objects.filter(Q(slug=DEMO_SLUG) | Q(slug="another")).count() == 2
