"""Intake requests and review tasks: what a client owes before a visit, and what a provider
must look at once the answers are in.

Booking a service that asks for intake forms creates one request per form, pinned to the
version published at that moment, and e-mails the client a signed link to their visit
(`clinical.links`). Answers a form marks for review open a task for the appointment's provider:
the software only flags, a person decides. Answers and flags are clinical: encrypted at rest,
and every staff read is audited (ids and counts, never the content).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.dispatch import receiver
from django.utils import timezone

from medspa.clients.models import Channel, Purpose
from medspa.clients.selectors import may_contact
from medspa.clinical import intake_rules
from medspa.clinical.consent import consents_for_appointment
from medspa.clinical.models import (
    IntakeQuestion,
    IntakeRequest,
    IntakeRequestStatus,
    IntakeTemplateVersion,
    ReviewStatus,
    ReviewTask,
)
from medspa.clinical.selectors import current_versions_for_service
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid
from medspa.core.models import Organization, User
from medspa.core.selectors import get_owned
from medspa.scheduling.models import Appointment, AppointmentService, AppointmentStatus
from medspa.scheduling.signals import appointment_booked, appointment_status_changed

log = logging.getLogger(__name__)

# A visit in these statuses asks nothing more of the client.
CLOSED_VISIT = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW})
MAX_NOTE = 2000


class LinkNotSent(DomainError):
    """The mail server refused or could not be reached (503): nothing was recorded."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail, status=503, code="email_failed", title="Not sent")


def _event(
    organization: Organization,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    **data: Any,
) -> None:
    record_event(
        organization=organization,
        actor=actor,
        action=f"intake.{action}",
        object_type=object_type,
        object_id=object_id,
        data=data,
    )


# ---- requests made at booking ----------------------------------------------------------------


@transaction.atomic
def request_intake(*, appointment: Appointment, actor: User | None) -> list[IntakeRequest]:
    """Ask the client for every form the appointment's services need (each form once)."""
    organization = appointment.organization
    lines = list(appointment.lines.select_related("service").order_by("position"))
    wanted: dict[int, IntakeTemplateVersion] = {}
    for line in lines:
        for version in current_versions_for_service(organization, line.service):
            wanted.setdefault(version.template_id, version)
    already = set(
        IntakeRequest.objects.filter(appointment=appointment)
        .exclude(status=IntakeRequestStatus.CANCELLED)
        .values_list("template_id", flat=True)
    )
    created = [
        IntakeRequest.objects.create(
            organization=organization,
            client_id=appointment.client_id,
            appointment=appointment,
            template_id=template_id,
            version=version,
        )
        for template_id, version in wanted.items()
        if template_id not in already
    ]
    if created:
        _event(
            organization,
            actor,
            "requested",
            "appointment",
            appointment.pk,
            requests=[r.pk for r in created],
            versions=[r.version_id for r in created],
        )
    return created


@receiver(appointment_booked, dispatch_uid="clinical.intake_requests.booked")
def on_appointment_booked(
    sender: object, *, appointment: Appointment, actor: User | None, **kwargs: Any
) -> None:
    """Booking asks for the forms, then (once the booking commits) e-mails the link."""
    request_intake(appointment=appointment, actor=actor)
    appointment_id = appointment.pk
    # After the commit: a slow or failing mail server never holds up or undoes a booking.
    transaction.on_commit(lambda: send_link_after_booking(appointment_id))


@receiver(appointment_status_changed, dispatch_uid="clinical.intake_requests.status")
def on_status_changed(
    sender: object, *, appointment: Appointment, actor: User | None, status: str, **kwargs: Any
) -> None:
    """A cancelled or missed visit closes its open forms (rescheduling keeps them)."""
    if status in CLOSED_VISIT:
        cancel_open_requests(appointment=appointment, actor=actor)


@transaction.atomic
def cancel_open_requests(*, appointment: Appointment, actor: User | None) -> int:
    """Close the forms the client still owes for this visit; answers already in stay."""
    pending = list(
        IntakeRequest.objects.filter(
            appointment=appointment, status=IntakeRequestStatus.PENDING
        ).values_list("pk", flat=True)
    )
    if not pending:
        return 0
    IntakeRequest.objects.filter(pk__in=pending).update(status=IntakeRequestStatus.CANCELLED)
    _event(
        appointment.organization,
        actor,
        "cancelled",
        "appointment",
        appointment.pk,
        requests=pending,
    )
    return len(pending)


# ---- the link to the visit ---------------------------------------------------------------------


