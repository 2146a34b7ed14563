"""Intake requests made at booking, the e-mailed link, the client's answers and the provider's
review: the software flags, a person decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medspa.clients.models import Channel, Purpose
from medspa.clients.services import record_communication_consent
from medspa.clinical.intake_requests import (
    decide_review,
    send_visit_link,
    submit_intake,
    view_answers,
)
from medspa.clinical.models import IntakeRequest, IntakeRequestStatus, ReviewStatus, ReviewTask
from medspa.clinical.services import add_question, publish_version, start_draft
from medspa.core.errors import Conflict, Invalid
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import change_status, reschedule_appointment
from tests.clinical.helpers import MEDS, PREGNANT, draft_of, screening
from tests.conftest import Clinic
from tests.factories import ClientFactory
from tests.portal.helpers import CALM, FLAGGED, visit_with_forms


def audit(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_booking_asks_for_each_form_once_pinned_to_the_published_version(
    clinic: Clinic, outsider: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    template = screening(clinic)
    clinic.facial.intake_templates.add(template)
    screening(outsider)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = clinic.book(10, wanted=[Wanted(clinic.neurotoxin), Wanted(clinic.facial)])

    (request,) = IntakeRequest.objects.filter(appointment=appointment)
    assert request.version == template.versions.get(number=1)
    assert request.status == IntakeRequestStatus.PENDING
    assert request.organization == clinic.organization
    assert audit("intake.requested")[-1].data["requests"] == [request.pk]
    assert not IntakeRequest.objects.filter(organization=outsider.organization).exists()


def test_the_client_gets_the_link_by_email_once_the_booking_commits(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    screening(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = clinic.book(10)

    (message,) = mail.outbox
    assert message.to == [appointment.client.email]
    assert "/visit/" in message.body and "Prepare for your visit" in message.subject
    request = IntakeRequest.objects.get(appointment=appointment)
    assert request.sent_to == appointment.client.email and request.sent_at is not None
    assert audit("intake.link_sent")[-1].data["automatic"] is True


def test_a_service_without_a_published_form_asks_nothing_and_sends_nothing(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    screening(clinic, publish=False)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = clinic.book(10)

    assert not IntakeRequest.objects.filter(appointment=appointment).exists()
    assert mail.outbox == []


def test_a_client_who_declined_email_gets_no_link_and_a_resend_is_refused(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    screening(clinic)
    client = ClientFactory(organization=clinic.organization)
    record_communication_consent(
        organization=clinic.organization,
        actor=None,
        client=client,
        channel=Channel.EMAIL,
        purpose=Purpose.TRANSACTIONAL,
        granted=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        appointment = clinic.book(10, client=client)

    assert mail.outbox == []
    assert IntakeRequest.objects.get(appointment=appointment).sent_at is None
    with pytest.raises(Invalid, match="declined e-mail"):
        send_visit_link(appointment=appointment, actor=clinic.users[Role.FRONT_DESK])
    assert mail.outbox == []


def test_a_client_without_email_is_refused_with_a_clear_message(clinic: Clinic) -> None:
    appointment, _ = visit_with_forms(clinic)
    appointment.client.email = ""
    appointment.client.save()

    with pytest.raises(Invalid, match="no e-mail address"):
        send_visit_link(appointment=appointment, actor=None)


def test_a_failing_mail_server_keeps_the_booking_and_leaves_the_link_unsent(
    clinic: Clinic, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError("Connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    screening(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = clinic.book(10)

    request = IntakeRequest.objects.get(appointment=appointment)
    assert request.sent_at is None and request.sent_to == ""
    assert audit("intake.link_sent") == []


def test_send_again_records_each_sending(clinic: Clinic) -> None:
    appointment, _ = visit_with_forms(clinic)
    desk = clinic.users[Role.FRONT_DESK]

    assert send_visit_link(appointment=appointment, actor=desk) == 1
    assert send_visit_link(appointment=appointment, actor=desk) == 1

    assert len(mail.outbox) == 2
    assert [e.actor for e in audit("intake.link_sent")] == [desk, desk]


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_a_cancelled_or_missed_visit_closes_its_open_forms(clinic: Clinic, status: str) -> None:
    appointment, request = visit_with_forms(clinic)
    if status == "no_show":
        # The visit has started: only then can it be a no-show.
        appointment.start -= timedelta(days=3)
        appointment.end -= timedelta(days=3)
        appointment.save(update_fields=["start", "end"])

    appointment = change_status(
        appointment=appointment, actor=None, status=status, reason="Client called"
    )

    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.CANCELLED
    with pytest.raises(Conflict, match="no longer booked"):
        submit_intake(request=request, answers=CALM, ip_address=None)
    with pytest.raises(Conflict):
        send_visit_link(appointment=appointment, actor=None)


def test_rescheduling_keeps_the_forms(clinic: Clinic) -> None:
    appointment, request = visit_with_forms(clinic)

    reschedule_appointment(appointment=appointment, actor=None, start=clinic.at(14))

    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.PENDING


def test_a_missing_required_answer_is_refused_and_changes_nothing(clinic: Clinic) -> None:
    _, request = visit_with_forms(clinic)

    with pytest.raises(Invalid) as refusal:
        submit_intake(request=request, answers={"medications": ["Aspirin"]}, ip_address=None)

    assert [(e.field, e.reason) for e in refusal.value.errors] == [("pregnant", "Required.")]
    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.PENDING and request.answers is None
    assert audit("intake.submitted") == []


def test_calm_answers_are_saved_encrypted_and_audited_without_content(clinic: Clinic) -> None:
    _, request = visit_with_forms(clinic)

    submit_intake(request=request, answers=CALM, ip_address="203.0.113.9")

    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.SUBMITTED
    assert request.answers == CALM and request.flags == []
    assert request.submitted_ip == "203.0.113.9"
    assert not ReviewTask.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM clinical_intakerequest WHERE id = %s", [request.pk])
        assert "Aspirin" not in str(cursor.fetchone()[0])
    (event,) = audit("intake.submitted")
    assert event.data == {"answered": 2, "flags": 0, "review_task": None}


def test_flagged_answers_open_a_review_for_the_appointments_provider(clinic: Clinic) -> None:
    appointment, request = visit_with_forms(clinic)

    submit_intake(request=request, answers=FLAGGED, ip_address=None)

    task = ReviewTask.objects.get(intake_request=request)
    assert task.status == ReviewStatus.OPEN
    assert task.assigned_to == appointment.lines.get().provider
    assert task.appointment == appointment and task.client == appointment.client
    request.refresh_from_db()
    assert [f["key"] for f in request.flags] == ["pregnant", "medications"]


def test_a_second_submission_is_refused(clinic: Clinic) -> None:
    _, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=CALM, ip_address=None)

    with pytest.raises(Conflict, match="already sent"):
        submit_intake(request=request, answers=FLAGGED, ip_address=None)

    request.refresh_from_db()
    assert request.answers == CALM and not ReviewTask.objects.exists()


def test_a_newer_version_does_not_refuse_the_version_the_client_was_asked(clinic: Clinic) -> None:
    _, request = visit_with_forms(clinic)
    draft = start_draft(organization=clinic.organization, actor=None, template=request.template)
    add_question(
        organization=clinic.organization,
        actor=None,
        version=draft,
        key="age",
        label="Age",
        kind="number",
        required=True,
    )
    publish_version(
        organization=clinic.organization, actor=None, version=draft_of(request.template)
    )

    submit_intake(request=request, answers=CALM, ip_address=None)

    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.SUBMITTED and request.version.number == 1


def test_not_cleared_needs_a_note_and_a_decision_is_made_once(clinic: Clinic) -> None:
    _, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    task = ReviewTask.objects.get()
    provider = clinic.users[Role.PROVIDER]

    with pytest.raises(Invalid, match="Say why"):
        decide_review(task=task, actor=provider, decision="not_cleared", note=" ")
    task.refresh_from_db()
    assert task.status == ReviewStatus.OPEN

    decide_review(task=task, actor=provider, decision="not_cleared", note="Pregnant: postpone")
    with pytest.raises(Conflict, match="already decided"):
        decide_review(task=task, actor=provider, decision="not_cleared", note="Again")
    with pytest.raises(Invalid, match="what changed"):
        decide_review(task=task, actor=provider, decision="cleared")

    task.refresh_from_db()
    assert (task.status, task.decided_by, task.decision_note) == (
        ReviewStatus.NOT_CLEARED,
        provider,
        "Pregnant: postpone",
    )
    assert audit("intake.reviewed")[-1].data["decision"] == "not_cleared"


def test_not_cleared_can_later_be_cleared_with_a_note_and_a_clearance_is_final(
    clinic: Clinic,
) -> None:
    _, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    task = ReviewTask.objects.get()
    provider = clinic.users[Role.PROVIDER]
    decide_review(task=task, actor=provider, decision="not_cleared", note="Ask her doctor first")

    decide_review(task=task, actor=provider, decision="cleared", note="Doctor's letter received")

    task.refresh_from_db()
    assert (task.status, task.decision_note) == (ReviewStatus.CLEARED, "Doctor's letter received")
    assert audit("intake.reviewed")[-1].data["previous"] == "not_cleared"
    with pytest.raises(Conflict, match="already decided"):
        decide_review(task=task, actor=provider, decision="not_cleared", note="Changed my mind")


def test_reading_answers_is_audited_with_ids_only(clinic: Clinic) -> None:
    _, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    provider = clinic.users[Role.PROVIDER]

    (form,) = view_answers(organization=clinic.organization, actor=provider, requests=[request])

    assert {q.key: q.answer for q in form.questions} == FLAGGED
    assert form.questions[0].flagged == PREGNANT["review_reason"]
    (event,) = audit("intake.answers_viewed")
    assert event.actor == provider and event.data == {"requests": [request.pk]}


def test_another_organizations_requests_are_never_read(clinic: Clinic, outsider: Clinic) -> None:
    _, theirs = visit_with_forms(outsider)
    submit_intake(request=theirs, answers=CALM, ip_address=None)

    forms = view_answers(
        organization=clinic.organization, actor=clinic.users[Role.OWNER], requests=[theirs]
    )

    assert forms == [] and audit("intake.answers_viewed") == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pregnant=st.booleans(),
    medications=st.lists(st.sampled_from(MEDS["choices"]), unique=True),
)
def test_a_review_is_opened_exactly_when_an_answer_is_flagged(
    clinic: Clinic, pregnant: bool, medications: list[str]
) -> None:
    # Examples share the test's database: the form is made once.
    if not clinic.neurotoxin.intake_templates.exists():
        screening(clinic)
    appointment = clinic.book(9)
    request = IntakeRequest.objects.get(appointment=appointment)

    submit_intake(
        request=request, answers={"pregnant": pregnant, "medications": medications}, ip_address=None
    )

    flagged = pregnant or bool({"Warfarin", "Isotretinoin"} & set(medications))
    assert ReviewTask.objects.filter(intake_request=request).exists() == flagged
    change_status(appointment=appointment, actor=None, status="cancelled", reason="next example")


# ---- the API ------------------------------------------------------------------------------


def test_the_api_lists_an_appointments_forms_with_flags_only_for_clinical_roles(
    clinic: Clinic, api_as: Any
) -> None:
    appointment, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    url = f"/api/v1/appointments/{appointment.pk}/intake"

    desk = api_as(clinic.users[Role.FRONT_DESK]).get(url).json()
    provider = api_as(clinic.users[Role.PROVIDER]).get(url).json()

    assert desk["items"][0]["status"] == "submitted" and desk["items"][0]["flags"] is None
    assert desk["items"][0]["review"]["status"] == "open"
    assert [f["key"] for f in provider["items"][0]["flags"]] == ["pregnant", "medications"]
    assert len(audit("intake.answers_viewed")) == 1


def test_the_api_sends_the_link_or_says_why_not(clinic: Clinic, api_as: Any) -> None:
    appointment, _ = visit_with_forms(clinic)
    desk = api_as(clinic.users[Role.FRONT_DESK])
    url = f"/api/v1/appointments/{appointment.pk}/intake/send"

    sent = desk.post(url)
    appointment.client.email = ""
    appointment.client.save()
    refused = desk.post(url)

    assert sent.status_code == 200 and sent.json()["forms"] == 1
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "email"
    assert len(mail.outbox) == 1


def test_the_api_reads_one_request_with_its_answers_audited(clinic: Clinic, api_as: Any) -> None:
    _, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=CALM, ip_address=None)

    body = api_as(clinic.users[Role.PROVIDER]).get(f"/api/v1/intake/requests/{request.pk}").json()

    assert {a["key"]: a["answer"] for a in body["answers"]} == CALM
    assert audit("intake.answers_viewed")[-1].data == {"requests": [request.pk], "via": "api"}


def test_the_api_lists_open_reviews_and_records_a_decision(
    clinic: Clinic, outsider: Clinic, api_as: Any
) -> None:
    _, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    _, theirs = visit_with_forms(outsider)
    submit_intake(request=theirs, answers=FLAGGED, ip_address=None)
    provider = api_as(clinic.users[Role.PROVIDER])

    listed = provider.get("/api/v1/reviews?status=open").json()
    (item,) = listed["items"]
    missing = provider.post(
        f"/api/v1/reviews/{item['id']}/decision", {"decision": ""}, content_type="application/json"
    )
    decided = provider.post(
        f"/api/v1/reviews/{item['id']}/decision",
        {"decision": "cleared"},
        content_type="application/json",
    )

    assert item["intake_request"] == request.pk and item["flags"][0]["key"] == "pregnant"
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "decision"
    assert decided.status_code == 200 and decided.json()["status"] == "cleared"
    assert provider.get("/api/v1/reviews").json()["count"] == 0
    assert provider.get("/api/v1/reviews?status=later").status_code == 422
