"""The chart page on a tablet: a provider charts and signs; others see what their role allows."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from medspa.clinical import charting
from medspa.clinical.models import Chart, ChartStatus, InjectableEntry
from medspa.core.models import AuditEvent, Role, User
from medspa.scheduling.models import AppointmentStatus
from medspa.scheduling.services import change_status
from tests.clinical.chart_helpers import botox, charted, checked_in, jpeg, treating_provider
from tests.conftest import Clinic

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)
    return browser


def entry_form(clinic: Clinic, **change: str) -> dict[str, Any]:
    return {
        "product": "Botox Cosmetic",
        "kind": "neurotoxin",
        "quantity": "20",
        "unit": "units",
        "lot_number": "C1234A5",
        "expiry": (clinic.day().replace(year=clinic.day().year + 1)).isoformat(),
        "site": ["glabella", "forehead"],
        "units_glabella": "12",
        "units_forehead": "8",
        **change,
    }


def test_a_provider_starts_charts_and_signs_a_visit(clinic: Clinic) -> None:
    visit = checked_in(clinic)
    browser = signed_in(treating_provider(clinic))
    page = f"/appointments/{visit.pk}/chart/"

    assert b"Start the chart" in browser.get(page).content
    browser.post(f"{page}open")
    browser.post(f"{page}notes", {"notes": "Mild asymmetry of the brows."})
    change_status(appointment=visit, actor=None, status=AppointmentStatus.IN_TREATMENT)
    added = browser.post(f"{page}injectables", entry_form(clinic))
    browser.post(f"{page}photos", {"kind": "before", "photo": _file()})
    signed = browser.post(f"{page}sign", follow=True)

    assert added.status_code == 302
    chart = Chart.objects.get(appointment=visit)
    assert chart.status == ChartStatus.SIGNED and chart.photos.count() == 1
    entry = InjectableEntry.objects.get()
    assert [s["site"] for s in entry.sites] == ["glabella", "forehead"]
    assert b"Signed by" in signed.content and b"Add addendum" in signed.content
    assert b"Save notes" not in signed.content


def _file() -> Any:
    return SimpleUploadedFile("face.jpg", jpeg(120, 90), content_type="image/jpeg")


def test_an_expired_lot_is_shown_next_to_the_expiry_and_nothing_is_charted(
    clinic: Clinic,
) -> None:
    chart = charted(clinic)
    browser = signed_in(treating_provider(clinic))
    response = browser.post(
        f"/appointments/{chart.appointment_id}/chart/injectables",
        entry_form(clinic, expiry="2020-01-31"),
    )
    assert response.status_code == 422
    assert b'id="e-expiry-error"' in response.content and b"expired" in response.content
    assert b'value="C1234A5"' in response.content  # what was typed stays
    assert not InjectableEntry.objects.exists()


def test_an_edit_of_a_signed_chart_is_refused_on_the_page(clinic: Clinic) -> None:
    chart = charted(clinic)
    provider = treating_provider(clinic)
    charting.sign_chart(chart=chart, actor=provider)
    response = signed_in(provider).post(
        f"/appointments/{chart.appointment_id}/chart/notes", {"notes": "changed"}
    )
    assert response.status_code == 409
    chart.refresh_from_db()
    assert chart.notes == "Glabella and forehead."


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_front_desk_and_billing_get_404_on_the_chart_and_its_photos(
    clinic: Clinic, role: str
) -> None:
    chart = charted(clinic)
    photo = charting.add_photo(
        chart=chart, actor=treating_provider(clinic), upload=jpeg(20, 20), kind="before"
    )
    browser = signed_in(clinic.users[role])
    assert browser.get(f"/appointments/{chart.appointment_id}/chart/").status_code == 404
    assert browser.get(f"/charts/photos/{photo.pk}/").status_code == 404
    assert browser.get(f"/clients/{chart.client_id}/charts").status_code == 404


def test_the_panel_shows_status_to_clinicians_charges_to_billing_nothing_to_the_desk(
    clinic: Clinic,
) -> None:
    chart = charted(clinic, notes="Private words")
    charting.add_injectable(chart=chart, actor=treating_provider(clinic), **botox(clinic))
    url = f"/appointments/{chart.appointment_id}/chart/summary"

    clinician = signed_in(clinic.users[Role.MANAGER]).get(url).content
    billing = signed_in(clinic.users[Role.BILLING]).get(url).content
    desk = signed_in(clinic.users[Role.FRONT_DESK]).get(url).content

    assert b"Draft" in clinician and b"Open chart" in clinician
    assert b"Botox Cosmetic 20 units" in billing and b"C1234A5" in billing
    assert b"Private" not in billing and b"Open chart" not in billing
    assert desk == b""


def test_another_organizations_chart_page_and_photos_are_not_found(
    clinic: Clinic, outsider: Clinic
) -> None:
    theirs = charted(outsider)
    photo = charting.add_photo(
        chart=theirs, actor=treating_provider(outsider), upload=jpeg(20, 20), kind="before"
    )
    browser = signed_in(clinic.users[Role.MANAGER])
    assert browser.get(f"/appointments/{theirs.appointment_id}/chart/").status_code == 404
    assert browser.get(f"/charts/photos/{photo.pk}/thumbnail").status_code == 404
    assert browser.get(f"/clients/{outsider.client.pk}/charts").status_code == 404


def test_photos_stream_without_caching_and_each_view_is_audited(clinic: Clinic) -> None:
    chart = charted(clinic)
    photo = charting.add_photo(
        chart=chart, actor=treating_provider(clinic), upload=jpeg(40, 40), kind="after"
    )
    response = signed_in(clinic.users[Role.MANAGER]).get(f"/charts/photos/{photo.pk}/")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] == "image/jpeg"
    assert AuditEvent.objects.filter(action="chart.photo_viewed").count() == 1


def test_the_chart_page_costs_the_same_queries_however_full_the_chart(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    chart = charted(clinic)
    provider = treating_provider(clinic)
    browser = signed_in(provider)
    url = f"/appointments/{chart.appointment_id}/chart/"
    browser.get(url)
    for _ in range(6):
        charting.add_injectable(chart=chart, actor=provider, **botox(clinic))
        charting.add_photo(chart=chart, actor=provider, upload=jpeg(16, 16), kind="before")
    with django_assert_max_num_queries(40):
        response = browser.get(url)
    assert response.content.count(b"C1234A5") == 6


def test_the_client_card_lists_charts_newest_first_in_constant_queries(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    provider = treating_provider(clinic)
    for hour in (9, 11, 13, 15):
        chart = charted(clinic, hour)
        charting.add_injectable(chart=chart, actor=provider, **botox(clinic))
        for _ in range(3):
            photo = charting.add_photo(
                chart=chart, actor=provider, upload=jpeg(16, 16), kind="before"
            )
    browser = signed_in(provider)
    with django_assert_max_num_queries(20):
        response = browser.get(f"/clients/{clinic.client.pk}/charts")
    assert response.content.count(b'loading="lazy"') == 12
    assert f'src="/charts/photos/{photo.pk}/thumbnail"'.encode() in response.content
    assert f'href="/charts/photos/{photo.pk}/"'.encode() in response.content
    assert b"Botox Cosmetic 20 units" in response.content
