"""Booking from the calendar: choose a client, services and provider, then one of the
engine's starts. Every form posts back to the same booking service the API uses."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from medspa.catalog.models import Service, ServiceCategory
from medspa.clients.models import Client
from medspa.clients.selectors import likely_duplicates, search_clients
from medspa.clients.services import create_client, normalize_email, normalize_phone
from medspa.core.errors import DomainError, FieldError, Invalid, NotFound
from medspa.core.idempotency import run_idempotent
from medspa.core.models import Location
from medspa.core.web import Staff
from medspa.frontdesk.appointments import panel_response
from medspa.frontdesk.views import MAX_YEAR, MIN_YEAR, frame, page_staff, refresh_calendar
from medspa.scheduling.models import Resource, ResourceKind
from medspa.scheduling.selectors import DayOffer, Wanted, offer_for_day
from medspa.scheduling.services import MAX_NOTES_LENGTH, book_appointment, check_wanted
from medspa.scheduling.setup import ScheduleSetup, schedule_setup

SEARCH_LIMIT = 8
# Where a service error of the booking service lands on the form.
FIELD_OF = {"services.0": "service", "services.1": "service_2", "services.0.provider": "provider"}


@dataclass
class BookingRequest:
    """What the booking form asked for, read leniently so the form can redraw itself."""

    location: Location
    day: date
    service: Service | None = None
    service_2: Service | None = None
    provider: Resource | None = None
    time: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def wanted(self) -> list[Wanted]:
        services = [s for s in (self.service, self.service_2) if s is not None]
        return [Wanted(s, self.provider if i == 0 else None) for i, s in enumerate(services)]


def _services_at(setup: ScheduleSetup, location: Location) -> list[tuple[str, list[Service]]]:
    """The services offered at the location, grouped by category for the select's optgroups."""
    offered = [
        s
        for s in setup.services.values()
        if not setup.offered_at.get(s.pk) or location.pk in setup.offered_at[s.pk]
    ]
    labels = dict(ServiceCategory.choices)
    offered.sort(key=lambda s: (labels.get(s.category, s.category), s.name))
    return [
        (labels.get(category, category), list(items))
        for category, items in groupby(offered, key=lambda s: s.category)
    ]


def _providers_at(setup: ScheduleSetup, location: Location) -> list[Resource]:
    return setup.resources_at(location.pk, {ResourceKind.PROVIDER})


def _read_request(who: Staff, params: QueryDict) -> BookingRequest:
    setup = schedule_setup(who.organization)
    location = setup.locations.get(_int(params.get("location")))
    if location is None:
        raise Http404("No such location.")
    try:
        day = date.fromisoformat(params.get("date", ""))
    except ValueError:
        day = timezone.now().astimezone(location.zone).date()
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        day = timezone.now().astimezone(location.zone).date()
    wanted = BookingRequest(location=location, day=day, time=params.get("time", "")[:5])
    for name in ("service", "service_2"):
        value = params.get(name)
        if value:
            try:
                setattr(wanted, name, setup.service(value, name))
            except NotFound as missing:
                wanted.errors[name] = missing.detail
    provider = params.get("provider")
    if provider:
        try:
            wanted.provider = setup.provider(provider, "provider")
        except NotFound as missing:
            wanted.errors["provider"] = missing.detail
    if wanted.service is None and wanted.service_2 is not None:
        wanted.service, wanted.service_2 = wanted.service_2, None
    return wanted


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _offer(who: Staff, wanted: BookingRequest) -> DayOffer | None:
    """The engine's starts for the request, or None while it is incomplete or invalid."""
    if wanted.service is None or wanted.errors:
        return None
    try:
        check_wanted(wanted.location, wanted.wanted)
    except DomainError as refusal:
        wanted.errors.update(_field_errors(refusal))
        return None
    return offer_for_day(
        organization=who.organization,
        location=wanted.location,
        wanted=wanted.wanted,
        day=wanted.day,
        now=timezone.now(),
    )


def _field_errors(error: DomainError) -> dict[str, str]:
    found: dict[str, str] = {}
    for e in error.errors or [FieldError("start", error.detail)]:
        name = FIELD_OF.get(e.field, e.field)
        found[name] = f"{found[name]} {e.reason}" if name in found else e.reason
    return found


