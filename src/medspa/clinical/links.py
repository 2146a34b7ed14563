"""Signed, expiring links that let a client reach their visit's forms without an account.

A link names one appointment and the time it was made; it is signed with the secret key
(`django.core.signing`), so it cannot be forged. It works until a day after the visit as it
stands when the link is used (a rescheduled visit keeps its link), and never longer than
LONGEST after it was made. Nothing is stored: a new link is simply a new signature, and a
link dies with its appointment's cancellation. It lives in clinical (not the portal above)
so the messages that carry it can be written here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from medspa.core.errors import DomainError
from medspa.scheduling.models import Appointment, AppointmentStatus

SALT = "medspa.portal.visit"
# A link works until a day after the visit ends, and never longer than this after it was made.
AFTER_VISIT = timedelta(days=1)
# The booking horizon is 180 days: a link sent at booking still works on the day.
LONGEST = timedelta(days=200)
DEAD_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW})


class LinkRefused(DomainError):
    """A link that is tampered with, expired or for a visit that is no more (410 / 404)."""

    def __init__(self, detail: str, code: str, status: int = 410) -> None:
        super().__init__(detail=detail, status=status, code=code, title="This link cannot be used")


def link_expiry(appointment: Appointment, issued: datetime | None = None) -> datetime:
    """When a link made at `issued` to the appointment, as it now stands, stops working."""
    issued = issued or timezone.now()
    return min(appointment.end + AFTER_VISIT, issued + LONGEST)


def visit_token(appointment: Appointment, *, now: datetime | None = None) -> str:
    """The signed token of a link to this appointment's forms, made `now`."""
    issued = now or timezone.now()
    payload = {"a": appointment.pk, "o": appointment.organization_id, "i": int(issued.timestamp())}
    return signing.dumps(payload, salt=SALT, compress=True)


def visit_path(appointment: Appointment, *, now: datetime | None = None) -> str:
    return reverse("portal:visit", args=[visit_token(appointment, now=now)])


def visit_url(appointment: Appointment, *, now: datetime | None = None) -> str:
    """The absolute link to send to a client (MEDSPA_BASE_URL + path)."""
    return settings.MEDSPA_BASE_URL.rstrip("/") + visit_path(appointment, now=now)


def appointment_for_token(token: str, *, now: datetime | None = None) -> Appointment:
    """The appointment a link names; LinkRefused, with a message for the client, otherwise."""
    now = now or timezone.now()
    try:
        payload = signing.loads(token, salt=SALT)
        appointment_id, organization_id = int(payload["a"]), int(payload["o"])
        issued = datetime.fromtimestamp(int(payload["i"]), tz=UTC)
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError):
        raise LinkRefused(
            "This link is not valid. Please use the whole link from the clinic's message, "
            "or ask the clinic to send a new one.",
            code="link_invalid",
            status=404,
        ) from None
    appointment = (
        Appointment.objects.select_related("organization", "location", "client")
        .filter(pk=appointment_id, organization_id=organization_id)
        .first()
    )
    if appointment is None or appointment.status in DEAD_STATUSES:
        raise LinkRefused(
            "This visit is no longer booked, so its forms are closed. Please contact the clinic.",
            code="visit_closed",
        )
    if now > link_expiry(appointment, issued):
        raise LinkRefused(
            "This link has expired. Please ask the clinic to send you a new one.",
            code="link_expired",
        )
    return appointment
