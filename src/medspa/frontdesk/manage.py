"""Staff web app: a manager edits weekly hours, time off, device maintenance and closures.

Each form posts with htmx and swaps only its own section; without JavaScript it posts the
whole page and lands back on it. Bad input is explained next to its field and changes
nothing; another organization's ids answer 404 like every other page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from medspa.core.errors import DomainError, Invalid, NotFound
from medspa.core.models import Location
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.views import page_location, page_staff
from medspa.scheduling.clock import parse_moment
from medspa.scheduling.hours import add_block, add_working_hours, remove_block, remove_working_hours
from medspa.scheduling.models import (
    BlockReason,
    Resource,
    ResourceBlock,
    ResourceKind,
    WorkingHours,
)
from medspa.scheduling.setup import schedule_setup
from medspa.scheduling.staffing import (
    other_providers,
    resources_here,
    upcoming_blocks,
    weekly_hours,
)

ACTION = "hours.manage"
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
GROUPS = [
    (ResourceKind.PROVIDER, "Providers"),
    (ResourceKind.ROOM, "Rooms"),
    (ResourceKind.DEVICE, "Devices"),
]
CALENDAR_VIEW: dict[str, str] = {
    ResourceKind.PROVIDER: "providers",
    ResourceKind.ROOM: "rooms",
    ResourceKind.DEVICE: "devices",
}
WHOLE_LOCATION = "location"
DASH = "\u2013"  # between two times, as the page prints them

Choices = list[tuple[Any, Any]]


# ---- forms ------------------------------------------------------------------------------


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HoursForm(forms.Form):
    """A weekly rule: who, which weekday, from when to when, and optionally between dates."""

    prefix = "hours"
    # Where the service's field names show their messages.
    service_fields = {"location": "resource"}

    resource = forms.TypedChoiceField(
        label="Provider, room or device",
        coerce=int,
        error_messages={"invalid_choice": "Choose a provider, room or device of this location."},
    )
    weekday = forms.TypedChoiceField(
        label="Day",
        coerce=int,
        choices=WEEKDAYS,
        error_messages={"invalid_choice": "Choose a day of the week, Monday to Sunday."},
    )
    start_time = forms.TimeField(label="From", widget=_time_input())
    end_time = forms.TimeField(label="To", widget=_time_input())
    valid_from = forms.DateField(label="Starting on", required=False, widget=_date_input())
    valid_until = forms.DateField(label="Ending on", required=False, widget=_date_input())

    def __init__(self, *args: Any, resources: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resource"].choices = [("", "Choose…"), *resources]  # type: ignore[attr-defined]


class BlockForm(forms.Form):
    """A dated exception: time off, maintenance, training, or the whole location closed."""

    prefix = "block"

    target = forms.ChoiceField(
        label="Who or what",
        error_messages={"invalid_choice": "Choose a provider, room, device or the whole location."},
    )
    reason = forms.ChoiceField(
        label="Reason",
        choices=BlockReason.choices,
        error_messages={"invalid_choice": "Choose one of the reasons."},
    )
    start_date = forms.DateField(label="From date", widget=_date_input())
    start_time = forms.TimeField(label="From time", required=False, widget=_time_input())
    end_date = forms.DateField(label="To date", required=False, widget=_date_input())
    end_time = forms.TimeField(label="To time", required=False, widget=_time_input())
    note = forms.CharField(label="Note", required=False, max_length=200)

    def __init__(self, *args: Any, targets: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [  # type: ignore[attr-defined]
            ("", "Choose…"),
            (WHOLE_LOCATION, "Whole location (closed)"),
            *targets,
        ]


def _explain(form: forms.Form, error: DomainError, where: dict[str, str]) -> None:
    """Put a service's refusal next to the field it is about (or above the form)."""
    if not error.errors:
        form.add_error(None, error.detail)
    for problem in error.errors:
        name = where.get(problem.field, problem.field)
        form.add_error(name if name in form.fields else None, problem.reason)


def _focus_first_error(form: forms.Form) -> None:
    """Put the cursor where the first message is, after a swap as after a full page."""
    for name, bound in form.fields.items():
        if name in form.errors:
            bound.widget.attrs["autofocus"] = True
            return


# ---- what the page shows ----------------------------------------------------------------


