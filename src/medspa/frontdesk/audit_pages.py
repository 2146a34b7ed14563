"""The audit log browser for managers: newest first, filtered, read-only.

Nothing here writes: there is no edit or delete of an event anywhere. Browsing the log is
itself not audited (every page view would add lines to what is being read); the decision
is written in docs/permissions.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.db.models import CharField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from medspa.clients.models import Client
from medspa.core.audit import verify_chain
from medspa.core.models import AuditEvent, Organization, User
from medspa.core.selectors import AuditFilter, audit_events, audit_object_types
from medspa.core.web import wall_clock
from medspa.frontdesk.views import page_staff
from medspa.scheduling.models import Appointment

PAGE_SIZE = 50

# Actions in the clinic's words; others show their code, which is still readable.
ACTION_WORDS: dict[str, str] = {
    "appointment.booked": "Booked an appointment",
    "appointment.rescheduled": "Moved an appointment",
    "appointment.notes_changed": "Changed an appointment's staff notes",
    "appointment.confirmed": "Confirmed an appointment",
    "appointment.checked_in": "Checked a client in",
    "appointment.in_treatment": "Started treatment",
    "appointment.completed": "Completed an appointment",
    "appointment.cancelled": "Cancelled an appointment",
    "appointment.no_show": "Marked a no-show",
    "appointment.gate_overridden": "Overrode the treatment gate",
    "client.created": "Registered a client",
    "client.updated": "Changed a client's details",
    "client.consent_recorded": "Recorded a contact decision",
    "client.merged": "Merged a duplicate into this client",
    "client.merged_into": "Merged this client into another",
    "client.medical_recorded": "Recorded medical history",
    "client.medical_viewed": "Viewed medical history",
    "client.medical_versions_viewed": "Viewed older medical history versions",
    "client.charts_viewed": "Viewed a client's charts",
    "intake.answers_viewed": "Viewed intake answers",
    "intake.flags_viewed": "Viewed intake review flags",
    "consent.signed": "Signed a consent",
    "consent.pdf_viewed": "Viewed a signed consent's PDF",
    "consent.signatures_viewed": "Viewed signed consents",
    "consent.status_viewed": "Viewed consent status",
    "chart.photo_viewed": "Viewed a chart photo",
    "schedule.exported": "Downloaded the schedule",
    "block.added": "Blocked time",
    "block.removed": "Removed blocked time",
    "working_hours.added": "Added working hours",
    "working_hours.removed": "Removed working hours",
    "organization.security_changed": "Changed sign-in security",
    "api_token.created": "Created an API token",
    "encryption.keys_rotated": "Rotated the encryption keys",
    "demo.loaded": "Loaded the demo clinic",
}
# Who acted when no staff member is signed in, from the request's channel.
CHANNEL_WORDS = {"web": "Client via link", "api": "API", "cli": "System", "worker": "System"}


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    at: datetime
    who: str
    what: str
    link: str  # the record's page, if one exists
    data: list[tuple[str, str]]


def _who(event: AuditEvent) -> str:
    if event.actor is not None:
        return event.actor.full_name or event.actor.email
    return CHANNEL_WORDS.get(event.actor_label, "System")


def _link(event: AuditEvent) -> str:
    if not event.object_id.isdigit():
        return ""
    if event.object_type == "client":
        return reverse("frontdesk:client", args=[int(event.object_id)])
    if event.object_type == "appointment":
        return reverse("frontdesk:appointment", args=[int(event.object_id)])
    return ""


def _value(value: Any) -> str:
    """A data value as a line people read: lists one item after another, no JSON braces."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items() if v not in (None, ""))
    return json.dumps(value, default=str)


def _row(event: AuditEvent, zone: ZoneInfo) -> Row:
    return Row(
        event=event,
        at=wall_clock(event.at, zone),
        who=_who(event),
        what=ACTION_WORDS.get(event.action, event.action),
        link=_link(event),
        data=[(str(k), _value(v)) for k, v in sorted((event.data or {}).items())],
    )


