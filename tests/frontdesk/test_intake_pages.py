"""Staff side of intake: the panel's forms section, its audited answers, deciding a review,
and the Reviews page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client as HttpClient

from medspa.clinical.intake_requests import submit_intake
from medspa.clinical.models import ReviewStatus, ReviewTask
from medspa.core.models import AuditEvent, Role, User
from medspa.scheduling.models import Appointment
from tests.clinical.helpers import screening
from tests.conftest import Clinic
from tests.portal.helpers import CALM, FLAGGED, visit_with_forms


def signed_in(user: User) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)
    return browser


def section(appointment: Appointment, rest: str = "") -> str:
    return f"/calendar/appointments/{appointment.pk}/intake{rest}"


def test_the_desk_sees_the_forms_state_and_can_send_the_link(clinic: Clinic) -> None:
    appointment, _ = visit_with_forms(clinic)
    desk = signed_in(clinic.users[Role.FRONT_DESK])

    before = desk.get(section(appointment)).content.decode()
    sent = desk.post(section(appointment, "/send"), HTTP_HX_REQUEST="true").content.decode()

    assert "Waiting: link not sent yet" in before and "Send link" in before
    assert "Open on this tablet" in before and "/visit/" in before
    assert "View answers" not in before
    assert f"Link sent to {appointment.client.email}" in sent and "Send again" in sent
    assert len(mail.outbox) == 1


def test_without_an_email_address_the_desk_is_pointed_to_the_tablet(clinic: Clinic) -> None:
    appointment, _ = visit_with_forms(clinic)
    appointment.client.email = ""
    appointment.client.save()

    html = signed_in(clinic.users[Role.FRONT_DESK]).get(section(appointment)).content.decode()

    assert "Send link" not in html and "No e-mail address on file" in html
    assert "Open on this tablet" in html


def test_billing_sees_the_state_but_cannot_send_or_read_answers(clinic: Clinic) -> None:
    appointment, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    billing = signed_in(clinic.users[Role.BILLING])

    html = billing.get(section(appointment)).content.decode()

    assert "Received" in html and "Send" not in html and "View answers" not in html
    assert billing.get(section(appointment, "/answers")).status_code == 404
    assert billing.post(section(appointment, "/send")).status_code == 404


def test_a_provider_reads_the_answers_in_an_audited_disclosure(clinic: Clinic) -> None:
    appointment, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    provider = signed_in(clinic.users[Role.PROVIDER])

    closed = provider.get(section(appointment)).content.decode()
    opened = provider.get(section(appointment, "/answers")).content.decode()

    assert "Flagged for a provider" in closed and "Warfarin" not in closed
    assert "Warfarin" in opened and "Needs review: Pregnancy: no neurotoxin" in opened
    assert "Record decision" in opened
    assert AuditEvent.objects.filter(action="intake.answers_viewed").count() == 1
    assert (
        signed_in(clinic.users[Role.FRONT_DESK]).get(section(appointment, "/answers")).status_code
        == 404
    )


def test_deciding_not_cleared_without_a_note_is_refused_then_cleared_is_recorded(
    clinic: Clinic,
) -> None:
    appointment, request = visit_with_forms(clinic)
    submit_intake(request=request, answers=FLAGGED, ip_address=None)
    task = ReviewTask.objects.get()
    provider = signed_in(clinic.users[Role.PROVIDER])
    url = section(appointment, f"/reviews/{task.pk}/decision")

    refused = provider.post(url, {"decision": "not_cleared", "note": ""}, HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert refused.status_code == 422 and "Say why" in refused.content.decode()
    assert task.status == ReviewStatus.OPEN

    cleared = provider.post(url, {"decision": "cleared"}, HTTP_HX_REQUEST="true")

    assert "Review recorded: Cleared to treat." in cleared.content.decode()
    task.refresh_from_db()
    assert task.status == ReviewStatus.CLEARED and task.decided_by == clinic.users[Role.PROVIDER]


def test_the_reviews_page_lists_open_reviews_with_their_reasons(
    clinic: Clinic, outsider: Clinic, django_assert_max_num_queries: Any
) -> None:
    screening(clinic)
    for hour in (9, 11, 13):
        flagged = clinic.book(hour).intake_requests.get()
        submit_intake(request=flagged, answers=FLAGGED, ip_address=None)
    calm = clinic.book(15).intake_requests.get()
    submit_intake(request=calm, answers=CALM, ip_address=None)
    _, theirs = visit_with_forms(outsider)
    submit_intake(request=theirs, answers=FLAGGED, ip_address=None)
    provider = signed_in(clinic.users[Role.PROVIDER])

    with django_assert_max_num_queries(16):
        page = provider.get("/reviews/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="review-item') == 3
    assert "Pregnancy: no neurotoxin" in html
    assert theirs.client.full_name not in html
    assert 'aria-current="page">Reviews' in html
    assert AuditEvent.objects.filter(action="intake.flags_viewed").count() == 1


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_the_reviews_page_is_absent_for_non_clinical_roles(clinic: Clinic, role: str) -> None:
    browser = signed_in(clinic.users[role])

    assert browser.get("/reviews/").status_code == 404
    assert ">Reviews<" not in browser.get("/clients/").content.decode()


def test_another_organizations_appointment_is_not_found(clinic: Clinic, outsider: Clinic) -> None:
    theirs, _ = visit_with_forms(outsider)
    owner = signed_in(clinic.users[Role.OWNER])

    assert owner.get(section(theirs)).status_code == 404
    assert owner.get(section(theirs, "/answers")).status_code == 404
    assert owner.post(section(theirs, "/send")).status_code == 404
    assert mail.outbox == []