@dataclass
class Row:
    """One provider, room or device with its weekly rules, Monday first."""

    resource: Resource
    days: list[list[WorkingHours]] = field(default_factory=lambda: [[] for _ in range(7)])


@dataclass
class BlockRow:
    block: ResourceBlock
    when: str
    who: str
    reason: str
    calendar_url: str
    described: str


@dataclass
class Page:
    location: Location
    today: date
    groups: list[tuple[str, list[Row]]]
    others: list[Resource]
    blocks: list[BlockRow]

    @property
    def has_resources(self) -> bool:
        return any(rows for _, rows in self.groups)

    def resource_choices(self, *, with_others: bool) -> Choices:
        choices: Choices = [
            (label, [(row.resource.pk, row.resource.name) for row in rows])
            for label, rows in self.groups
            if rows
        ]
        if with_others and self.others:
            choices.append(("Other providers", [(r.pk, r.name) for r in self.others]))
        return choices

    def resource(self, pk: int) -> Resource:
        for _, rows in self.groups:
            for row in rows:
                if row.resource.pk == pk:
                    return row.resource
        return next(r for r in self.others if r.pk == pk)


def _span(start: datetime, end: datetime, location: Location) -> str:
    """A block's time in the location's wall clock, as briefly as it reads unambiguously."""
    zone = location.zone
    a, b = start.astimezone(zone), end.astimezone(zone)
    if a.time() == time.min and b.time() == time.min:
        last = b.date() - timedelta(days=1)
        if last == a.date():
            return f"{a:%a, %b} {a.day}, whole day"
        return f"{a:%a, %b} {a.day} {DASH} {last:%a, %b} {last.day}, whole days"
    if a.date() == b.date():
        return f"{a:%a, %b} {a.day}, {a:%H:%M}{DASH}{b:%H:%M}"
    if b.time() == time.min and b.date() - timedelta(days=1) == a.date():
        return f"{a:%a, %b} {a.day}, {a:%H:%M}{DASH}24:00"
    return f"{a:%a, %b} {a.day} {a:%H:%M} {DASH} {b:%a, %b} {b.day} {b:%H:%M}"


def _calendar_url(location: Location, day: date, kind: str | None) -> str:
    view = CALENDAR_VIEW.get(kind or "", "providers")  # a closure shows on every view
    base = reverse("frontdesk:calendar")
    return f"{base}?location={location.pk}&date={day.isoformat()}&view={view}"


def _describe_block(block: ResourceBlock, location: Location) -> str:
    """Whom it blocks, why and when: "Jenna Park: time off, Thu, Dec 3, whole day"."""
    clock = location
    if block.location_id not in (None, location.pk) and block.location is not None:
        clock = block.location  # another location's closure reads on its own clock
    whom = block.resource.name if block.resource else f"{clock.name} (whole location)"
    reason = block.get_reason_display().lower()
    return f"{whom}: {reason}, {_span(block.start, block.end, clock)}"


def _page(who: Staff, location: Location) -> Page:
    """Everything the page shows, in four queries however many resources and blocks."""
    now = datetime.now(tz=UTC)
    today = now.astimezone(location.zone).date()
    here = resources_here(who.organization, location)
    rows = {r.pk: Row(r) for r in here}
    for rule in weekly_hours(who.organization, location):
        row = rows.get(rule.resource_id)
        if row is not None:
            row.days[rule.weekday].append(rule)
    groups = [(label, [rows[r.pk] for r in here if r.kind == kind]) for kind, label in GROUPS]
    blocks = []
    for block in upcoming_blocks(who.organization, location, list(rows), now):
        resource = block.resource
        shown = max(block.start.astimezone(location.zone).date(), today)
        blocks.append(
            BlockRow(
                block=block,
                when=_span(block.start, block.end, location),
                who=resource.name if resource else "Whole location",
                reason=block.get_reason_display(),
                calendar_url=_calendar_url(location, shown, resource.kind if resource else None),
                described=_describe_block(block, location),
            )
        )
    return Page(
        location=location,
        today=today,
        groups=groups,
        others=list(other_providers(who.organization, location)),
        blocks=blocks,
    )


