"""Shared fixtures: a small clinic, an outsider clinic, and API clients per role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.core.models import Location, Organization, Role, User
from medspa.core.tokens import create_api_token
from medspa.scheduling.models import Appointment, Resource, ResourceKind
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment
from tests.factories import (
    ClientFactory,
    LocationFactory,
    OrganizationFactory,
    ResourceFactory,
    ServiceFactory,
    UserFactory,
    add_segments,
    open_every_day,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Every clinic has a user per role; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class Clinic:
    """One organization with a location, two providers, two rooms, a laser and services."""

    organization: Organization
    location: Location
    injector: Resource
    laser_tech: Resource
    treatment_room: Resource
    laser_suite: Resource
    laser: Resource
    neurotoxin: Service
    laser_hair: Service
    facial: Service
    client: Client
    users: dict[str, User] = field(default_factory=dict)

    def day(self, days_ahead: int = 2) -> date:
        """A local date safely in the future."""
        return (datetime.now(tz=self.location.zone) + timedelta(days=days_ahead)).date()

    def at(self, hour: int, minute: int = 0, days_ahead: int = 2) -> datetime:
        """An aware local datetime on a future day."""
        return datetime.combine(self.day(days_ahead), time(hour, minute), tzinfo=self.location.zone)

    def book(
        self,
        hour: int,
        minute: int = 0,
        *,
        wanted: list[Wanted] | None = None,
        client: Client | None = None,
        notes: str = "",
        actor: User | None = None,
    ) -> Appointment:
        """Book through the booking service on the usual future day (a new client by default)."""
        return book_appointment(
            organization=self.organization,
            actor=actor,
            client=client or ClientFactory(organization=self.organization),
            location=self.location,
            start=self.at(hour, minute),
            wanted=wanted or [Wanted(self.neurotoxin)],
            notes=notes,
        )


def build_clinic(name: str = "Lumen") -> Clinic:
    org = OrganizationFactory(name=name)
    location = LocationFactory(organization=org, name=f"{name} Back Bay")
    injector = ResourceFactory(
        organization=org, name=f"{name} Dr. Ada", capabilities=["neurotoxin", "facial"]
    )
    laser_tech = ResourceFactory(
        organization=org, name=f"{name} Sam (laser)", capabilities=["laser_hair_removal"]
    )
    treatment_room = ResourceFactory(
        organization=org,
        kind=ResourceKind.ROOM,
        name=f"{name} Treatment 1",
        location=location,
        capabilities=["treatment_room"],
    )
    laser_suite = ResourceFactory(
        organization=org,
        kind=ResourceKind.ROOM,
        name=f"{name} Laser suite",
        location=location,
        capabilities=["laser_suite"],
    )
    laser = ResourceFactory(
        organization=org,
        kind=ResourceKind.DEVICE,
        name=f"{name} GentleMax",
        location=location,
        capabilities=["laser_alexandrite"],
    )
    for resource in (injector, laser_tech, treatment_room, laser_suite, laser):
        open_every_day(resource, location)
    neurotoxin = add_segments(
        ServiceFactory(
            organization=org,
            name="Neurotoxin",
            price_cents=45000,
            provider_capability="neurotoxin",
            room_type="treatment_room",
        ),
        ("Treatment", 30, "pr"),
    )
    laser_hair = add_segments(
        ServiceFactory(
            organization=org,
            name="Laser hair removal",
            price_cents=25000,
            provider_capability="laser_hair_removal",
            room_type="laser_suite",
            device_type="laser_alexandrite",
            buffer_before_minutes=10,
            buffer_after_minutes=10,
        ),
        ("Prep", 10, "r"),
        ("Numbing", 20, "r"),
        ("Treatment", 30, "prd"),
        ("Cleanup", 10, "r"),
    )
    facial = add_segments(
        ServiceFactory(
            organization=org,
            name="HydraFacial",
            price_cents=20000,
            provider_capability="facial",
            room_type="treatment_room",
        ),
        ("Facial", 45, "pr"),
    )
    clinic = Clinic(
        organization=org,
        location=location,
        injector=injector,
        laser_tech=laser_tech,
        treatment_room=treatment_room,
        laser_suite=laser_suite,
        laser=laser,
        neurotoxin=neurotoxin,
        laser_hair=laser_hair,
        facial=facial,
        client=ClientFactory(organization=org),
    )
    for role in Role.values:
        clinic.users[role] = UserFactory(
            organization=org, role=role, email=f"{role}@{org.slug}.example.com"
        )
    return clinic


@pytest.fixture
def clinic(db: None) -> Clinic:
    return build_clinic("Lumen")


@pytest.fixture
def outsider(db: None) -> Clinic:
    """Another organization: nothing of it may ever be visible to the clinic's staff."""
    return build_clinic("Outsider")


@pytest.fixture
def api_as() -> Callable[[User], HttpClient]:
    """An HTTP client that sends a bearer token of the given staff user."""

    def make(user: User) -> HttpClient:
        return HttpClient(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=user)}")

    return make


@pytest.fixture
def desk(clinic: Clinic, api_as: Callable[[User], HttpClient]) -> HttpClient:
    return api_as(clinic.users[Role.FRONT_DESK])


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
