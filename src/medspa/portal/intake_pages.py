"""The client fills an intake form on their phone: questions by kind, errors at each field,
and their answers kept when something needs fixing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from medspa.clinical import intake_rules
from medspa.clinical.intake_requests import submit_intake
from medspa.clinical.links import LinkRefused
from medspa.clinical.models import IntakeQuestion, IntakeRequest, IntakeRequestStatus
from medspa.core.errors import DomainError
from medspa.portal.views import base_context, client_ip, refused, visit_for
from medspa.scheduling.models import Appointment


@dataclass(frozen=True)
class Shown:
    """A question as the page shows it: the client's last value and its error, if any."""

    question: IntakeQuestion
    value: Any  # a string, or a list of strings for several choices
    error: str

    @property
    def field_id(self) -> str:
        return f"q-{self.question.key}"


def _request(appointment: Appointment, request_id: int) -> IntakeRequest:
    """The form of this visit, or 404: a link never opens another visit's form."""
    found = (
        IntakeRequest.objects.filter(appointment=appointment, pk=request_id)
        .exclude(status=IntakeRequestStatus.CANCELLED)
        .select_related("template", "version")
        .defer("answers", "flags")
        .first()
    )
    if found is None:
        raise Http404("This form is not part of this visit.")
    return found


def _number(raw: str) -> object:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw  # the service says "Answer with a number." next to the field


def parse_answers(questions: list[IntakeQuestion], data: QueryDict) -> dict[str, object]:
    """The posted form as typed answers, for `intake_rules.check_answers`."""
    answers: dict[str, object] = {}
    for q in questions:
        name = f"q-{q.key}"
        if q.kind == intake_rules.MULTIPLE_CHOICE:
            chosen = data.getlist(name)
            answers[q.key] = chosen or None
            continue
        raw = data.get(name, "").strip()
        if not raw:
            answers[q.key] = None
        elif q.kind == intake_rules.NUMBER:
            answers[q.key] = _number(raw)
        elif q.kind == intake_rules.YES_NO:
            answers[q.key] = {"yes": True, "no": False}.get(raw, raw)
        else:
            answers[q.key] = raw
    return answers


def _shown(
    questions: list[IntakeQuestion], data: QueryDict | None, errors: dict[str, str]
) -> list[Shown]:
    shown = []
    for q in questions:
        name = f"q-{q.key}"
        if data is None:
            value: Any = [] if q.kind == intake_rules.MULTIPLE_CHOICE else ""
        elif q.kind == intake_rules.MULTIPLE_CHOICE:
            value = data.getlist(name)
        else:
            value = data.get(name, "")
        shown.append(Shown(question=q, value=value, error=errors.get(q.key, "")))
    return shown


def _render(
    request: HttpRequest,
    appointment: Appointment,
    token: str,
    intake: IntakeRequest,
    *,
    data: QueryDict | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    questions = list(intake.version.questions.order_by("position", "id"))
    context = {
        **base_context(appointment, token),
        "intake": intake,
        "questions": _shown(questions, data, errors or {}),
        "errors": errors or {},
        "problem": problem,
        "needs_signature": any(q.kind == intake_rules.SIGNATURE for q in questions),
        "action": reverse("portal:intake", args=[token, intake.pk]),
        "head_title": intake.template.name,
    }
    return render(request, "portal/intake.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def intake_form(request: HttpRequest, token: str, request_id: int) -> HttpResponse:
    try:
        appointment = visit_for(token)
    except LinkRefused as refusal:
        return refused(request, refusal)
    intake = _request(appointment, request_id)
    if request.method == "GET":
        return _render(request, appointment, token, intake)
    questions = list(intake.version.questions.order_by("position", "id"))
    try:
        submit_intake(
            request=intake,
            answers=parse_answers(questions, request.POST),
            ip_address=client_ip(request),
        )
    except DomainError as refusal:
        errors = {e.field: e.reason for e in refusal.errors}
        intake.refresh_from_db(fields=["status"])
        return _render(
            request,
            appointment,
            token,
            intake,
            data=request.POST,
            errors=errors,
            problem=refusal.detail,
            status=refusal.status,
        )
    return redirect(reverse("portal:visit", args=[token]) + "?done=intake")


urlpatterns: list[URLPattern] = [
    path("<str:token>/intake/<int:request_id>/", intake_form, name="intake"),
]
