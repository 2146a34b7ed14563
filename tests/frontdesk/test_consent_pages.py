"""The panel's Consents section, the signed PDF, and the managers' Consents page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.clinical.links import appointment_for_token
from medspa.clinical.models import ConsentTemplate, ConsentTemplateVersion
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.services import cancel_appointment
from tests.clinical.consent_helpers import latest, neurotoxin_consent, new_version, sign
from tests.conftest import Clinic


def signed_in(clinic: Clinic, role: str = Role.FRONT_DESK, *, htmx: bool = True) -> HttpClient:
    browser = HttpClient(HTTP_HX_REQUEST="true") if htmx else HttpClient()
    browser.force_login(clinic.users[role])
    return browser


def section(browser: HttpClient, appointment_id: int) -> str:
    response = browser.get(f"/calendar/appointments/{appointment_id}/consent")
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_the_panel_loads_the_consent_section_lazily(clinic: Clinic) -> None:
    appointment = clinic.book(10)
    page = signed_in(clinic).get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert f'hx-get="/calendar/appointments/{appointment.pk}/consent"' in page
    billing = signed_in(clinic, Role.BILLING).get(f"/calendar/appointments/{appointment.pk}/")
    assert 'id="visit-consent"' not in billing.content.decode()


def test_the_section_shows_each_state_and_the_tablet_button(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    signed_one = neurotoxin_consent(clinic, name="A neurotoxin consent")
    changed = neurotoxin_consent(clinic, name="B photo consent")
    neurotoxin_consent(clinic, name="C aftercare consent")
    appointment = clinic.book(10)
    sign(appointment, latest(signed_one))
    sign(appointment, latest(changed))
    new_version(clinic, changed, requires_resignature=True)
    browser = signed_in(clinic)

    with django_assert_max_num_queries(12):
        html = section(browser, appointment.pk)

    assert "Signed" in html and "by Maya Patel" in html and ">PDF<" in html
    assert "Needs a new signature: version changed" in html
    assert "Needs signature" in html
    # The link signs the moment it was made: compare what it opens, not its exact text.
    token = re.search(r'href="/visit/([^/"]+)/"', html)
    assert token and appointment_for_token(token.group(1)).pk == appointment.pk
    assert "Sign on this tablet" in html
    assert "data:image" not in html
    assert AuditEvent.objects.filter(action="consent.status_viewed").count() == 1


def test_an_expired_signature_says_so(clinic: Clinic) -> None:
    from datetime import timedelta

    from django.utils import timezone

    template = neurotoxin_consent(clinic, valid_days=30)
    appointment = clinic.book(10)
    sign(appointment, latest(template), now=timezone.now() - timedelta(days=40))
    assert "Expired" in section(signed_in(clinic), appointment.pk)


def test_a_fully_signed_or_cancelled_visit_offers_no_tablet(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    signed, cancelled = clinic.book(10), clinic.book(12)
    sign(signed, latest(template))
    cancel_appointment(appointment=cancelled, actor=None, reason="other")
    browser = signed_in(clinic)
    assert "Sign on this tablet" not in section(browser, signed.pk)
    html = section(browser, cancelled.pk)
    assert "Sign on this tablet" not in html and "closed" in html


def test_the_pdf_opens_for_the_desk_and_is_audited(clinic: Clinic) -> None:
    signature = sign(clinic.book(10), latest(neurotoxin_consent(clinic)))
    response = signed_in(clinic, htmx=False).get(f"/consents/signatures/{signature.pk}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="consent.pdf_viewed").count() == 1


@pytest.mark.parametrize("role", [Role.BILLING])
def test_roles_without_consent_view_get_404(clinic: Clinic, role: str) -> None:
    appointment = clinic.book(10)
    signature = sign(appointment, latest(neurotoxin_consent(clinic)))
    browser = signed_in(clinic, role)
    assert browser.get(f"/calendar/appointments/{appointment.pk}/consent").status_code == 404
    assert browser.get(f"/consents/signatures/{signature.pk}.pdf").status_code == 404


def test_another_organizations_visits_and_signatures_are_not_found(
    clinic: Clinic, outsider: Clinic
) -> None:
    appointment = outsider.book(10)
    signature = sign(appointment, latest(neurotoxin_consent(outsider)))
    theirs = neurotoxin_consent(outsider, name="Their other consent")
    browser = signed_in(clinic, Role.OWNER, htmx=False)
    for url in (
        f"/calendar/appointments/{appointment.pk}/consent",
        f"/consents/signatures/{signature.pk}.pdf",
        f"/consents/{theirs.pk}/",
    ):
        assert browser.get(url).status_code == 404, url
    assert browser.post(f"/consents/{theirs.pk}/versions/new").status_code == 404
    assert not AuditEvent.objects.filter(action="consent.pdf_viewed").exists()


# --- The Consents page -------------------------------------------------------------------------


def test_only_managers_see_the_consents_page(clinic: Clinic) -> None:
    for role, status in ((Role.MANAGER, 200), (Role.OWNER, 200), (Role.FRONT_DESK, 404)):
        assert signed_in(clinic, role, htmx=False).get("/consents/").status_code == status


def test_a_manager_writes_and_publishes_a_consent(clinic: Clinic) -> None:
    browser = signed_in(clinic, Role.MANAGER, htmx=False)
    created = browser.post(
        "/consents/",
        {"name": "Filler consent", "valid_days": "365", "services": [str(clinic.neurotoxin.pk)]},
    )
    assert created.status_code == 302
    template = ConsentTemplate.objects.get(name="Filler consent")
    draft = template.versions.get()
    saved = browser.post(
        f"/consents/{template.pk}/versions/{draft.pk}",
        {"title": "Consent to filler", "body": "Filler may swell.", "action": "publish"},
        follow=True,
    )
    assert "Published. Clients sign this text" in saved.content.decode()
    draft.refresh_from_db()
    assert draft.published_at is not None and draft.body == "Filler may swell."
    assert list(template.services.all()) == [clinic.neurotoxin]


def test_publishing_an_empty_text_is_refused_next_to_the_field_and_keeps_the_draft(
    clinic: Clinic,
) -> None:
    browser = signed_in(clinic, Role.MANAGER, htmx=False)
    browser.post("/consents/", {"name": "Laser consent"})
    template = ConsentTemplate.objects.get(name="Laser consent")
    draft = template.versions.get()
    refused = browser.post(
        f"/consents/{template.pk}/versions/{draft.pk}",
        {"title": "Changed title", "body": "  ", "action": "publish"},
    )
    html = refused.content.decode()
    assert refused.status_code == 422 and 'id="d-body-error"' in html
    assert "Write the consent text before publishing." in html
    draft.refresh_from_db()
    assert draft.published_at is None and draft.title == "Laser consent"


def test_a_new_version_starts_from_the_current_text_and_may_keep_signatures(
    clinic: Clinic,
) -> None:
    template = neurotoxin_consent(clinic)
    appointment = clinic.book(10)
    sign(appointment, latest(template))
    browser = signed_in(clinic, Role.MANAGER, htmx=False)
    page = browser.post(f"/consents/{template.pk}/versions/new", follow=True).content.decode()
    assert "Draft: version 2" in page and "I understand that neurotoxin" in page
    draft = ConsentTemplateVersion.objects.get(template=template, number=2)
    browser.post(
        f"/consents/{template.pk}/versions/{draft.pk}",
        {"title": draft.title, "body": draft.body + "\n\nTypo fixed.", "action": "publish"},
    )
    html = section(signed_in(clinic), appointment.pk)
    assert "by Maya Patel" in html and "version 2" in html


def test_settings_attach_services_and_refuse_a_bad_number(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    browser = signed_in(clinic, Role.MANAGER, htmx=False)
    refused = browser.post(
        f"/consents/{template.pk}/settings",
        {"valid_days": "0", "services": [str(clinic.facial.pk)], "is_active": "on"},
    )
    assert refused.status_code == 422 and 'id="s-days-error"' in refused.content.decode()
    assert list(template.services.all()) == [clinic.neurotoxin]
    browser.post(
        f"/consents/{template.pk}/settings",
        {"valid_days": "", "services": [str(clinic.facial.pk)], "is_active": "on"},
    )
    template.refresh_from_db()
    assert list(template.services.all()) == [clinic.facial] and template.valid_days is None


def test_the_consents_page_takes_few_queries(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        new_version(
            clinic, neurotoxin_consent(clinic, name=f"Consent {n}"), requires_resignature=True
        )
    browser = signed_in(clinic, Role.MANAGER, htmx=False)
    with django_assert_max_num_queries(12):
        html = browser.get("/consents/").content.decode()
    assert html.count("v2,") == 5