def _context(
    who: Staff,
    location: Location,
    *,
    page: Page | None = None,
    hours_form: HoursForm | None = None,
    block_form: BlockForm | None = None,
) -> dict[str, Any]:
    page = page or _page(who, location)
    return {
        "nav": "hours",
        "page": page,
        "location": location,
        "locations": _locations(who),
        "weekdays": WEEKDAYS,
        "hours_form": hours_form or HoursForm(resources=page.resource_choices(with_others=True)),
        "block_form": block_form or BlockForm(targets=page.resource_choices(with_others=False)),
    }


def _locations(who: Staff) -> list[Location]:
    return sorted(schedule_setup(who.organization, fresh=True).locations.values(), key=str)


# ---- responses --------------------------------------------------------------------------

SECTIONS = {
    "hours": "frontdesk/partials/hours_weekly.html",
    "blocks": "frontdesk/partials/hours_blocks.html",
}


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _done(
    request: HttpRequest,
    who: Staff,
    location: Location,
    section: str,
    message: str,
    *,
    keep: dict[str, Any] | None = None,
) -> HttpResponse:
    """After a change: the section anew (htmx), or back to the page with a notice."""
    if not _is_htmx(request):
        messages.success(request, message)
        return redirect(f"{reverse('frontdesk:hours')}?location={location.pk}", permanent=False)
    context = _context(who, location)
    if keep is not None and section == "hours":
        # Entering a week day by day: keep who and when, move on to the next day.
        context["hours_form"] = HoursForm(
            initial=keep, resources=context["page"].resource_choices(with_others=True)
        )
    context["status"] = message
    return render(request, SECTIONS[section], context)


def _refused(
    request: HttpRequest, who: Staff, location: Location, section: str, **forms_: Any
) -> HttpResponse:
    """Bad input: the same section (or page) with the messages next to the fields."""
    for form in forms_.values():
        if isinstance(form, forms.Form):
            _focus_first_error(form)
    context = _context(who, location, **forms_)
    template = SECTIONS[section] if _is_htmx(request) else "frontdesk/hours.html"
    return render(request, template, context, status=422)


def _owned(source: QuerySet[Any] | type[Any], who: Staff, pk: Any, field_name: str) -> Any:
    try:
        return get_owned(source, organization=who.organization, pk=pk, field=field_name)
    except NotFound as missing:
        raise Http404(missing.detail) from None


def _refuse_foreign_resource(who: Staff, raw: str | None) -> None:
    """A resource id of another organization answers 404, as everywhere: no leak it exists."""
    if raw and raw.strip().isdigit():
        _owned(Resource, who, raw.strip(), "resource")


def _describe_hours(hours: WorkingHours) -> str:
    day = WEEKDAYS[hours.weekday][1]
    clock = f"{hours.start_time:%H:%M}{DASH}{hours.end_time:%H:%M}"
    return f"{day} {clock} for {hours.resource.name}"


# ---- views ------------------------------------------------------------------------------


@login_required
@require_GET
def hours(request: HttpRequest) -> HttpResponse:
    """A location's weekly hours per provider, room and device, its blocks and closures."""
    who = page_staff(request, ACTION)
    location = page_location(who, request)
    return render(request, "frontdesk/hours.html", _context(who, location))