def _form_context(
    who: Staff, wanted: BookingRequest, offer: DayOffer | None, **extra: Any
) -> dict[str, Any]:
    setup = schedule_setup(who.organization)
    return {
        "wanted": wanted,
        "offer": offer,
        "services": _services_at(setup, wanted.location),
        "providers": _providers_at(setup, wanted.location),
        "errors": wanted.errors,
        "location": wanted.location,
        **extra,
    }


@login_required
@require_GET
def new_appointment(request: HttpRequest) -> HttpResponse:
    """The booking form, opened from "New appointment" or by clicking an empty slot."""
    who = page_staff(request, "appointments.book")
    wanted = _read_request(who, request.GET)
    # A click in a provider's column asks for that provider.
    if wanted.provider is None and (resource := request.GET.get("resource")):
        chosen = schedule_setup(who.organization).resources.get(_int(resource))
        if chosen is not None and chosen.kind == ResourceKind.PROVIDER:
            wanted.provider = chosen
    client = None
    if request.GET.get("client"):
        client = search_clients(who.organization, "").filter(pk=_int(request.GET["client"])).first()
    context = _form_context(
        who,
        wanted,
        _offer(who, wanted),
        client=client,
        idempotency_key=uuid.uuid4().hex,
        notes="",
        **frame(request),
    )
    return render(request, "frontdesk/book.html", context)


@login_required
@require_GET
def starts(request: HttpRequest) -> HttpResponse:
    """The starts the engine offers for the form's services, provider and day."""
    who = page_staff(request, "appointments.book")
    wanted = _read_request(who, request.GET)
    context = _form_context(who, wanted, _offer(who, wanted), standalone=True)
    return render(request, "frontdesk/_starts.html", context)


@login_required
@require_POST
def book(request: HttpRequest) -> HttpResponse:
    """Book the chosen start; on a refusal the form comes back with the reason at the field."""
    who = page_staff(request, "appointments.book")
    wanted = _read_request(who, request.POST)
    client = (
        search_clients(who.organization, "").filter(pk=_int(request.POST.get("client"))).first()
    )
    notes = request.POST.get("notes", "").strip()
    if client is None:
        wanted.errors["client"] = "Choose the client (search by name, phone or e-mail)."
    if wanted.service is None and "service" not in wanted.errors:
        wanted.errors["service"] = "Choose a service."
    if len(notes) > MAX_NOTES_LENGTH:
        wanted.errors["notes"] = f"Keep notes under {MAX_NOTES_LENGTH} characters."
    start, providers = _chosen_start(request.POST.get("start", ""), wanted)
    if start is None and "start" not in wanted.errors:
        wanted.errors["start"] = "Choose one of the free times."
    key = request.POST.get("idempotency_key") or None
    if not wanted.errors and client is not None and start is not None:
        # Pin each service to the provider the chosen start showed, so the booking holds
        # exactly what the form offered (rooms and devices are re-chosen if just taken).
        resources = schedule_setup(who.organization).resources
        shown = providers + [None] * (len(wanted.wanted) - len(providers))
        pinned = [
            Wanted(w.service, w.provider or (resources.get(p) if p is not None else None))
            for w, p in zip(wanted.wanted, shown, strict=False)
        ]

        def act() -> tuple[int, dict[str, Any]]:
            appointment = book_appointment(
                organization=who.organization,
                actor=who.user,
                client=client,
                location=wanted.location,
                start=start,
                wanted=pinned,
                notes=notes,
            )
            return 201, {"id": appointment.pk}

        try:
            _, body = run_idempotent(
                organization=who.organization,
                key=key,
                scope="web.book",
                payload=dict(sorted(request.POST.items())),
                action=act,
            )
        except DomainError as refusal:
            wanted.errors.update(_field_errors(refusal))
        else:
            return panel_response(
                request, who, body["id"], notice="Booked.", trigger=refresh_calendar()
            )
    context = _form_context(
        who,
        wanted,
        _offer(who, wanted),
        client=client,
        idempotency_key=key or uuid.uuid4().hex,
        notes=notes,
        chosen=request.POST.get("start", ""),
        **frame(request),
    )
    return render(request, "frontdesk/book.html", context, status=422)


