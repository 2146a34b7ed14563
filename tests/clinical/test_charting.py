"""Charting a visit: notes, injectables, device settings, photos, signing, addenda, aftercare."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from PIL import Image

from medspa.clients.services import record_communication_consent
from medspa.clinical import charting
from medspa.clinical.models import (
    AftercareSent,
    Chart,
    ChartAddendum,
    ChartPhotoContent,
    ChartStatus,
    DeviceSetting,
    InjectableEntry,
)
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import AuditEvent, Role
from medspa.scheduling.models import Appointment, AppointmentStatus
from tests.clinical.chart_helpers import (
    aftercare,
    botox,
    charted,
    checked_in,
    jpeg,
    treating_provider,
)
from tests.conftest import Clinic
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def actions_of(chart: Chart) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="chart", object_id=str(chart.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_a_chart_starts_once_the_client_is_checked_in_and_only_once(clinic: Clinic) -> None:
    provider = treating_provider(clinic)
    booked = clinic.book(10)
    with pytest.raises(Conflict) as refused:
        charting.open_chart(appointment=booked, actor=provider)
    assert refused.value.code == "not_chartable"
    assert not Chart.objects.exists()

    visit = checked_in(clinic, 12)
    first = charting.open_chart(appointment=visit, actor=provider)
    again = charting.open_chart(appointment=visit, actor=provider)

    assert first.pk == again.pk
    assert first.provider == clinic.injector and first.client == visit.client
    assert actions_of(first) == ["chart.opened"]


def test_a_visit_that_never_checked_in_is_not_charted_even_afterwards(clinic: Clinic) -> None:
    visit = clinic.book(10)
    later = visit.end + timedelta(hours=3)
    with pytest.raises(Conflict) as refused:
        charting.open_chart(appointment=visit, actor=treating_provider(clinic), now=later)
    assert refused.value.code == "not_chartable"
    assert not Chart.objects.exists()


def test_products_settings_and_signing_wait_for_treatment_to_start(clinic: Clinic) -> None:
    # Checked in: notes and before photos, yes; what was done, only once the gate let it start.
    provider = treating_provider(clinic)
    chart = charting.open_chart(appointment=checked_in(clinic, 12), actor=provider)
    chart = charting.update_chart_notes(chart=chart, actor=provider, notes="Consult done.")
    for attempt in (
        lambda: charting.add_injectable(chart=chart, actor=provider, **botox(clinic)),
        lambda: charting.sign_chart(chart=chart, actor=provider),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "treatment_not_started"
    chart.refresh_from_db()
    assert chart.status == ChartStatus.DRAFT and not chart.injectables.exists()


def test_a_neurotoxin_entry_records_product_lot_and_sites(clinic: Clinic) -> None:
    chart = charted(clinic)
    entry = charting.add_injectable(chart=chart, actor=treating_provider(clinic), **botox(clinic))
    assert entry.quantity == Decimal("20") and entry.unit == "units"
    assert [s["site"] for s in entry.sites] == ["glabella", "forehead"]
    assert entry.sites[0]["quantity"] == "12" and 0 < entry.sites[0]["x"] < 1
    assert actions_of(chart)[-1] == "chart.injectable_added"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "10.125"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"unit": "ml"}, "unit"),
        ({"kind": "filler", "unit": "units"}, "unit"),
        ({"lot_number": "  "}, "lot_number"),
        ({"expiry": None}, "expiry"),
        ({"sites": [{"site": "ear"}]}, "sites.0.site"),
        ({"sites": [{"site": "glabella", "quantity": "5"}]}, "sites"),
        ({"product": ""}, "product"),
    ],
)
def test_bad_injectable_input_is_refused_and_nothing_is_charted(
    clinic: Clinic, change: dict[str, Any], field: str
) -> None:
    chart = charted(clinic)
    with pytest.raises(Invalid) as refused:
        charting.add_injectable(
            chart=chart, actor=treating_provider(clinic), **botox(clinic, **change)
        )
    assert refused.value.errors[0].field == field
    assert not InjectableEntry.objects.exists()


def test_an_expired_lot_is_refused_with_a_clear_message(clinic: Clinic) -> None:
    chart = charted(clinic)
    day = chart.appointment.start.astimezone(clinic.location.zone).date()
    with pytest.raises(Invalid) as refused:
        charting.add_injectable(
            chart=chart,
            actor=treating_provider(clinic),
            **botox(clinic, expiry=day - timedelta(days=1)),
        )
    assert "expired" in refused.value.detail and "C1234A5" in refused.value.detail
    assert not InjectableEntry.objects.exists()
    # A lot that expires on the treatment day is still good that day.
    charting.add_injectable(
        chart=chart, actor=treating_provider(clinic), **botox(clinic, expiry=day)
    )


def test_device_settings_need_the_clinics_own_device_and_sensible_numbers(
    clinic: Clinic, outsider: Clinic
) -> None:
    chart = charted(clinic)
    provider = treating_provider(clinic)
    good = {"fluence": "22.5", "pulse_width_ms": "3", "spot_size_mm": "18", "passes": 2}
    setting = charting.add_device_setting(
        chart=chart, actor=provider, device_id=clinic.laser.pk, area="Underarms", **good
    )
    assert setting.fluence == Decimal("22.5") and setting.device == clinic.laser
    with pytest.raises(NotFound):
        charting.add_device_setting(
            chart=chart, actor=provider, device_id=outsider.laser.pk, **good
        )
    with pytest.raises(NotFound):  # a room is not a device
        charting.add_device_setting(
            chart=chart, actor=provider, device_id=clinic.laser_suite.pk, **good
        )
    for bad in ({"fluence": "1500"}, {"passes": 0}, {"spot_size_mm": "-1"}):
        with pytest.raises(Invalid):
            charting.add_device_setting(
                chart=chart, actor=provider, device_id=clinic.laser.pk, **{**good, **bad}
            )
    assert DeviceSetting.objects.count() == 1


def test_a_photo_is_kept_upright_without_exif_and_encrypted(clinic: Clinic) -> None:
    chart = charted(clinic)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° to show upright
    exif[0x010F] = "PhoneMaker"
    original = jpeg(400, 200, exif=exif.tobytes())

    photo = charting.add_photo(
        chart=chart, actor=treating_provider(clinic), upload=io.BytesIO(original), kind="before"
    )
    data, content_type = charting.read_photo(
        organization=clinic.organization, actor=None, photo_id=photo.pk
    )

    stored = Image.open(io.BytesIO(data))
    assert content_type == "image/jpeg" and stored.size == (200, 400)
    assert not stored.getexif()
    thumb, _ = charting.read_photo(
        organization=clinic.organization, actor=None, photo_id=photo.pk, thumbnail=True
    )
    assert max(Image.open(io.BytesIO(thumb)).size) <= 320
    assert photo.sha256 and photo.size == len(data)
    assert (
        AuditEvent.objects.filter(action="chart.photo_viewed", object_id=str(photo.pk)).count() == 2
    )


@pytest.mark.parametrize(
    "upload",
    [b"", b"GIF89a not a photo", b"\xff\xd8\xff truncated", "gif"],
)
def test_files_that_are_not_jpeg_or_png_photos_are_refused(
    clinic: Clinic, upload: bytes | str
) -> None:
    chart = charted(clinic)
    if upload == "gif":
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, format="GIF")
        upload = out.getvalue()
    with pytest.raises(Invalid) as refused:
        charting.add_photo(
            chart=chart, actor=treating_provider(clinic), upload=bytes(upload), kind="before"
        )
    assert refused.value.errors[0].field == "photo"
    assert not ChartPhotoContent.objects.exists()


def test_a_signed_chart_is_locked_and_every_edit_is_refused(clinic: Clinic) -> None:
    provider = treating_provider(clinic)
    chart = charted(clinic)
    entry = charting.add_injectable(chart=chart, actor=provider, **botox(clinic))
    signed = charting.sign_chart(chart=chart, actor=provider)
    assert signed.status == ChartStatus.SIGNED and signed.signed_by == provider

    edits = [
        lambda: charting.update_chart_notes(chart=chart, actor=provider, notes="changed"),
        lambda: charting.add_injectable(chart=chart, actor=provider, **botox(clinic)),
        lambda: charting.remove_injectable(chart=chart, actor=provider, entry_id=entry.pk),
        lambda: charting.add_device_setting(
            chart=chart,
            actor=provider,
            device_id=clinic.laser.pk,
            fluence="10",
            pulse_width_ms="3",
            spot_size_mm="10",
            passes=1,
        ),
        lambda: charting.add_photo(chart=chart, actor=provider, upload=jpeg(), kind="after"),
        lambda: charting.sign_chart(chart=chart, actor=provider),
    ]
    for edit in edits:
        with pytest.raises(Conflict) as refused:
            edit()
        assert refused.value.code == "chart_locked"
        assert "locked" in refused.value.detail
    chart.refresh_from_db()
    assert chart.notes == "Glabella and forehead." and InjectableEntry.objects.count() == 1


def test_only_the_treating_provider_signs_and_never_an_empty_chart(clinic: Clinic) -> None:
    provider = treating_provider(clinic)
    empty = charted(clinic, notes="")
    with pytest.raises(Invalid):
        charting.sign_chart(chart=empty, actor=provider)
    chart = charted(clinic, 14)
    with pytest.raises(Conflict) as refused:
        charting.sign_chart(chart=chart, actor=clinic.users[Role.MANAGER])
    assert refused.value.code == "not_the_provider"
    colleague = UserFactory(organization=clinic.organization, role=Role.PROVIDER)
    clinic.laser_tech.user = colleague
    clinic.laser_tech.save()
    colleague.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        charting.sign_chart(chart=chart, actor=colleague)
    assert clinic.injector.name in refused.value.detail
    assert Chart.objects.filter(status=ChartStatus.SIGNED).count() == 0


def test_addenda_go_on_signed_charts_only(clinic: Clinic) -> None:
    provider = treating_provider(clinic)
    chart = charted(clinic)
    with pytest.raises(Conflict):
        charting.add_addendum(chart=chart, actor=provider, text="Later")
    charting.sign_chart(chart=chart, actor=provider)
    manager = clinic.users[Role.MANAGER]
    addendum = charting.add_addendum(chart=chart, actor=manager, text="Client called: no bruising.")
    assert addendum.author == manager
    with pytest.raises(Invalid):
        charting.add_addendum(chart=chart, actor=manager, text="   ")
    assert actions_of(chart)[-2:] == ["chart.signed", "chart.addendum_added"]


def test_notes_addenda_and_photos_are_never_stored_in_plain_text(clinic: Clinic) -> None:
    provider = treating_provider(clinic)
    chart = charted(clinic, notes="SECRET-NOTE mild ptosis risk")
    photo_bytes = jpeg(32, 32)
    photo = charting.add_photo(chart=chart, actor=provider, upload=photo_bytes, kind="before")
    charting.sign_chart(chart=chart, actor=provider)
    charting.add_addendum(chart=chart, actor=provider, text="SECRET-ADDENDUM bruise")
    stored_image = ChartPhotoContent.objects.get(photo=photo).image

    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM clinical_chart WHERE id = %s", [chart.pk])
        (notes,) = cursor.fetchone()
        cursor.execute("SELECT text FROM clinical_chartaddendum WHERE chart_id = %s", [chart.pk])
        (text,) = cursor.fetchone()
        cursor.execute(
            "SELECT image, thumbnail FROM clinical_chartphotocontent WHERE photo_id = %s",
            [photo.pk],
        )
        image, thumbnail = cursor.fetchone()

    assert "SECRET" not in notes and "SECRET" not in text
    for column in (image, thumbnail):
        raw = column.encode() if isinstance(column, str) else bytes(column)
        assert b"\xff\xd8\xff" not in raw and stored_image[:64] not in raw
    for event in AuditEvent.objects.filter(object_type="chart"):
        assert "SECRET" not in str(event.data)


def test_every_read_of_a_chart_is_audited(clinic: Clinic) -> None:
    chart = charted(clinic)
    manager = clinic.users[Role.MANAGER]
    appointment = charting.appointment_for_chart(clinic.organization, chart.appointment_id)
    charting.view_chart(organization=clinic.organization, actor=manager, appointment=appointment)
    event = AuditEvent.objects.filter(action="chart.viewed").get()
    assert event.actor == manager and event.object_id == str(chart.pk)
    assert "Glabella" not in str(event.data)


def test_charges_list_what_was_used_without_notes_or_sites(clinic: Clinic) -> None:
    chart = charted(clinic, notes="private words")
    provider = treating_provider(clinic)
    charting.add_injectable(chart=chart, actor=provider, **botox(clinic))
    appointment = charting.appointment_for_chart(clinic.organization, chart.appointment_id)

    charges = charting.chart_charges(
        organization=clinic.organization, actor=clinic.users[Role.BILLING], appointment=appointment
    )

    assert charges.services == [(clinic.neurotoxin.pk, "Neurotoxin")]
    assert [(p.product, p.quantity, p.lot_number) for p in charges.products] == [
        ("Botox Cosmetic", Decimal("20.00"), "C1234A5")
    ]
    assert "private" not in repr(charges) and "glabella" not in repr(charges)


def test_the_client_charts_summary_stays_constant_in_queries(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    provider = treating_provider(clinic)
    for hour in (9, 11, 13, 15):
        chart = charted(clinic, hour)
        charting.add_injectable(chart=chart, actor=provider, **botox(clinic))
        charting.add_photo(chart=chart, actor=provider, upload=jpeg(16, 16), kind="before")
    with django_assert_max_num_queries(10):
        found = charting.client_charts(
            organization=clinic.organization, actor=provider, client=clinic.client
        )
    assert len(found) == 4 and found[0].start > found[-1].start
    assert found[0].entries == ["Botox Cosmetic 20 units"] and found[0].photo_count == 1


def test_aftercare_is_e_mailed_with_the_visits_words_and_kept(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    chart = charted(clinic)
    template = aftercare(clinic)
    sent = charting.send_aftercare(
        chart=chart, actor=treating_provider(clinic), template_id=template.pk
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [clinic.client.email]
    assert message.subject == "Your Neurotoxin aftercare"
    assert message.body.startswith(f"Hi {clinic.client.first_name},")
    assert clinic.injector.name in message.body and clinic.organization.name in message.body
    assert sent.body == message.body


def test_aftercare_that_cannot_be_sent_is_not_recorded(clinic: Clinic, settings: Any) -> None:
    chart = charted(clinic)
    template = aftercare(clinic)
    settings.EMAIL_BACKEND = "tests.clinical.chart_helpers.BrokenMail"
    with pytest.raises(Conflict) as refused:
        charting.send_aftercare(
            chart=chart, actor=treating_provider(clinic), template_id=template.pk
        )
    assert refused.value.code == "aftercare_not_sent"
    assert not chart.aftercare.exists()


def test_aftercare_is_not_sent_to_a_client_who_declined_or_has_no_email(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    chart = charted(clinic)
    template = aftercare(clinic)
    record_communication_consent(
        organization=clinic.organization,
        actor=None,
        client=clinic.client,
        channel="email",
        purpose="transactional",
        granted=False,
        source="front desk",
    )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Invalid) as refused:
        charting.send_aftercare(chart=chart, actor=None, template_id=template.pk)
    assert "declined" in refused.value.detail
    assert not mail.outbox and not AftercareSent.objects.exists()


def test_aftercare_templates_refuse_unknown_placeholders(clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused:
        aftercare(clinic, body="Hi {first_name.__class__} {password}")
    assert "placeholder" in refused.value.detail
    assert charting.fill_placeholders("{first_name} {x}", {"first_name": "Ana"}) == "Ana {x}"


def test_another_organizations_chart_rows_are_not_found(clinic: Clinic, outsider: Clinic) -> None:
    ours = charted(clinic)
    theirs = charted(outsider)
    entry = charting.add_injectable(
        chart=theirs, actor=treating_provider(outsider), **botox(outsider)
    )
    with pytest.raises(NotFound):
        charting.chart_of(clinic.organization, theirs.pk)
    with pytest.raises(NotFound):
        charting.remove_injectable(chart=ours, actor=None, entry_id=entry.pk)
    with pytest.raises(NotFound):
        charting.read_photo(organization=clinic.organization, actor=None, photo_id=999999)
    with pytest.raises(NotFound):
        charting.client_charts(organization=clinic.organization, actor=None, client=outsider.client)
    assert InjectableEntry.objects.filter(pk=entry.pk).exists()


def test_a_cancelled_visit_is_never_charted(clinic: Clinic) -> None:
    visit = clinic.book(10, client=ClientFactory(organization=clinic.organization))
    Appointment.objects.filter(pk=visit.pk).update(status=AppointmentStatus.CANCELLED)
    visit.refresh_from_db()
    with pytest.raises(Conflict):
        charting.open_chart(appointment=visit, actor=None, now=visit.end + timedelta(days=1))
    assert not ChartAddendum.objects.exists()