def _email_refusal(appointment: Appointment) -> str | None:
    """Why the link may not go by e-mail to this client, or None."""
    client = appointment.client
    if not client.email:
        return "This client has no e-mail address: add one, or open the forms on a tablet."
    if not may_contact(client, Channel.EMAIL, Purpose.TRANSACTIONAL):
        return (
            "This client declined e-mail about their visits: open the forms on a tablet, "
            "or record their consent to e-mail first."
        )
    return None


def _message(appointment: Appointment, now: datetime) -> EmailMessage:
    # Imported here: the portal sits above clinical, and only its link maker is needed.
    from medspa.clinical.links import link_expiry, visit_url

    location = appointment.location
    local = appointment.start.astimezone(location.zone)
    expires = link_expiry(appointment, now).astimezone(location.zone)
    client = appointment.client
    name = client.preferred_name or client.first_name
    clinic = appointment.organization.name
    when = f"{local:%A, %B} {local.day} at {local:%I:%M %p}".replace(" 0", " ")
    body = (
        f"Hello {name},\n\n"
        f"Thank you for booking with {clinic}. Your visit is on {when} at {location.name}.\n\n"
        "Please take a few minutes before your visit to fill in your health forms and read "
        "and sign your consent. It works on your phone:\n\n"
        f"{visit_url(appointment, now=now)}\n\n"
        f"The link is personal to you and works until {expires:%B} {expires.day}. "
        "If you did not book this visit, please let us know.\n\n"
        f"{clinic}\n"
    )
    return EmailMessage(
        subject=f"Prepare for your visit on {local:%B} {local.day}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
    )


def _send(appointment: Appointment, actor: User | None, now: datetime, *, automatic: bool) -> int:
    """Send the link, then record it as sent: a failed send records nothing.

    The mail server is talked to outside any database transaction, so a slow server never
    holds the database's write lock (SQLite) or a row lock. A crash between the send and the
    record leaves the forms "not sent": staff may send again, and the same link still works.
    """
    try:
        _message(appointment, now).send(fail_silently=False)
    except Exception as error:  # any mail backend failure: SMTP, DNS, socket, timeout
        log.warning("Visit link for appointment %s not sent: %s", appointment.pk, error)
        raise LinkNotSent(
            "The e-mail could not be sent just now; nothing was recorded. Try again, "
            "or open the forms on a tablet."
        ) from error
    with transaction.atomic():
        requests = list(
            IntakeRequest.objects.select_for_update()
            .filter(appointment=appointment, status=IntakeRequestStatus.PENDING)
            .order_by("pk")
        )
        to = appointment.client.email
        for request in requests:
            request.sent_at, request.sent_to = now, to
        IntakeRequest.objects.bulk_update(requests, ["sent_at", "sent_to"])
        _event(
            appointment.organization,
            actor,
            "link_sent",
            "appointment",
            appointment.pk,
            requests=[r.pk for r in requests],
            automatic=automatic,
        )
    return len(requests)


def _asks_something(appointment: Appointment, now: datetime) -> bool:
    """Whether the visit has a form to fill or a consent to sign: else no link is sent."""
    pending = IntakeRequest.objects.filter(
        appointment=appointment, status=IntakeRequestStatus.PENDING
    )
    return pending.exists() or any(
        not need.satisfied for need in consents_for_appointment(appointment, now=now)
    )


def send_link_after_booking(appointment_id: int, *, now: datetime | None = None) -> bool:
    """After a booking commits: e-mail the link if the client may get it; never raise."""
    appointment = (
        Appointment.objects.select_related("organization", "location", "client")
        .filter(pk=appointment_id)
        .first()
    )
    now = now or timezone.now()
    if appointment is None or appointment.status in CLOSED_VISIT or appointment.end < now:
        return False
    if _email_refusal(appointment) is not None or not _asks_something(appointment, now):
        return False
    try:
        _send(appointment, None, now, automatic=True)
    except LinkNotSent:
        # The booking stands; the panel offers "Send link" because the forms stay unsent.
        return False
    return True


def send_visit_link(
    *, appointment: Appointment, actor: User | None, now: datetime | None = None
) -> int:
    """E-mail (again) the link to the visit's forms; the number of forms it asks for.

    Forms attached to the services since the booking are asked for first, so the link
    covers everything the treatment gate will check.
    """
    if appointment.status in CLOSED_VISIT:
        raise Conflict(
            "This visit is no longer booked, so its forms are closed.",
            [FieldError("appointment", "The visit is cancelled or missed.")],
            code="visit_closed",
        )
    refusal = _email_refusal(appointment)
    if refusal is not None:
        raise Invalid.on("email", refusal)
    with transaction.atomic():
        request_intake(appointment=appointment, actor=actor)
    return _send(appointment, actor, now or timezone.now(), automatic=False)