def _day(raw: str, errors: dict[str, str], name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Give a date, e.g. 2026-03-01."
        return None


def _int(raw: str, errors: dict[str, str], name: str, message: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        errors[name] = message
        return None
    return int(raw)


def _filter(
    organization: Organization, params: Any, zone: ZoneInfo
) -> tuple[AuditFilter, dict[str, str], dict[str, Any]]:
    """The query string as a filter, the messages for what could not be read, and the echo."""
    errors: dict[str, str] = {}
    given = {
        name: str(params.get(name, "")).strip()[:80]
        for name in ("from", "to", "actor", "action", "object_type", "object_id", "client")
    }
    since, until = _day(given["from"], errors, "from"), _day(given["to"], errors, "to")
    if since and until and until < since:
        errors["to"] = "The end date is before the start date."
        until = None
    actor_id = _int(given["actor"], errors, "actor", "Choose a staff member from the list.")
    client_id = _int(given["client"], errors, "client", "No such client.")
    client = (
        Client.objects.filter(organization=organization, pk=client_id).first()
        if client_id is not None
        else None
    )
    if client_id is not None and client is None:
        errors["client"] = "No such client in your organization."
    about: tuple[tuple[str, Any], ...] = ()
    if client is not None:
        appointments = (
            Appointment.objects.filter(organization=organization, client=client)
            .annotate(key=Cast("pk", output_field=CharField()))
            .values("key")
        )
        about = (("client", [str(client.pk)]), ("appointment", appointments))
    before = _int(str(params.get("before", "")), {}, "before", "")
    where = AuditFilter(
        since=datetime.combine(since, time(0), tzinfo=zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone) if until else None,
        actor_id=actor_id,
        action_prefix=given["action"],
        object_type=given["object_type"],
        object_id=given["object_id"],
        about=about,
        before_id=before,
    )
    return where, errors, {**given, "client_name": client.full_name if client else ""}


def _url(params: dict[str, Any]) -> str:
    base = reverse("frontdesk:audit_log")
    return f"{base}?{urlencode(params)}" if params else base


def _chain(organization: Organization, wanted: bool) -> dict[str, Any]:
    """The chain's verification, only when asked: it re-reads every event of the log."""
    if not wanted:
        return {"chain_checked": False}
    broken = verify_chain(organization)
    total = AuditEvent.objects.filter(organization=organization).count()
    return {"chain_checked": True, "chain_broken_at": broken, "chain_total": total}


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The organization's audit log, newest first, PAGE_SIZE at a time (keyset)."""
    who = page_staff(request, "audit.view")
    organization = who.organization
    zone = timezone.get_current_timezone()  # page_staff set the organization's
    where, errors, given = _filter(organization, request.GET, zone)
    found = list(audit_events(organization, where)[: PAGE_SIZE + 1])
    rows = [_row(event, zone) for event in found[:PAGE_SIZE]]
    echo = {k: v for k, v in given.items() if v and k != "client_name"}
    older = _url({**echo, "before": found[PAGE_SIZE - 1].pk}) if len(found) > PAGE_SIZE else ""
    context = {
        "nav": "audit",
        "rows": rows,
        "given": given,
        "errors": errors,
        "older": older,
        "newest": _url(echo) if where.before_id is not None else "",
        "without_client": _url({k: v for k, v in echo.items() if k != "client"}),
        "staff": list(
            User.objects.filter(organization=organization).order_by("full_name", "email")
        ),
        "object_types": audit_object_types(organization),
        "zone": str(zone),
        "verify_url": _url({**echo, "verify": "1"}),
        **_chain(organization, request.GET.get("verify") == "1"),
    }
    return render(request, "frontdesk/audit/log.html", context)


urlpatterns: list[URLPattern] = [
    path("audit/", audit_log, name="audit_log"),
]