@login_required
@require_POST
def add_hours(request: HttpRequest) -> HttpResponse:
    who = page_staff(request, ACTION)
    location = page_location(who, request)
    _refuse_foreign_resource(who, request.POST.get("hours-resource"))
    page = _page(who, location)
    form = HoursForm(request.POST, resources=page.resource_choices(with_others=True))
    if form.is_valid():
        data = form.cleaned_data
        resource = page.resource(data["resource"])
        try:
            added = add_working_hours(
                organization=who.organization,
                actor=who.user,
                resource=resource,
                location=location,
                weekday=data["weekday"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
            )
        except DomainError as error:
            _explain(form, error, HoursForm.service_fields)
        else:
            keep = {**data, "weekday": (data["weekday"] + 1) % 7}
            added.resource = resource
            return _done(
                request, who, location, "hours", f"Added {_describe_hours(added)}.", keep=keep
            )
    return _refused(request, who, location, "hours", page=page, hours_form=form)


@login_required
@require_POST
def remove_hours(request: HttpRequest, hours_id: int) -> HttpResponse:
    who = page_staff(request, ACTION)
    location = page_location(who, request)
    rule = _owned(WorkingHours.objects.select_related("resource"), who, hours_id, "hours")
    described = _describe_hours(rule)
    if not request.POST.get("confirmed"):
        return _confirm(request, location, f"Remove {described}?", "weekly-hours")
    remove_working_hours(actor=who.user, hours=rule)
    return _done(request, who, location, "hours", f"Removed {described}.")


def _moment(location: Location, day: date, clock: time | None, name: str) -> datetime:
    """A wall-clock moment of the location; a date alone is the start of that day (or its end).

    Refused, as by the API, when the clocks skip that time or show it twice.
    """
    if clock is None:
        return parse_moment(day.isoformat(), location, name, end=name == "end")
    try:
        return parse_moment(f"{day.isoformat()}T{clock:%H:%M}", location, name)
    except Invalid:
        # Same refusal as the API, worded for this form (which has no UTC offset to give).
        naive = datetime.combine(day, clock)
        back = naive.replace(tzinfo=location.zone).astimezone(UTC).astimezone(location.zone)
        if back.replace(tzinfo=None) != naive:
            reason = "does not exist (the clocks jump forward)"
        else:
            reason = "happens twice (the clocks go back)"
        raise Invalid.on(
            name,
            f"In {location.time_zone}, {clock:%H:%M} on {day:%a, %b} {day.day} {reason}. "
            "Choose a time outside that hour.",
        ) from None


@login_required
@require_POST
def add_block_view(request: HttpRequest) -> HttpResponse:
    who = page_staff(request, ACTION)
    location = page_location(who, request)
    _refuse_foreign_resource(who, request.POST.get("block-target"))
    page = _page(who, location)
    form = BlockForm(request.POST, targets=page.resource_choices(with_others=False))
    if form.is_valid():
        data = form.cleaned_data
        whole = data["target"] == WHOLE_LOCATION
        resource = None if whole else page.resource(int(data["target"]))
        where = {
            "start": "start_time" if data["start_time"] else "start_date",
            "end": "end_time" if data["end_time"] else "end_date",
            "resource": "target",
            "location": "target",
        }
        if not data["end_time"] and not data["end_date"]:
            where["end"] = "start_date"  # a day off: the end is the end of the start date
        try:
            start = _moment(location, data["start_date"], data["start_time"], "start")
            end = _moment(location, data["end_date"] or data["start_date"], data["end_time"], "end")
            block = add_block(
                organization=who.organization,
                actor=who.user,
                resource=resource,
                location=location if whole else None,
                start=start,
                end=end,
                reason=data["reason"],
                note=data["note"].strip(),
            )
        except DomainError as error:
            _explain(form, error, where)
        else:
            message = f"Blocked {_describe_block(block, location)}."
            return _done(request, who, location, "blocks", message)
    return _refused(request, who, location, "blocks", page=page, block_form=form)


@login_required
@require_POST
def remove_block_view(request: HttpRequest, block_id: int) -> HttpResponse:
    who = page_staff(request, ACTION)
    location = page_location(who, request)
    block = _owned(
        ResourceBlock.objects.select_related("resource", "location"), who, block_id, "block"
    )
    described = _describe_block(block, location)
    if not request.POST.get("confirmed"):
        return _confirm(request, location, f"Remove the block {described}?", "blocks")
    remove_block(actor=who.user, block=block)
    return _done(request, who, location, "blocks", f"Removed the block {described}.")


def _confirm(request: HttpRequest, location: Location, question: str, anchor: str) -> HttpResponse:
    """Without JavaScript a removal asks once more on a page of its own."""
    context = {
        "nav": "hours",
        "question": question,
        "action": request.get_full_path(),
        "back": f"{reverse('frontdesk:hours')}?location={location.pk}#{anchor}",
    }
    return render(request, "frontdesk/hours_confirm.html", context)


urlpatterns: list[URLPattern] = [
    path("hours/", hours, name="hours"),
    path("hours/add", add_hours, name="hours-add"),
    path("hours/<int:hours_id>/remove", remove_hours, name="hours-remove"),
    path("hours/blocks/add", add_block_view, name="block-add"),
    path("hours/blocks/<int:block_id>/remove", remove_block_view, name="block-remove"),
]