# ---- the client's answers ------------------------------------------------------------------------


def _given(value: object) -> bool:
    return not (value is None or value == [] or (isinstance(value, str) and not value.strip()))


def _questions(request: IntakeRequest) -> list[IntakeQuestion]:
    return list(IntakeQuestion.objects.filter(version_id=request.version_id).order_by("position"))


def first_provider(appointment: Appointment) -> int | None:
    """The provider of the appointment's first service: the one expected to decide."""
    return (
        AppointmentService.objects.filter(appointment=appointment)
        .order_by("position")
        .values_list("provider_id", flat=True)
        .first()
    )


@transaction.atomic
def submit_intake(
    *,
    request: IntakeRequest,
    answers: Mapping[str, object],
    ip_address: str | None,
    now: datetime | None = None,
) -> IntakeRequest:
    """Save the client's answers to the version they were asked; flagged answers open a review.

    The pinned version is what the client was asked, so a newer published version does not
    refuse it; a cancelled request or a second submission does.
    """
    locked = (
        IntakeRequest.objects.select_for_update(of=("self",))
        .select_related("appointment", "organization")
        .get(pk=request.pk, organization_id=request.organization_id)
    )
    if locked.status == IntakeRequestStatus.SUBMITTED:
        raise Conflict(
            "This form was already sent to the clinic; thank you. "
            "To change an answer, please tell the clinic.",
            code="already_submitted",
        )
    if locked.status == IntakeRequestStatus.CANCELLED:
        raise Conflict(
            "This form is closed because the visit is no longer booked.", code="intake_closed"
        )
    questions = _questions(locked)
    errors, flags = intake_rules.check_answers([q.as_rule() for q in questions], answers)
    if errors:
        order = {q.key: i for i, q in enumerate(questions)}
        raise Invalid(
            detail=f"Please check {len(errors)} answer{'s' if len(errors) > 1 else ''}.",
            errors=[
                FieldError(key, reason)
                for key, reason in sorted(errors.items(), key=lambda e: order.get(e[0], -1))
            ],
        )
    labels = {q.key: q.label for q in questions}
    kept = {q.key: answers[q.key] for q in questions if _given(answers.get(q.key))}
    now = now or timezone.now()
    locked.answers = kept
    locked.flags = [{"key": key, "reason": reason, "label": labels[key]} for key, reason in flags]
    locked.status = IntakeRequestStatus.SUBMITTED
    locked.submitted_at = now
    locked.submitted_ip = ip_address
    locked.save(update_fields=["answers", "flags", "status", "submitted_at", "submitted_ip"])
    task = None
    if flags:
        appointment = locked.appointment
        task = ReviewTask.objects.create(
            organization_id=locked.organization_id,
            client_id=locked.client_id,
            appointment=appointment,
            intake_request=locked,
            assigned_to_id=first_provider(appointment) if appointment else None,
            created_at=now,
        )
    _event(
        locked.organization,
        None,
        "submitted",
        "intake_request",
        locked.pk,
        answered=len(kept),
        flags=len(flags),
        review_task=task.pk if task else None,
    )
    return locked


# ---- provider review ---------------------------------------------------------------------------


DECISIONS = {ReviewStatus.CLEARED.value, ReviewStatus.NOT_CLEARED.value}


@transaction.atomic
def decide_review(
    *,
    task: ReviewTask,
    actor: User,
    decision: str,
    note: str = "",
    now: datetime | None = None,
) -> ReviewTask:
    """A provider clears the client to treat, or not (with a note saying why)."""
    note = (note or "").strip()
    if decision not in DECISIONS:
        raise Invalid.on("decision", "Choose Cleared or Not cleared.")
    if len(note) > MAX_NOTE:
        raise Invalid.on("note", f"Write at most {MAX_NOTE} characters.")
    if decision == ReviewStatus.NOT_CLEARED and not note:
        raise Invalid.on("note", "Say why the client is not cleared, for the team and the client.")
    locked = (
        ReviewTask.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=task.pk, organization_id=task.organization_id)
    )
    # "Not cleared" may become "cleared" once the provider has what they needed (a doctor's
    # letter, a test spot); a clearance is final: a new concern is a new review.
    reconsidered = locked.status == ReviewStatus.NOT_CLEARED and decision == ReviewStatus.CLEARED
    if locked.status != ReviewStatus.OPEN and not reconsidered:
        raise Conflict(
            f"This review was already decided ({locked.get_status_display().lower()}).",
            code="already_decided",
        )
    if reconsidered and not note:
        raise Invalid.on("note", "Say what changed since it was not cleared.")
    previous = locked.status
    locked.status = decision
    locked.decision_note = note
    locked.decided_by = actor
    locked.decided_at = now or timezone.now()
    locked.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
    _event(
        locked.organization,
        actor,
        "reviewed",
        "review_task",
        locked.pk,
        decision=decision,
        previous=previous,
        intake_request=locked.intake_request_id,
        with_note=bool(note),
    )
    return locked


