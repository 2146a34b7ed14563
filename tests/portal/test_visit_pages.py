"""The client's phone pages behind the signed link: the visit, its forms and its consents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from medspa.clinical import consent
from medspa.clinical.links import LinkRefused, appointment_for_token, visit_path, visit_token
from medspa.clinical.models import (
    ConsentSignature,
    ConsentTemplateVersion,
    IntakeRequest,
    IntakeRequestStatus,
    ReviewTask,
)
from medspa.scheduling.models import Appointment
from medspa.scheduling.services import change_status
from tests.conftest import Clinic
from tests.portal.helpers import drawn_signature, visit_with_forms

FILLED = {"q-pregnant": "yes", "q-medications": ["Warfarin", "Aspirin"]}


@pytest.fixture
def phone() -> HttpClient:
    return HttpClient(enforce_csrf_checks=False, REMOTE_ADDR="198.51.100.7")


def form_url(appointment: Any, request: IntakeRequest) -> str:
    return f"{visit_path(appointment)}intake/{request.pk}/"


def consent_url(appointment: Any, version: ConsentTemplateVersion) -> str:
    return f"{visit_path(appointment)}consent/{version.pk}/"


def test_the_visit_page_says_when_where_and_what_is_left_to_do(
    clinic: Clinic, phone: HttpClient, django_assert_max_num_queries: Any
) -> None:
    appointment, _ = visit_with_forms(clinic, with_consent=True)

    with django_assert_max_num_queries(8):
        page = phone.get(visit_path(appointment))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Prepare for your visit" in html and clinic.location.name in html
    assert "Neurotoxin screening" in html and "Fill in" in html
    assert "Neurotoxin consent" in html and ">Sign<" in html
    assert "2 steps left" in html
    assert "Calendar" not in html  # no staff navigation


@pytest.mark.parametrize(
    ("make_url", "status", "words"),
    [
        (lambda a: visit_path(a)[:-6] + "xxxxx/", 404, "not valid"),
        (
            lambda a: f"/visit/{visit_token(a, now=timezone.now() - timedelta(days=201))}/",
            410,
            "expired",
        ),
    ],
)
def test_a_tampered_or_expired_link_gets_a_friendly_refusal(
    clinic: Clinic, phone: HttpClient, make_url: Any, status: int, words: str
) -> None:
    appointment, request = visit_with_forms(clinic)

    page = phone.get(make_url(appointment))
    form = phone.post(make_url(appointment) + f"intake/{request.pk}/", FILLED)

    assert page.status_code == status and words in page.content.decode()
    assert form.status_code == status
    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.PENDING


def test_a_cancelled_visit_closes_its_link(clinic: Clinic, phone: HttpClient) -> None:
    appointment, request = visit_with_forms(clinic)
    url = form_url(appointment, request)
    change_status(appointment=appointment, actor=None, status="cancelled", reason="Ill")

    page = phone.post(url, FILLED)

    assert page.status_code == 410 and "no longer booked" in page.content.decode()


def test_the_form_shows_each_question_by_kind(clinic: Clinic, phone: HttpClient) -> None:
    appointment, request = visit_with_forms(clinic)

    html = phone.get(form_url(appointment, request)).content.decode()

    assert 'type="radio" name="q-pregnant" value="yes"' in html
    assert 'type="checkbox" name="q-medications" value="Warfarin"' in html
    assert "Send to the clinic" in html


def test_a_missing_answer_is_shown_at_its_field_keeps_the_rest_and_saves_nothing(
    clinic: Clinic, phone: HttpClient
) -> None:
    appointment, request = visit_with_forms(clinic)

    page = phone.post(form_url(appointment, request), {"q-medications": ["Warfarin"]})

    html = page.content.decode()
    assert page.status_code == 422
    assert "Please check 1 answer." in html and 'href="#q-pregnant"' in html
    assert 'id="q-pregnant-error">Required.' in html
    assert 'value="Warfarin" checked' in html
    request.refresh_from_db()
    assert request.status == IntakeRequestStatus.PENDING and request.answers is None


def test_a_filled_form_is_received_once_and_flags_a_review(
    clinic: Clinic, phone: HttpClient
) -> None:
    appointment, request = visit_with_forms(clinic)

    sent = phone.post(form_url(appointment, request), FILLED)
    again = phone.post(form_url(appointment, request), {"q-pregnant": "no"})

    assert sent.status_code == 302 and sent["Location"].endswith("?done=intake")
    visit = phone.get(sent["Location"]).content.decode()
    assert "Thank you, we received it." in visit and "Received" in visit
    assert again.status_code == 409 and "already sent" in again.content.decode()
    request.refresh_from_db()
    assert request.answers == {"pregnant": True, "medications": ["Warfarin", "Aspirin"]}
    assert request.submitted_ip == "198.51.100.7"
    assert ReviewTask.objects.filter(intake_request=request).exists()


def test_a_form_of_another_visit_is_not_found(
    clinic: Clinic, outsider: Clinic, phone: HttpClient
) -> None:
    appointment, _ = visit_with_forms(clinic)
    _, theirs = visit_with_forms(outsider)
    # The same clinic's next visit: its form is not reachable from this visit's link.
    other = IntakeRequest.objects.get(appointment=clinic.book(15))

    assert phone.get(form_url(appointment, theirs)).status_code == 404
    assert phone.post(form_url(appointment, other), FILLED).status_code == 404
    other.refresh_from_db()
    assert other.status == IntakeRequestStatus.PENDING


def test_the_consent_page_shows_the_exact_text_and_its_hash(
    clinic: Clinic, phone: HttpClient
) -> None:
    appointment, _ = visit_with_forms(clinic, with_consent=True)
    version = ConsentTemplateVersion.objects.get(template__organization=clinic.organization)

    html = phone.get(consent_url(appointment, version)).content.decode()

    assert "Bruising may occur." in html
    assert f'name="text_sha256" value="{consent.consent_text_sha256(version)}"' in html
    assert "Clear signature" in html and 'for="typed-name"' in html


def test_signing_a_consent_records_name_image_ip_and_hash(
    clinic: Clinic, phone: HttpClient
) -> None:
    appointment, _ = visit_with_forms(clinic, with_consent=True)
    version = ConsentTemplateVersion.objects.get(template__organization=clinic.organization)

    signed = phone.post(
        consent_url(appointment, version),
        {
            "typed_name": "Ana Rivera",
            "signature_image": drawn_signature(),
            "text_sha256": consent.consent_text_sha256(version),
        },
        HTTP_USER_AGENT="Phone/1.0",
    )

    assert signed.status_code == 302
    signature = ConsentSignature.objects.get()
    assert (signature.typed_name, signature.ip_address, signature.user_agent) == (
        "Ana Rivera",
        "198.51.100.7",
        "Phone/1.0",
    )
    assert signature.appointment == appointment
    assert "Signed" in phone.get(visit_path(appointment)).content.decode()


def test_a_blank_signature_or_an_outdated_text_is_refused_and_nothing_is_signed(
    clinic: Clinic, phone: HttpClient
) -> None:
    appointment, _ = visit_with_forms(clinic, with_consent=True)
    version = ConsentTemplateVersion.objects.get(template__organization=clinic.organization)
    shown_hash = consent.consent_text_sha256(version)
    url = consent_url(appointment, version)

    blank = phone.post(url, {"typed_name": "Ana", "signature_image": "", "text_sha256": shown_hash})
    draft = consent.start_draft(
        organization=clinic.organization, actor=None, template=version.template, body="New text."
    )
    consent.publish_version(organization=clinic.organization, actor=None, version=draft)
    outdated = phone.post(
        url, {"typed_name": "Ana", "signature_image": drawn_signature(), "text_sha256": shown_hash}
    )

    assert blank.status_code == 422 and "draw your signature" in blank.content.decode()
    assert outdated.status_code == 409 and "updated" in outdated.content.decode()
    assert "New text." in outdated.content.decode()
    assert not ConsentSignature.objects.exists()


def test_a_consent_of_another_organization_is_not_found(
    clinic: Clinic, outsider: Clinic, phone: HttpClient
) -> None:
    appointment, _ = visit_with_forms(clinic, with_consent=True)
    visit_with_forms(outsider, with_consent=True)
    theirs = ConsentTemplateVersion.objects.get(template__organization=outsider.organization)

    page = phone.post(
        consent_url(appointment, theirs),
        {"typed_name": "Ana", "signature_image": drawn_signature(), "text_sha256": "x"},
    )

    assert page.status_code == 404 and not ConsentSignature.objects.exists()


def test_a_link_follows_its_visit_and_expires_a_day_after_it(clinic: Clinic) -> None:
    appointment, _ = visit_with_forms(clinic)
    token = visit_token(appointment)
    # Moved a month later (as if rescheduled): the link made before still works then.
    Appointment.objects.filter(pk=appointment.pk).update(
        start=appointment.start + timedelta(days=30), end=appointment.end + timedelta(days=30)
    )
    appointment.refresh_from_db()
    assert appointment_for_token(token, now=appointment.start).pk == appointment.pk
    with pytest.raises(LinkRefused) as refused:
        appointment_for_token(token, now=appointment.end + timedelta(days=1, minutes=1))
    assert refused.value.code == "link_expired" and refused.value.status == 410


def test_the_clients_pages_are_never_cached_on_a_shared_tablet(
    clinic: Clinic, phone: HttpClient
) -> None:
    appointment, request = visit_with_forms(clinic)
    for url in (visit_path(appointment), visit_path(appointment) + f"intake/{request.pk}/"):
        assert "no-store" in phone.get(url)["Cache-Control"]
