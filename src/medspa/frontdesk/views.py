"""The staff web app: each role's start page and the day calendar of a location."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from medspa.core.errors import DomainError, Forbidden
from medspa.core.models import Location, Organization, Role
from medspa.core.permissions import can
from medspa.core.web import Staff, staff
from medspa.frontdesk.selectors import (
    VIEWS,
    calendar_events,
    calendar_resources,
    working_hours_events,
)
from medspa.scheduling.setup import cached_setup, schedule_setup
from medspa.scheduling.staffing import block_events

MAX_WINDOW_DAYS = 8
# Dates the calendar accepts; beyond them date arithmetic would overflow.
MIN_YEAR, MAX_YEAR = 1900, 2999


def frame(request: HttpRequest) -> dict[str, str]:
    """Render a panel as a fragment for htmx, or as a whole page when opened directly."""
    htmx = getattr(request, "htmx", False)
    return {"frame": "frontdesk/_fragment.html" if htmx else "frontdesk/_page.html"}


def refresh_calendar() -> str:
    """The HX-Trigger value that makes an open calendar reload its events."""
    return json.dumps({"calendarChanged": True})


def page_staff(request: HttpRequest, action: str) -> Staff:
    """The signed-in staff member; a page their role may not see answers 404, as if absent.

    Also sets the page's clock to the organization's (its first location's zone), so every
    `|date` and `|time` in a template shows the clinic's wall time, not UTC; a page about
    one location's appointment still wraps it in `{% timezone %}` of that location.
    """
    try:
        who = staff(request, action)
    except Forbidden as refusal:
        raise Http404(refusal.detail) from None
    timezone.activate(organization_zone(who.organization))
    return who


def organization_zone(organization: Organization) -> ZoneInfo:
    """The organization's wall clock: its first location's zone (UTC before it has one)."""
    setup = cached_setup(organization)
    if setup is not None:
        first = min(setup.locations.values(), key=lambda location: location.pk, default=None)
        return first.zone if first is not None else ZoneInfo("UTC")
    name = (
        Location.objects.filter(organization=organization)
        .order_by("pk")
        .values_list("time_zone", flat=True)
        .first()
    )
    return ZoneInfo(name or "UTC")


def page_location(who: Staff, request: HttpRequest) -> Location:
    """The location a page asks for (`?location=`), else the organization's first one."""
    setup = schedule_setup(who.organization, fresh=True)
    wanted = request.GET.get("location")
    if wanted:
        try:
            return setup.location(wanted, "location")
        except DomainError:
            raise Http404("No such location.") from None
    if not setup.locations:
        raise Http404("This organization has no location yet.")
    return min(setup.locations.values(), key=lambda loc: loc.pk)


def _own_column(who: Staff, view: str, columns: str) -> int | None:
    """A provider's own column, shown alone by default; "all" shows every colleague too."""
    own = getattr(who.user, "provider_resource", None)
    if who.user.role != Role.PROVIDER or own is None or view != "providers" or columns == "all":
        return None
    return int(own.pk)


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Each role's own start page.

    Front desk and managers run the day from the calendar; a provider starts on their own
    column of it; billing starts on the invoices, today's and unpaid ones first.
    """
    who = page_staff(request, "schedule.view")
    if who.user.role == Role.BILLING:
        return redirect("frontdesk:invoices")
    return redirect("frontdesk:calendar")


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    """The day (or week) calendar of one location, one column per provider, room or device."""
    who = page_staff(request, "schedule.view")
    location = page_location(who, request)
    setup = schedule_setup(who.organization, fresh=True)
    view = request.GET.get("view", "providers")
    if view not in VIEWS:
        view = "providers"
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = datetime.now(tz=location.zone).date()
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        day = datetime.now(tz=location.zone).date()
    resources = calendar_resources(setup, location, view)
    mine = _own_column(who, view, request.GET.get("columns", ""))
    if mine is not None:
        resources = [r for r in resources if r["id"] == mine] or resources
    context = {
        "nav": "calendar",
        "location": location,
        "locations": sorted(setup.locations.values(), key=lambda loc: loc.name),
        "view": view,
        "views": [("providers", "Providers"), ("rooms", "Rooms"), ("devices", "Devices")],
        "day": day,
        "config": {
            "date": day.isoformat(),
            "resources": resources,
            "eventsUrl": f"/calendar/events?location={location.pk}&view={view}"
            + ("&columns=mine" if mine is not None else ""),
            "slotMinutes": location.slot_granularity_minutes,
            "location": location.pk,
            "bookUrl": reverse("frontdesk:book") if can(who.user, "appointments.book") else None,
        },
        "mine": mine,
        "columns": request.GET.get("columns", ""),
    }
    return render(request, "frontdesk/calendar.html", context)


@login_required
def events(request: HttpRequest) -> JsonResponse:
    """The calendar's data call: reservations and working hours in [start, end)."""
    who = page_staff(request, "schedule.view")
    location = page_location(who, request)
    setup = schedule_setup(who.organization, fresh=True)
    try:
        start = datetime.fromisoformat(request.GET["start"])
        end = datetime.fromisoformat(request.GET["end"])
    except (KeyError, ValueError):
        return JsonResponse({"detail": "Give start and end as ISO 8601 dates."}, status=422)
    zone = location.zone
    start = (start if start.tzinfo else start.replace(tzinfo=zone)).astimezone(UTC)
    end = (end if end.tzinfo else end.replace(tzinfo=zone)).astimezone(UTC)
    if not start < end <= start + timedelta(days=MAX_WINDOW_DAYS):
        return JsonResponse({"detail": f"Ask for at most {MAX_WINDOW_DAYS} days."}, status=422)
    view = request.GET.get("view", "")
    ids = [r["id"] for r in calendar_resources(setup, location, view)]
    mine = _own_column(who, view or "providers", request.GET.get("columns", ""))
    if mine is not None and mine in ids:
        ids = [mine]
    items = (
        working_hours_events(setup, location, ids, start, end)
        + block_events(who.organization, location, ids, start, end)
        + calendar_events(
            who.organization,
            location,
            ids,
            start,
            end,
            setup=setup,
            may_move=can(who.user, "appointments.reschedule"),
        )
    )
    return JsonResponse(items, safe=False)
