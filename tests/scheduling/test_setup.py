"""The schedule setup kept in memory is reloaded as soon as hours, services or resources change."""

from __future__ import annotations

from datetime import time

from medspa.core.models import Organization
from medspa.scheduling.hours import add_working_hours
from medspa.scheduling.models import WorkingHours
from medspa.scheduling.selectors import Wanted, find_availability
from medspa.scheduling.setup import schedule_setup
from tests.conftest import Clinic


def offered(clinic: Clinic) -> list[int]:
    found = find_availability(
        organization=clinic.organization,
        location=clinic.location,
        wanted=[Wanted(clinic.neurotoxin)],
        start=clinic.at(0),
        end=clinic.at(23),
        now=clinic.at(0, days_ahead=0),
    )
    return [slot.start for slot in found.slots]


def test_new_evening_hours_are_offered_at_once(clinic: Clinic) -> None:
    before = offered(clinic)
    WorkingHours.objects.filter(resource__in=[clinic.injector, clinic.treatment_room]).filter(
        weekday=clinic.day().weekday()
    ).delete()
    assert offered(clinic) == []

    for resource in (clinic.injector, clinic.treatment_room):
        add_working_hours(
            organization=clinic.organization,
            actor=None,
            resource=resource,
            location=clinic.location,
            weekday=clinic.day().weekday(),
            start_time=time(17),
            end_time=time(20),
        )
    after = offered(clinic)
    assert after and min(after) > max(before)


def test_a_service_saved_anywhere_is_reloaded(clinic: Clinic) -> None:
    first = schedule_setup(clinic.organization)
    assert schedule_setup(clinic.organization) is first  # unchanged: served from memory

    segment = clinic.neurotoxin.segments.get()
    segment.duration_minutes = 60
    segment.save()

    second = schedule_setup(clinic.organization)
    assert second is not first
    assert second.plans[clinic.neurotoxin.pk].segments[0].duration == 3600


def test_a_provider_losing_a_skill_is_no_longer_offered(clinic: Clinic) -> None:
    assert offered(clinic)
    clinic.injector.capabilities = ["facial"]
    clinic.injector.save()
    assert offered(clinic) == []


def test_another_organizations_change_does_not_reload_ours(
    clinic: Clinic, outsider: Clinic
) -> None:
    ours = schedule_setup(clinic.organization)
    outsider.injector.save()
    assert schedule_setup(clinic.organization) is ours
    assert Organization.objects.get(pk=outsider.organization.pk).schedule_token != (
        outsider.organization.schedule_token
    )