# ---- reads --------------------------------------------------------------------------------------


def requests_for_appointment(
    organization: Organization, appointment: Appointment
) -> list[IntakeRequest]:
    """The appointment's forms, newest first, with template, version and review task (1 query)."""
    return list(
        IntakeRequest.objects.filter(organization=organization, appointment=appointment)
        .select_related("template", "version", "review_task", "review_task__decided_by")
        .defer("answers", "flags")
        .order_by("status", "template__name", "pk")
    )


def request_detail(organization: Organization, request_id: object) -> IntakeRequest:
    """One intake request of the organization, or 404."""
    return get_owned(
        IntakeRequest.objects.select_related("template", "version", "client", "appointment"),
        organization=organization,
        pk=request_id,
        field="request_id",
        label="intake request",
    )


def review_detail(organization: Organization, review_id: object) -> ReviewTask:
    """One review task of the organization, or 404."""
    return get_owned(
        ReviewTask.objects.select_related("intake_request", "client"),
        organization=organization,
        pk=review_id,
        field="review_id",
        label="review task",
    )


def review_list(
    organization: Organization, *, status: str = ReviewStatus.OPEN
) -> QuerySet[ReviewTask]:
    """Review tasks in a status; open ones only for visits that are still booked."""
    qs = ReviewTask.objects.filter(organization=organization, status=status).select_related(
        "client",
        "appointment",
        "appointment__location",
        "assigned_to",
        "decided_by",
        "intake_request__template",
    )
    # Lists show the flags (read apart, audited), never the whole answers: skip decrypting them.
    qs = qs.defer("intake_request__answers", "decision_note")
    if status == ReviewStatus.OPEN:
        qs = qs.exclude(appointment__status__in=CLOSED_VISIT)
    return qs.order_by("appointment__start", "created_at", "pk")


@dataclass(frozen=True)
class AnsweredQuestion:
    key: str
    label: str
    kind: str
    answer: object
    flagged: str  # the review reason, or ""


@dataclass(frozen=True)
class AnsweredForm:
    request: IntakeRequest
    questions: list[AnsweredQuestion]


def _answered(request: IntakeRequest) -> AnsweredForm:
    answers = request.answers or {}
    flagged = {f["key"]: f["reason"] for f in request.flags or []}
    return AnsweredForm(
        request=request,
        questions=[
            AnsweredQuestion(
                key=q.key,
                label=q.label,
                kind=q.kind,
                answer=answers.get(q.key),
                flagged=flagged.get(q.key, ""),
            )
            for q in request.version.questions.all()
        ],
    )


@transaction.atomic
def view_answers(
    *,
    organization: Organization,
    actor: User,
    requests: list[IntakeRequest] | QuerySet[IntakeRequest],
) -> list[AnsweredForm]:
    """The answers of these submitted forms for a staff member; the read is audited."""
    ids = [r.pk for r in requests]
    loaded = list(
        IntakeRequest.objects.filter(
            organization=organization, pk__in=ids, status=IntakeRequestStatus.SUBMITTED
        )
        .select_related("template", "version", "review_task", "review_task__decided_by")
        .prefetch_related(
            Prefetch("version__questions", queryset=IntakeQuestion.objects.order_by("position"))
        )
        .order_by("template__name", "pk")
    )
    if loaded:
        record_event(
            organization=organization,
            actor=actor,
            action="intake.answers_viewed",
            object_type="client",
            object_id=loaded[0].client_id,
            data={"requests": [r.pk for r in loaded]},
        )
    return [_answered(r) for r in loaded]


@transaction.atomic
def view_flags(
    *, organization: Organization, actor: User, tasks: list[ReviewTask]
) -> dict[int, list[dict[str, str]]]:
    """The flagged reasons of these review tasks' forms, by task id; the read is audited."""
    if not tasks:
        return {}
    record_event(
        organization=organization,
        actor=actor,
        action="intake.flags_viewed",
        object_type="review_task",
        object_id=tasks[0].pk,
        data={"tasks": [t.pk for t in tasks]},
    )
    return {t.pk: list(t.intake_request.flags or []) for t in tasks}
