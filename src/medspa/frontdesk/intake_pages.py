"""Staff side of intake: the appointment panel's forms section (send the link, open it on a
tablet, read the answers, decide a review) and the Reviews page for providers.

Answers and flagged reasons are read only by clinical roles and only through the audited
reads of `clinical.intake_requests`; the section itself shows states, never answers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from medspa.clinical.intake_requests import (
    decide_review,
    requests_for_appointment,
    review_detail,
    review_list,
    send_visit_link,
    view_answers,
    view_flags,
)
from medspa.clinical.links import visit_path
from medspa.clinical.models import IntakeRequestStatus, ReviewStatus
from medspa.core.errors import DomainError
from medspa.core.models import Role
from medspa.core.permissions import can
from medspa.core.web import Staff, wall_clock
from medspa.frontdesk.views import page_staff
from medspa.scheduling.models import Appointment, AppointmentStatus
from medspa.scheduling.selectors import appointment_detail

CLOSED = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW})
REVIEW_LIMIT = 200


def _appointment(who: Staff, pk: int) -> Appointment:
    try:
        return appointment_detail(who.organization, pk)
    except DomainError:
        raise Http404("No such appointment.") from None


def _section(
    request: HttpRequest,
    who: Staff,
    appointment: Appointment,
    *,
    notice: str = "",
    error: str = "",
    answers: list[Any] | None = None,
    review_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    intake = requests_for_appointment(who.organization, appointment)
    user = who.user
    closed = appointment.status in CLOSED
    context = {
        "appointment": appointment,
        "requests": intake,
        "submitted": [r for r in intake if r.status == IntakeRequestStatus.SUBMITTED],
        "pending": [r for r in intake if r.status == IntakeRequestStatus.PENDING],
        "ever_sent": any(r.sent_at for r in intake),
        "may_send": can(user, "intake.send") and not closed,
        "may_answers": can(user, "intake.answers"),
        "may_review": can(user, "intake.review"),
        "tablet_url": visit_path(appointment) if can(user, "intake.send") and not closed else "",
        "has_email": bool(appointment.client.email),
        "notice": notice,
        "error": error,
        "answers": answers,
        "review_errors": review_errors or {},
        "ReviewStatus": ReviewStatus,
    }
    return render(request, "frontdesk/intake/section.html", context, status=status)


@login_required
@require_GET
def section(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel's Intake section, loaded lazily by the appointment panel."""
    who = page_staff(request, "intake.view")
    return _section(request, who, _appointment(who, pk))


@login_required
@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send (again) the e-mail with the link to the visit's forms and consents."""
    who = page_staff(request, "intake.send")
    appointment = _appointment(who, pk)
    try:
        send_visit_link(appointment=appointment, actor=who.user)
    except DomainError as refusal:
        return _section(request, who, appointment, error=refusal.detail, status=refusal.status)
    return _section(request, who, appointment, notice=f"Link sent to {appointment.client.email}.")


@login_required
@require_GET
def answers(request: HttpRequest, pk: int) -> HttpResponse:
    """The section with the submitted answers shown: an audited read for clinical roles."""
    who = page_staff(request, "intake.answers")
    appointment = _appointment(who, pk)
    forms = view_answers(
        organization=who.organization,
        actor=who.user,
        requests=requests_for_appointment(who.organization, appointment),
    )
    return _section(request, who, appointment, answers=forms)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int, review_id: int) -> HttpResponse:
    """Cleared or not cleared, with a note; back to the panel section (or the Reviews page)."""
    who = page_staff(request, "intake.review")
    appointment = _appointment(who, pk)
    try:
        task = review_detail(who.organization, review_id)
    except DomainError:
        raise Http404("No such review.") from None
    if task.appointment_id != appointment.pk:
        raise Http404("No such review.")
    try:
        decided = decide_review(
            task=task,
            actor=who.user,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", "")[:2100],
        )
    except DomainError as refusal:
        forms = view_answers(
            organization=who.organization,
            actor=who.user,
            requests=requests_for_appointment(who.organization, appointment),
        )
        errors = {e.field: e.reason for e in refusal.errors} or {"decision": refusal.detail}
        return _section(
            request,
            who,
            appointment,
            answers=forms,
            review_errors=errors,
            error=refusal.detail,
            status=refusal.status,
        )
    if not getattr(request, "htmx", False):
        return redirect("frontdesk:reviews")
    return _section(
        request, who, appointment, notice=f"Review recorded: {decided.get_status_display()}."
    )


@login_required
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    """Open review tasks: a provider's own first, then everyone's; the reasons are audited."""
    who = page_staff(request, "intake.review")
    tasks = list(review_list(who.organization)[:REVIEW_LIMIT])
    own = getattr(who.user, "provider_resource", None) if who.user.role == Role.PROVIDER else None
    if own is not None:
        tasks.sort(key=lambda t: t.assigned_to_id != own.pk)
    flags = view_flags(organization=who.organization, actor=who.user, tasks=tasks)
    rows = [
        {
            "task": t,
            "flags": flags.get(t.pk, []),
            "mine": own is not None and t.assigned_to_id == own.pk,
            "local_start": wall_clock(t.appointment.start, t.appointment.location.zone)
            if t.appointment
            else None,
            "panel": reverse("frontdesk:appointment", args=[t.appointment_id])
            if t.appointment_id
            else "",
        }
        for t in tasks
    ]
    context = {
        "nav": "reviews",
        "rows": rows,
        "mine_count": sum(1 for r in rows if r["mine"]),
        "is_provider": own is not None,
    }
    return render(request, "frontdesk/intake/reviews.html", context)


urlpatterns: list[URLPattern] = [
    path("calendar/appointments/<int:pk>/intake", section, name="visit_intake"),
    path("calendar/appointments/<int:pk>/intake/send", send, name="visit_intake_send"),
    path("calendar/appointments/<int:pk>/intake/answers", answers, name="visit_intake_answers"),
    path(
        "calendar/appointments/<int:pk>/intake/reviews/<int:review_id>/decision",
        decide,
        name="visit_intake_decide",
    ),
    path("reviews/", reviews, name="reviews"),
]
