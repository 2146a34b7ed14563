"""The day sheet (the clinic's printable fallback) and the schedule's CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.text import slugify

from medspa.core.audit import record_event
from medspa.core.models import Location, Role
from medspa.core.web import Staff
from medspa.frontdesk.selectors import EXPORT_COLUMNS, day_sheet, schedule_export
from medspa.frontdesk.views import page_location, page_staff
from medspa.scheduling.setup import schedule_setup

# An export is a bulk download of client contact data: a quarter at a time is plenty.
MAX_EXPORT_DAYS = 93
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _short(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _date(value: str | None) -> date | None:
    """A calendar date the schedule can hold; None for anything else (9999-12-31 overflows)."""
    try:
        found = date.fromisoformat(value or "")
    except ValueError:
        return None
    return found if 1900 <= found.year <= 2999 else None


def _day(value: str | None, location: Location) -> date:
    return _date(value) or datetime.now(tz=location.zone).date()


def _sheet_page(
    request: HttpRequest,
    who: Staff,
    location: Location,
    *,
    day: date,
    export: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    setup = schedule_setup(who.organization, fresh=True)
    by = request.GET.get("by", "provider")
    if by not in ("provider", "room"):
        by = "provider"
    is_provider = who.user.role == Role.PROVIDER
    own = getattr(who.user, "provider_resource", None) if is_provider else None
    mine = own is not None and by == "provider"
    show_all = request.GET.get("all") == "1"
    # A provider's sheet is their own day; the whole clinic's stays one click away.
    only = own if mine and not show_all else None
    now = datetime.now(tz=location.zone)
    sheet = day_sheet(who.organization, location, day, by=by, setup=setup, only=only)
    query = f"location={location.pk}&date={day.isoformat()}"
    context = {
        "nav": "day_sheet",
        "location": location,
        "locations": sorted(setup.locations.values(), key=lambda loc: loc.name),
        "day": day,
        "by": by,
        "bys": [("provider", "Per provider"), ("room", "Per room")],
        "sheet": sheet,
        "query": query,
        "mine": mine,
        "only": only,
        "printed": f"{_short(now.date())} {now:%H:%M}",
        "export": export
        or {"from": day.isoformat(), "to": day.isoformat(), "error": "", "open": False},
        "max_export_days": MAX_EXPORT_DAYS,
    }
    return render(request, "frontdesk/day_sheet.html", context, status=status)


@login_required
def day_sheet_page(request: HttpRequest) -> HttpResponse:
    """The printable list of one local day at a location, per provider or per room."""
    who = page_staff(request, "schedule.view")
    location = page_location(who, request)
    return _sheet_page(request, who, location, day=_day(request.GET.get("date"), location))


def _range(request: HttpRequest) -> tuple[date, date] | str:
    """The export's first and last day, or what is wrong with them in the clinic's words."""
    first, last = _date(request.GET.get("from")), _date(request.GET.get("to"))
    if first is None or last is None:
        return "Choose the first and the last day to export."
    if last < first:
        return "The last day comes before the first day."
    days = (last - first).days + 1
    if days > MAX_EXPORT_DAYS:
        return (
            f"Export at most {MAX_EXPORT_DAYS} days at a time; "
            f"{_short(first)} to {_short(last)} is {days} days."
        )
    return first, last


def _cell(value: str) -> str:
    # A leading quote keeps a spreadsheet from running a client's name as a formula.
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


@login_required
def schedule_csv(request: HttpRequest) -> HttpResponse:
    """Every appointment of a date range as CSV, cancelled ones included; audited."""
    who = page_staff(request, "schedule.export")
    location = page_location(who, request)
    wanted = _range(request)
    if isinstance(wanted, str):
        # Shown on the day sheet, next to the export's dates, so the desk can fix them.
        export = {
            "from": request.GET.get("from", ""),
            "to": request.GET.get("to", ""),
            "error": wanted,
            "open": True,
        }
        day = _day(request.GET.get("date") or request.GET.get("from"), location)
        return _sheet_page(request, who, location, day=day, export=export, status=422)
    first, last = wanted
    rows = schedule_export(who.organization, location, first, last)
    buffer = io.StringIO()
    # The byte order mark makes spreadsheet programs read the file as UTF-8.
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows([_cell(value) for value in row] for row in rows)
    record_event(
        organization=who.organization,
        actor=who.user,
        action="schedule.exported",
        object_type="location",
        object_id=location.pk,
        data={
            "location": location.pk,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "rows": len(rows),
        },
    )
    name = f"schedule-{slugify(location.name) or location.pk}-{first}-to-{last}.csv"
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("day-sheet/", day_sheet_page, name="day_sheet"),
    path("schedule.csv", schedule_csv, name="schedule_csv"),
]
