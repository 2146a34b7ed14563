"""Consents: versions, what an appointment needs signed, signing, immutability and the PDF."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medspa.clinical import consent
from medspa.clinical.consent import (
    ConsentState,
    consent_statuses,
    consent_text_sha256,
    consents_for_appointment,
    signature_counts,
)
from medspa.clinical.consent_pdf import render_signature_pdf
from medspa.clinical.models import ConsentSignature, ConsentTemplate, ConsentTemplateVersion
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import AuditEvent
from medspa.scheduling.selectors import Wanted
from tests.clinical.consent_helpers import (
    SIGNATURE,
    data_url,
    drawn_png,
    latest,
    neurotoxin_consent,
    new_version,
    sign,
)
from tests.conftest import Clinic

T0 = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)


def test_the_hash_is_of_title_blank_line_and_body_with_plain_newlines(clinic: Clinic) -> None:
    version = ConsentTemplateVersion(title="Consent", body="Line one\r\nLine two\rEnd")
    expected = hashlib.sha256(b"Consent\n\nLine one\nLine two\nEnd").hexdigest()
    assert consent_text_sha256(version) == expected
    version.body = "Line one\nLine two\nEnd "
    assert consent_text_sha256(version) != expected


def test_an_appointment_needs_each_published_consent_of_its_services_once(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    consent.attach_services(
        organization=clinic.organization,
        actor=None,
        template=template,
        service_ids=[clinic.facial.pk],
    )
    consent.create_template(  # a draft only: asks for nothing yet
        organization=clinic.organization,
        actor=None,
        name="Facial consent",
        service_ids=[clinic.facial.pk],
        body="Draft text",
    )
    appointment = clinic.book(10, wanted=[Wanted(clinic.neurotoxin), Wanted(clinic.facial)])

    needs = consents_for_appointment(appointment)

    assert [(n.template.pk, n.version.number, n.satisfied) for n in needs] == [
        (template.pk, 1, False)
    ]


def test_a_retired_consent_is_no_longer_asked_for(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    consent.update_template(
        organization=clinic.organization, actor=None, template=template, is_active=False
    )
    assert consents_for_appointment(clinic.book(10)) == []


def test_signing_satisfies_the_need_and_is_audited_without_the_image(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    appointment = clinic.book(10)
    witness = clinic.users["front_desk"]

    signature = sign(
        appointment, latest(template), witnessed_by=witness, typed_name=" Maya  Patel "
    )

    [need] = consents_for_appointment(appointment)
    assert need.satisfied and need.signature == signature
    assert signature.typed_name == "Maya Patel" and signature.client_id == appointment.client_id
    event = AuditEvent.objects.get(action="consent.signed")
    assert event.object_id == str(signature.pk) and event.actor == witness
    assert "base64" not in str(event.data) and event.data["version"] == 1


BAD_SIGNATURES: list[tuple[dict[str, Any], str]] = [
    ({"typed_name": "   "}, "typed_name"),
    ({"signature_image": ""}, "signature_image"),
    ({"signature_image": "not a data url"}, "signature_image"),
    ({"signature_image": "data:image/png;base64,@@@not-base64@@@"}, "signature_image"),
    ({"signature_image": data_url(b"GIF89a not really a png")}, "signature_image"),
    ({"signature_image": data_url(drawn_png(blank=True))}, "signature_image"),
    ({"signature_image": data_url(b"\x89PNG" + b"\x00" * 600_000)}, "signature_image"),
]


@pytest.mark.parametrize(("change", "field"), BAD_SIGNATURES)
def test_a_bad_signature_gets_a_clear_error_and_changes_nothing(
    clinic: Clinic, change: dict[str, Any], field: str
) -> None:
    template = neurotoxin_consent(clinic)
    appointment = clinic.book(10)
    with pytest.raises(Invalid) as refused:
        sign(appointment, latest(template), **change)
    assert refused.value.errors[0].field == field and refused.value.detail
    assert not ConsentSignature.objects.exists()


def test_a_jpeg_signature_is_refused(clinic: Clinic) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (50, 20), "white").save(out, format="JPEG")
    fake_png = "data:image/png;base64," + data_url(out.getvalue()).split(",", 1)[1]
    with pytest.raises(Invalid, match="PNG"):
        sign(clinic.book(10), latest(neurotoxin_consent(clinic)), signature_image=fake_png)


@pytest.mark.parametrize("size", [(20000, 20000), (12000, 1000)])
def test_a_signature_claiming_huge_dimensions_is_refused_before_decoding(
    clinic: Clinic, size: tuple[int, int]
) -> None:
    import io

    from PIL import Image

    # A 1-bit PNG of one colour compresses to a few kilobytes whatever its claimed size.
    out = io.BytesIO()
    Image.new("1", size, 1).save(out, format="PNG", optimize=True)
    bomb = data_url(out.getvalue())
    with pytest.raises(Invalid) as refused:
        sign(clinic.book(10), latest(neurotoxin_consent(clinic)), signature_image=bomb)
    assert refused.value.errors[0].field == "signature_image"
    assert not ConsentSignature.objects.exists()


def test_a_signature_on_an_outdated_version_is_refused_and_changes_nothing(
    clinic: Clinic,
) -> None:
    template = neurotoxin_consent(clinic)
    first = latest(template)
    new_version(clinic, template, requires_resignature=False, body="Clearer text.")
    appointment = clinic.book(10)

    with pytest.raises(Conflict) as outdated:
        sign(appointment, first)
    assert outdated.value.code == "consent_outdated" and outdated.value.status == 409
    with pytest.raises(Conflict) as tampered:
        sign(appointment, latest(template), text_sha256=consent_text_sha256(first))
    assert tampered.value.code == "consent_outdated"
    assert not ConsentSignature.objects.exists()


def test_a_draft_cannot_be_signed(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    draft = consent.start_draft(organization=clinic.organization, actor=None, template=template)
    with pytest.raises(Conflict, match="updated"):
        sign(clinic.book(10), draft)


@pytest.mark.parametrize(
    ("requires_resignature", "state"),
    [(False, ConsentState.SIGNED), (True, ConsentState.VERSION_CHANGED)],
)
def test_a_new_version_asks_for_a_new_signature_only_where_it_says_so(
    clinic: Clinic, requires_resignature: bool, state: ConsentState
) -> None:
    template = neurotoxin_consent(clinic, now=T0)
    appointment = clinic.book(10)
    sign(appointment, latest(template), now=T0 + timedelta(days=1))

    new_version(
        clinic, template, requires_resignature=requires_resignature, now=T0 + timedelta(days=2)
    )

    [status] = consent_statuses(appointment, now=T0 + timedelta(days=3))
    assert status.state == state and status.need.version.number == 2
    assert status.need.satisfied == (state == ConsentState.SIGNED)


def test_a_signature_lapses_after_the_templates_valid_days(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic, valid_days=365, now=T0)
    appointment = clinic.book(10)
    sign(appointment, latest(template), now=T0)

    [within] = consent_statuses(appointment, now=T0 + timedelta(days=365))
    [after] = consent_statuses(appointment, now=T0 + timedelta(days=366))

    assert within.state == ConsentState.SIGNED
    assert after.state == ConsentState.EXPIRED and after.label.startswith("Expired")


def test_another_clients_signature_does_not_count(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    sign(clinic.book(10), latest(template))
    [need] = consents_for_appointment(clinic.book(12))
    assert not need.satisfied


def test_the_needs_of_an_appointment_take_two_queries_whatever_their_number(
    clinic: Clinic, django_assert_max_num_queries: Any
) -> None:
    appointment = clinic.book(10, wanted=[Wanted(clinic.neurotoxin), Wanted(clinic.facial)])
    for n in range(4):
        template = neurotoxin_consent(clinic, name=f"Consent {n}")
        new_version(clinic, template, requires_resignature=n % 2 == 0)
        sign(appointment, latest(template))
    with django_assert_max_num_queries(2):
        needs = consents_for_appointment(appointment)
        assert all(n.satisfied for n in needs) and len(needs) == 4


def test_published_versions_never_change(clinic: Clinic) -> None:
    template = neurotoxin_consent(clinic)
    published = latest(template)
    for change in ({"body": "Tampered"}, {"title": "Other"}, {"requires_resignature": False}):
        with pytest.raises(Conflict) as refused:
            consent.edit_draft(
                organization=clinic.organization, actor=None, version=published, **change
            )
        assert refused.value.code == "version_published"
    with pytest.raises(Conflict):
        consent.publish_version(organization=clinic.organization, actor=None, version=published)
    published.refresh_from_db()
    assert published.body.startswith("I understand") and published.requires_resignature


def test_a_draft_is_edited_then_published_and_an_empty_one_is_refused(clinic: Clinic) -> None:
    template = consent.create_template(
        organization=clinic.organization, actor=None, name="Laser consent", valid_days=180
    )
    draft = template.versions.get()
    with pytest.raises(Invalid) as empty:
        consent.publish_version(organization=clinic.organization, actor=None, version=draft)
    assert empty.value.errors[0].field == "body"
    consent.edit_draft(
        organization=clinic.organization,
        actor=None,
        version=draft,
        title="Consent to laser hair removal",
        body="Laser light may cause redness.\r\n\r\nProtect the area from the sun.",
    )
    published = consent.publish_version(organization=clinic.organization, actor=None, version=draft)
    assert published.published_at is not None and "\r" not in published.body
    with pytest.raises(Conflict) as second:
        consent.start_draft(organization=clinic.organization, actor=None, template=template)
        consent.start_draft(organization=clinic.organization, actor=None, template=template)
    assert second.value.code == "draft_exists"
    actions = list(
        AuditEvent.objects.filter(object_type="consent_template", object_id=str(template.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "consent.template_created",
        "consent.draft_edited",
        "consent.version_published",
        "consent.draft_started",
    ]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "X" * 201}, "name"),
        ({"name": "Neurotoxin consent"}, "name"),
        ({"name": "New", "valid_days": 0}, "valid_days"),
        ({"name": "New", "title": ""}, "title"),
        ({"name": "New", "body": "a\x00b"}, "body"),
    ],
)
def test_a_bad_template_is_refused_and_changes_nothing(
    clinic: Clinic, values: dict[str, Any], field: str
) -> None:
    neurotoxin_consent(clinic)
    with pytest.raises(Invalid) as refused:
        consent.create_template(organization=clinic.organization, actor=None, **values)
    assert refused.value.errors[0].field == field
    assert ConsentTemplate.objects.count() == 1


def test_another_organizations_records_are_not_found(clinic: Clinic, outsider: Clinic) -> None:
    theirs = neurotoxin_consent(outsider)
    ours = neurotoxin_consent(clinic)
    with pytest.raises(NotFound):
        consent.attach_services(
            organization=clinic.organization,
            actor=None,
            template=ours,
            service_ids=[outsider.facial.pk],
        )
    with pytest.raises(NotFound):
        consent.start_draft(organization=clinic.organization, actor=None, template=theirs)
    with pytest.raises(NotFound):
        sign(clinic.book(10), latest(theirs))
    with pytest.raises(NotFound):
        consent.version_detail(clinic.organization, latest(theirs).pk)
    assert list(consent.template_list(clinic.organization)) == [ours]
    assert not ConsentSignature.objects.exists()


def test_a_signed_consent_can_never_be_changed_or_deleted(clinic: Clinic) -> None:
    signature = sign(clinic.book(10), latest(neurotoxin_consent(clinic)))
    signature.typed_name = "Someone else"
    with pytest.raises(ValueError, match="immutable"):
        signature.save()
    with pytest.raises(Conflict):
        consent.delete_signature(organization=clinic.organization, actor=None, signature=signature)
    signature.refresh_from_db()
    assert signature.typed_name == "Maya Patel"


def test_no_code_updates_or_deletes_signatures_in_bulk() -> None:
    """A queryset update or delete would bypass the model's refusal: none is written anywhere."""
    source = Path(consent.__file__).parents[1]
    pattern = re.compile(r"(ConsentSignature|signatures)\b[^\n]*\.(update|delete|bulk_update)\(")
    offenders = [
        str(path)
        for path in source.rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []


# --- The PDF -----------------------------------------------------------------------------------


def test_the_pdf_holds_the_text_the_signature_and_the_evidence(clinic: Clinic) -> None:
    clinic.client.birth_date = datetime(1988, 4, 12, tzinfo=UTC).date()
    clinic.client.save()
    template = neurotoxin_consent(clinic)
    appointment = clinic.book(10, client=clinic.client)
    signature = consent.signature_for_pdf(
        clinic.organization, sign(appointment, latest(template), now=T0).pk
    )

    pdf = render_signature_pdf(signature, compress=False)

    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    for text in (
        clinic.organization.name,
        "Consent to neurotoxin treatment",
        "Version 1 of Neurotoxin consent",
        "12 April 1988",
        "Maya Patel",
        "203.0.113.7",
        signature.text_sha256,
        "Signed electronically",
        clinic.location.time_zone,
    ):
        assert text.encode() in pdf, text
    assert b"/Subtype /Image" in pdf


def test_two_renders_of_a_signature_are_identical_and_long_texts_span_pages(
    clinic: Clinic,
) -> None:
    body = "\n\n".join(
        f"Paragraph {i}: " + "risks and benefits explained. " * 12 for i in range(60)
    )
    template = neurotoxin_consent(clinic, body=body)
    signature = consent.signature_for_pdf(
        clinic.organization, sign(clinic.book(10), latest(template)).pk
    )
    first, second = render_signature_pdf(signature), render_signature_pdf(signature)
    assert first == second
    assert render_signature_pdf(signature, compress=False).count(b"/Type /Page\n") > 2


# --- The rule of a signature that still counts, against a plain oracle --------------------------


@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=6),
    signed_index=st.integers(min_value=0, max_value=5),
    age_days=st.integers(min_value=0, max_value=800),
    valid_days=st.one_of(st.none(), st.integers(min_value=1, max_value=730)),
)
def test_a_signature_counts_exactly_when_the_oracle_says_so(
    flags: list[bool], signed_index: int, age_days: int, valid_days: int | None
) -> None:
    signed_index = min(signed_index, len(flags) - 1)
    template = ConsentTemplate(pk=1, valid_days=valid_days)
    versions = [
        ConsentTemplateVersion(pk=10 + i, template=template, number=i + 1, requires_resignature=f)
        for i, f in enumerate(flags)
    ]
    now = T0 + timedelta(days=800)
    signature = ConsentSignature(
        version=versions[signed_index], signed_at=now - timedelta(days=age_days)
    )

    counts = signature_counts(signature, template=template, published=versions, now=now)

    fresh = valid_days is None or age_days <= valid_days
    still_current = not any(flags[signed_index + 1 :])
    assert counts == (fresh and still_current)
    assert SIGNATURE.startswith("data:image/png;base64,")
