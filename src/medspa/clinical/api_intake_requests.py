"""Intake requests and review tasks: the API routes (thin; the work is in intake_requests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from medspa.clinical.intake_requests import (
    decide_review,
    request_detail,
    requests_for_appointment,
    review_detail,
    review_list,
    send_visit_link,
    view_answers,
    view_flags,
)
from medspa.clinical.models import IntakeRequest, ReviewStatus, ReviewTask
from medspa.core.errors import Invalid
from medspa.core.permissions import can
from medspa.core.web import ListOut, LongText, Name, Staff, staff
from medspa.scheduling.selectors import appointment_detail

router = Router(tags=["intake requests"])


class ReviewSummaryOut(Schema):
    id: int
    status: str
    decided_at: datetime | None


class IntakeRequestOut(Schema):
    id: int
    appointment: int | None
    client: int
    template: int
    template_name: str
    version: int
    version_number: int
    status: str
    sent_at: datetime | None
    sent_to: str
    submitted_at: datetime | None
    review: ReviewSummaryOut | None
    # Only for roles that may read intake answers; the read is audited.
    flags: list[dict[str, str]] | None = None


class AnswerOut(Schema):
    key: str
    label: str
    kind: str
    answer: Any
    flagged: str


class AnsweredOut(Schema):
    request: IntakeRequestOut
    answers: list[AnswerOut]


class SentOut(Schema):
    appointment: int
    sent_to: str
    forms: int


class ReviewOut(Schema):
    id: int
    status: str
    client: int
    appointment: int | None
    intake_request: int
    assigned_to: int | None
    decided_by: int | None
    decided_at: datetime | None
    flags: list[dict[str, str]]


class DecisionIn(Schema):
    # Defaults let the service answer with a field message instead of a schema error.
    decision: Name = ""
    note: LongText = ""


class ReviewsQuery(Schema):
    status: Name = ReviewStatus.OPEN


def _request_out(r: IntakeRequest, flags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    task: ReviewTask | None = getattr(r, "review_task", None)
    return {
        "id": r.pk,
        "appointment": r.appointment_id,
        "client": r.client_id,
        "template": r.template_id,
        "template_name": r.template.name,
        "version": r.version_id,
        "version_number": r.version.number,
        "status": r.status,
        "sent_at": r.sent_at,
        "sent_to": r.sent_to,
        "submitted_at": r.submitted_at,
        "review": (
            {"id": task.pk, "status": task.status, "decided_at": task.decided_at} if task else None
        ),
        "flags": flags,
    }


def _review_out(t: ReviewTask, flags: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": t.pk,
        "status": t.status,
        "client": t.client_id,
        "appointment": t.appointment_id,
        "intake_request": t.intake_request_id,
        "assigned_to": t.assigned_to_id,
        "decided_by": t.decided_by_id,
        "decided_at": t.decided_at,
        "flags": flags,
    }


def _answered(who: Staff, requests: list[IntakeRequest]) -> list[dict[str, Any]]:
    forms = view_answers(organization=who.organization, actor=who.user, requests=requests)
    return [
        {
            "request": _request_out(f.request, list(f.request.flags or [])),
            "answers": [q.__dict__ for q in f.questions],
        }
        for f in forms
    ]


@router.get("/appointments/{appointment_id}/intake", response=ListOut[IntakeRequestOut])
def appointment_intake(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    """The appointment's intake forms and their state; flags only for clinical roles."""
    who = staff(request, "intake.view")
    appointment = appointment_detail(who.organization, appointment_id)
    found = requests_for_appointment(who.organization, appointment)
    if can(who.user, "intake.answers"):
        forms = view_answers(organization=who.organization, actor=who.user, requests=found)
        flags = {f.request.pk: list(f.request.flags or []) for f in forms}
        items = [_request_out(r, flags.get(r.pk, [])) for r in found]
    else:
        items = [_request_out(r) for r in found]
    return {"items": items, "count": len(items)}


@router.post("/appointments/{appointment_id}/intake/send", response=SentOut)
def send_intake_link(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    """E-mail the client the link to their visit's forms and consents (again)."""
    who = staff(request, "intake.send")
    appointment = appointment_detail(who.organization, appointment_id)
    forms = send_visit_link(appointment=appointment, actor=who.user)
    return {"appointment": appointment.pk, "sent_to": appointment.client.email, "forms": forms}


@router.get("/appointments/{appointment_id}/intake/answers", response=ListOut[AnsweredOut])
def appointment_answers(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    """Every submitted form of the appointment with its answers; the read is audited."""
    who = staff(request, "intake.answers")
    appointment = appointment_detail(who.organization, appointment_id)
    items = _answered(who, requests_for_appointment(who.organization, appointment))
    return {"items": items, "count": len(items)}


@router.get("/intake/requests/{request_id}", response=AnsweredOut)
def intake_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """One intake request; its answers once submitted. The read is audited."""
    who = staff(request, "intake.answers")
    found = request_detail(who.organization, request_id)
    answered = _answered(who, [found])
    if answered:
        return answered[0]
    return {"request": _request_out(found), "answers": []}


@router.get("/reviews", response=ListOut[ReviewOut])
def reviews(request: HttpRequest, query: Query[ReviewsQuery]) -> dict[str, Any]:
    """Review tasks in a status (open by default), soonest visit first; reasons audited."""
    who = staff(request, "intake.review")
    if query.status not in ReviewStatus.values:
        raise Invalid.on("status", f"Choose one of: {', '.join(ReviewStatus.values)}.")
    tasks = list(review_list(who.organization, status=query.status)[:500])
    flags = view_flags(organization=who.organization, actor=who.user, tasks=tasks)
    items = [_review_out(t, flags.get(t.pk, [])) for t in tasks]
    return {"items": items, "count": len(items)}


@router.post("/reviews/{review_id}/decision", response=ReviewOut)
def review_decision(request: HttpRequest, review_id: int, data: DecisionIn) -> dict[str, Any]:
    """Cleared or not cleared (a note is required when not cleared)."""
    who = staff(request, "intake.review")
    task = review_detail(who.organization, review_id)
    decided = decide_review(task=task, actor=who.user, decision=data.decision, note=data.note)
    return _review_out(decided, [])
