"""The client's visit page, reached by the signed link: when, where, with whom, and the steps
still to do (forms to fill, consents to sign). No account and no staff navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from medspa.clinical.consent import ConsentNeed, consents_for_appointment
from medspa.clinical.links import LinkRefused, appointment_for_token
from medspa.clinical.models import IntakeRequest, IntakeRequestStatus
from medspa.core.web import wall_clock
from medspa.scheduling.models import Appointment, AppointmentService


def visit_for(token: str) -> Appointment:
    """The link's appointment; LinkRefused (rendered by `refused`) when it cannot be used.

    The page's clock becomes the visit's location's: dates and times read as the client's.
    """
    appointment = appointment_for_token(token)
    timezone.activate(appointment.location.zone)
    return appointment


def refused(request: HttpRequest, refusal: LinkRefused) -> HttpResponse:
    """A friendly page for a tampered, expired or closed link (404 / 410)."""
    return render(
        request,
        "portal/refused.html",
        {"refusal": refusal, "head_title": refusal.title},
        status=refusal.status,
    )


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def base_context(appointment: Appointment, token: str) -> dict[str, Any]:
    location = appointment.location
    return {
        "appointment": appointment,
        "clinic": appointment.organization,
        "location": location,
        "token": token,
        "local_start": wall_clock(appointment.start, location.zone),
        "local_end": wall_clock(appointment.end, location.zone),
        "visit_url": reverse("portal:visit", args=[token]),
    }


def open_requests(appointment: Appointment) -> list[IntakeRequest]:
    """The visit's forms the client sees: pending and submitted (answers never loaded)."""
    return list(
        IntakeRequest.objects.filter(appointment=appointment)
        .exclude(status=IntakeRequestStatus.CANCELLED)
        .select_related("template")
        .defer("answers", "flags")
        .order_by("template__name", "pk")
    )


@dataclass(frozen=True)
class Step:
    kind: str  # "intake" or "consent"
    title: str
    done: bool
    url: str
    done_at: Any


def steps(appointment: Appointment, token: str) -> list[Step]:
    forms = [
        Step(
            kind="intake",
            title=r.template.name,
            done=r.status == IntakeRequestStatus.SUBMITTED,
            url=reverse("portal:intake", args=[token, r.pk]),
            done_at=r.submitted_at,
        )
        for r in open_requests(appointment)
    ]
    needs: list[ConsentNeed] = consents_for_appointment(appointment)
    consents = [
        Step(
            kind="consent",
            title=need.version.title,
            done=need.satisfied,
            url=reverse("portal:consent", args=[token, need.version.pk]),
            done_at=need.signature.signed_at if need.signature else None,
        )
        for need in needs
    ]
    return forms + consents


@never_cache
@require_GET
def visit(request: HttpRequest, token: str) -> HttpResponse:
    """Prepare for your visit: its details and each step with its state."""
    try:
        appointment = visit_for(token)
    except LinkRefused as refusal:
        return refused(request, refusal)
    lines = list(
        AppointmentService.objects.filter(appointment=appointment)
        .select_related("service", "provider")
        .order_by("position")
    )
    all_steps = steps(appointment, token)
    context = {
        **base_context(appointment, token),
        "lines": lines,
        "providers": sorted({line.provider.name for line in lines if line.provider}),
        "steps": all_steps,
        "remaining": sum(1 for s in all_steps if not s.done),
        "notice": request.GET.get("done", "") in {"intake", "consent"},
        "head_title": "Prepare for your visit",
    }
    return render(request, "portal/visit.html", context)


def not_this_visit() -> Http404:
    return Http404("This form is not part of this visit.")


urlpatterns: list[URLPattern] = [
    path("<str:token>/", visit, name="visit"),
]