def _chosen_start(value: str, wanted: BookingRequest) -> tuple[datetime | None, list[int | None]]:
    """Read a start option's value: an ISO start and the provider of each service."""
    moment, _, pins = value.partition("|")
    try:
        start = datetime.fromisoformat(moment)
    except ValueError:
        return None, []
    if start.tzinfo is None:
        wanted.errors["start"] = "Choose one of the free times."
        return None, []
    providers = [_int(p) if p else None for p in pins.split(",")] if pins else []
    return start, providers


# ---- clients: find one as you type, or register one inline -------------------------------


@login_required
@require_GET
def client_search(request: HttpRequest) -> HttpResponse:
    """Clients matching the typed name, phone or e-mail."""
    who = page_staff(request, "clients.view")
    text = request.GET.get("q", "").strip()[:100]
    found = list(search_clients(who.organization, text)[:SEARCH_LIMIT]) if len(text) >= 2 else []
    return render(
        request,
        "frontdesk/_client_results.html",
        {"clients": found, "q": text},
    )


@login_required
@require_GET
def client_pick(request: HttpRequest, client_id: int) -> HttpResponse:
    who = page_staff(request, "clients.view")
    client = search_clients(who.organization, "").filter(pk=client_id).first()
    if client is None:
        return render(
            request,
            "frontdesk/_client_field.html",
            {"client_error": "That client is not in your organization."},
            status=404,
        )
    return render(request, "frontdesk/_client_field.html", {"client": client})


@login_required
@require_GET
def client_field(request: HttpRequest) -> HttpResponse:
    """The empty client field: search again, or register a new client."""
    page_staff(request, "clients.view")
    return render(request, "frontdesk/_client_field.html", {})


@login_required
@require_POST
def client_create(request: HttpRequest) -> HttpResponse:
    """Register a client from the booking form; warn first when they may already exist."""
    who = page_staff(request, "clients.create")
    given = {
        name: request.POST.get(f"new_{name}", "").strip()[:100]
        for name in ("first_name", "last_name", "phone", "email", "birth_date")
    }
    errors: dict[str, str] = {}
    birth_date = None
    if given["birth_date"]:
        try:
            birth_date = date.fromisoformat(given["birth_date"])
        except ValueError:
            errors["birth_date"] = "Give the birth date as a date."
    duplicates: list[Client] = []
    if not errors and request.POST.get("confirm_duplicate") != "1":
        duplicates = _possible_duplicates(who, given, birth_date)
    if not errors and not duplicates:
        try:
            client = create_client(
                organization=who.organization,
                actor=who.user,
                first_name=given["first_name"],
                last_name=given["last_name"],
                phone=given["phone"],
                email=given["email"],
                birth_date=birth_date,
            )
        except DomainError as refusal:
            errors = {e.field: e.reason for e in refusal.errors}
        else:
            return render(request, "frontdesk/_client_field.html", {"client": client, "new": True})
    return render(
        request,
        "frontdesk/_client_field.html",
        {"creating": True, "given": given, "new_errors": errors, "duplicates": duplicates},
        status=200 if duplicates else 422,
    )


def _possible_duplicates(
    who: Staff, given: dict[str, str], birth_date: date | None
) -> list[Client]:
    # Compare normalised contact details, as they are stored; bad ones are reported later.
    phone = email = ""
    with contextlib.suppress(Invalid):
        phone = normalize_phone(given["phone"]) if given["phone"] else ""
    with contextlib.suppress(Invalid):
        email = normalize_email(given["email"]) if given["email"] else ""
    return list(
        likely_duplicates(
            who.organization,
            first_name=given["first_name"],
            last_name=given["last_name"],
            phone=phone,
            email=email,
            birth_date=birth_date,
        )[:5]
    )


urlpatterns: list[URLPattern] = [
    path("calendar/book/", new_appointment, name="book"),
    path("calendar/book/starts", starts, name="book_starts"),
    path("calendar/book/confirm", book, name="book_confirm"),
    path("clients/search", client_search, name="client_search"),
    path("clients/field", client_field, name="client_field"),
    path("clients/<int:client_id>/pick", client_pick, name="client_pick"),
    path("clients/new", client_create, name="client_create"),
]
