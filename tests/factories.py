"""Factories for tests: a small clinic built in a few lines."""

from __future__ import annotations

from datetime import time

import factory
from factory.django import DjangoModelFactory

from medspa.catalog.models import Service, ServiceSegment
from medspa.clients.models import Client
from medspa.core.models import Location, Organization, Role, User
from medspa.scheduling.models import Resource, ResourceKind, WorkingHours
from medspa.scheduling.setup import touch_schedule


class OrganizationFactory(DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class LocationFactory(DjangoModelFactory[Location]):
    class Meta:
        model = Location

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    time_zone = "America/New_York"
    slot_granularity_minutes = 15
    booking_lead_minutes = 0


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Staff {n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.FRONT_DESK
    password = factory.PostGenerationMethodCall("set_password", "secret")

    @factory.post_generation
    def _saved(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class ClientFactory(DjangoModelFactory[Client]):
    class Meta:
        model = Client

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Sequence(lambda n: f"Client{n}")
    last_name = "Rivera"
    phone = factory.Sequence(lambda n: f"+1617555{n % 10000:04d}")
    email = factory.Sequence(lambda n: f"client{n}@example.com")


class ResourceFactory(DjangoModelFactory[Resource]):
    class Meta:
        model = Resource

    organization = factory.SubFactory(OrganizationFactory)
    kind = ResourceKind.PROVIDER
    name = factory.Sequence(lambda n: f"Resource {n}")
    capabilities: list[str] = []


class ServiceFactory(DjangoModelFactory[Service]):
    class Meta:
        model = Service

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    price_cents = 10000


def add_segments(service: Service, *segments: tuple[str, int, str]) -> Service:
    """Segments as (name, minutes, holds) where holds is a string of p/r/d letters."""
    for position, (name, minutes, holds) in enumerate(segments):
        ServiceSegment.objects.create(
            service=service,
            position=position,
            name=name,
            duration_minutes=minutes,
            holds_provider="p" in holds,
            holds_room="r" in holds,
            holds_device="d" in holds,
        )
    return service


def open_every_day(resource: Resource, location: Location, start: int = 9, end: int = 17) -> None:
    """Weekly hours on all seven days, start:00 to end:00 local time."""
    WorkingHours.objects.bulk_create(
        WorkingHours(
            organization=resource.organization,
            resource=resource,
            location=location,
            weekday=day,
            start_time=time(start),
            end_time=time(end),
        )
        for day in range(7)
    )
    touch_schedule(resource.organization_id)  # bulk_create sends no signals
