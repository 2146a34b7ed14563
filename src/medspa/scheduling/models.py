"""Resources, their hours and exceptions, appointments and the reservations they hold."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.core.models import Location, Organization


class ResourceKind(models.TextChoices):
    PROVIDER = "provider", "Provider"
    ROOM = "room", "Room"
    DEVICE = "device", "Device"


class Resource(models.Model):
    """Anything that can be booked: a provider, a room or a device."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="resources"
    )
    kind = models.CharField(max_length=10, choices=ResourceKind.choices)
    name = models.CharField(max_length=200)
    # Rooms and devices live at one location; providers work wherever their hours say.
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="resources", null=True, blank=True
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_resource",
    )
    # Provider skills and certifications, the room's type, the device's type: slugs.
    capabilities = models.JSONField(default=list, blank=True)
    title = models.CharField(max_length=100, blank=True, help_text="e.g. RN, NP, Laser tech")
    color = models.CharField(max_length=7, default="#6c8ebf")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "name"], name="resource_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """A weekly rule: this resource works at this location on this weekday, in local time."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
    )
    start_time = models.TimeField()
    end_time = models.TimeField()
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["resource_id", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="hours_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.get_weekday_display()} {self.start_time}-{self.end_time}"


class BlockReason(models.TextChoices):
    TIME_OFF = "time_off", "Time off"
    HOLIDAY = "holiday", "Holiday"
    MAINTENANCE = "maintenance", "Device maintenance"
    TRAINING = "training", "Training"
    OTHER = "other", "Other"


class ResourceBlock(models.Model):
    """A dated exception: a resource (or a whole location) is unavailable for a while."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="blocks", null=True, blank=True
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        related_name="closures",
        null=True,
        blank=True,
        help_text="Set without a resource: the whole location is closed (a holiday).",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=BlockReason.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="block_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(resource__isnull=False) | Q(location__isnull=False),
                name="block_has_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.start:%Y-%m-%d %H:%M}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    IN_TREATMENT = "in_treatment", "In treatment"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# The status machine: which moves make sense from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentStatus.BOOKED: frozenset(
        {
            AppointmentStatus.CONFIRMED,
            AppointmentStatus.CHECKED_IN,
            AppointmentStatus.CANCELLED,
            AppointmentStatus.NO_SHOW,
        }
    ),
    AppointmentStatus.CONFIRMED: frozenset(
        {AppointmentStatus.CHECKED_IN, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}
    ),
    AppointmentStatus.CHECKED_IN: frozenset(
        {AppointmentStatus.IN_TREATMENT, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.IN_TREATMENT: frozenset({AppointmentStatus.COMPLETED}),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}
# Statuses whose reservations still hold their resources.
ACTIVE_STATUSES = frozenset(
    {
        AppointmentStatus.BOOKED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.IN_TREATMENT,
        AppointmentStatus.COMPLETED,
    }
)


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> AppointmentQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def on_day(self, location: Location, start: object, end: object) -> AppointmentQuerySet:
        return self.filter(location=location, start__lt=end, end__gt=start)


class Appointment(models.Model):
    """A client's visit: one or more services back to back at one location."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="appointments"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="appointments")
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    notes = models.TextField(blank=True, help_text="For staff; not clinical notes.")
    cancel_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[AppointmentQuerySet] = AppointmentQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["organization", "location", "start"], name="appointment_day"),
            models.Index(fields=["client", "start"], name="appointment_client"),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.start:%Y-%m-%d %H:%M}"


class AppointmentService(models.Model):
    """One service within an appointment, with the provider who performs it."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    price_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ["appointment_id", "position"]

    def __str__(self) -> str:
        return f"{self.service} at {self.start:%Y-%m-%d %H:%M}"


class Reservation(models.Model):
    """One resource held for one time range by an appointment; never two active overlapping."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="reservations"
    )
    line = models.ForeignKey(AppointmentService, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="reservations")
    role = models.CharField(max_length=20)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # False once the appointment is cancelled or a no-show: the resource is free again.
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(
                fields=["resource", "start"], name="reservation_active", condition=Q(active=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="reservation_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}"
