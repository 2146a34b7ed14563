"""Consents: versioned templates per service, what an appointment needs signed, and signing.

The text a client signs is a published version's title and body; its SHA-256 travels with
the signature, so the exact text signed can always be proven. A signed consent is never
changed or deleted. A new version makes clients sign again only where it says so
(`requires_resignature`); a template's `valid_days` makes a signature lapse with time.

Writes are one transaction and one audit event each; reads are scoped to an organization.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.clinical.models import ConsentSignature, ConsentTemplate, ConsentTemplateVersion
from medspa.clinical.selectors import owned_services
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid, NotFound
from medspa.core.models import Organization, User
from medspa.core.selectors import get_owned
from medspa.scheduling.models import Appointment, AppointmentService

PNG_DATA_URL_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 500 * 1024
MAX_TITLE = 200
MAX_BODY = 100_000
MAX_VALID_DAYS = 3650


# --- What an appointment needs signed (the contract the visit pages and the gate use) -------


@dataclass(frozen=True)
class ConsentNeed:
    """One consent an appointment asks for, its current text, and a signature that counts."""

    template: ConsentTemplate
    version: ConsentTemplateVersion  # latest published version
    signature: ConsentSignature | None  # a signature that still counts, if any

    @property
    def satisfied(self) -> bool:
        return self.signature is not None


def normalised_text(version: ConsentTemplateVersion) -> str:
    """The exact text a client signs: title, a blank line, body; newlines as "\\n"."""
    text = f"{version.title}\n\n{version.body}"
    return text.replace("\r\n", "\n").replace("\r", "\n")


def consent_text_sha256(version: ConsentTemplateVersion) -> str:
    """Hex SHA-256 of the exact text signed.

    The text is `title + "\\n\\n" + body` with every CRLF or lone CR turned into LF,
    encoded as UTF-8; nothing else is stripped or changed, so the hash proves every
    character the client saw.
    """
    return hashlib.sha256(normalised_text(version).encode("utf-8")).hexdigest()


def signature_counts(
    signature: ConsentSignature,
    *,
    template: ConsentTemplate,
    published: Sequence[ConsentTemplateVersion],
    now: datetime,
) -> bool:
    """Whether a signature still counts for the template, given its published versions.

    It counts when it was signed within `valid_days` (if set) and no version published
    after the signed one requires signing again.
    """
    if template.valid_days is not None and (
        signature.signed_at + timedelta(days=template.valid_days) < now
    ):
        return False
    signed_number = next((v.number for v in published if v.pk == signature.version_id), None)
    if signed_number is None:
        return False
    return not any(v.requires_resignature and v.number > signed_number for v in published)


def _signatures_without_image() -> QuerySet[ConsentSignature]:
    # The drawn image is large and encrypted: lists never load it.
    return ConsentSignature.objects.defer("signature_image")


def consents_for_appointment(
    appointment: Appointment, *, now: datetime | None = None
) -> list[ConsentNeed]:
    """Every consent the appointment's services ask for, with a signature that still counts.

    Covers each active template attached to any of the appointment's services, once, if it
    has a published version; ordered by template name. Two queries whatever the size.
    """
    return [status.need for status in consent_statuses(appointment, now=now)]


class ConsentState(StrEnum):
    SIGNED = "signed"
    NEEDS_SIGNATURE = "needs_signature"
    VERSION_CHANGED = "version_changed"
    EXPIRED = "expired"


STATE_LABELS = {
    ConsentState.SIGNED: "Signed",
    ConsentState.NEEDS_SIGNATURE: "Needs signature",
    ConsentState.VERSION_CHANGED: "Needs a new signature: the consent changed",
    ConsentState.EXPIRED: "Expired: needs a new signature",
}


@dataclass(frozen=True)
class ConsentStatus:
    """A need and why it is (not) satisfied, for the staff panel."""

    need: ConsentNeed
    state: ConsentState
    last_signature: ConsentSignature | None  # the client's newest signature of the template

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def _state(need: ConsentNeed, last: ConsentSignature | None, now: datetime) -> ConsentState:
    if need.satisfied:
        return ConsentState.SIGNED
    if last is None:
        return ConsentState.NEEDS_SIGNATURE
    valid_days = need.template.valid_days
    if valid_days is not None and last.signed_at + timedelta(days=valid_days) < now:
        return ConsentState.EXPIRED
    return ConsentState.VERSION_CHANGED


def consent_statuses(
    appointment: Appointment, *, now: datetime | None = None
) -> list[ConsentStatus]:
    """consents_for_appointment with each need's state and the client's newest signature."""
    now = now or timezone.now()
    service_ids = AppointmentService.objects.filter(appointment_id=appointment.pk).values(
        "service_id"
    )
    template_ids = ConsentTemplate.services.through.objects.filter(
        service_id__in=service_ids
    ).values("consenttemplate_id")
    published = list(
        ConsentTemplateVersion.objects.published()
        .filter(
            organization_id=appointment.organization_id,
            template__is_active=True,
            template_id__in=template_ids,
        )
        .select_related("template")
        .order_by("template__name", "template_id", "number")
    )
    if not published:
        return []
    by_template: dict[int, list[ConsentTemplateVersion]] = {}
    by_pk: dict[int, ConsentTemplateVersion] = {}
    for version in published:
        by_template.setdefault(version.template_id, []).append(version)
        by_pk[version.pk] = version
    signatures = _signatures_without_image().filter(
        organization_id=appointment.organization_id,
        client_id=appointment.client_id,
        version_id__in=list(by_pk),
    )
    counting: dict[int, ConsentSignature] = {}
    newest: dict[int, ConsentSignature] = {}
    for signature in signatures.order_by("-signed_at", "-id"):
        # The version is already loaded: callers read signature.version for free.
        signature.version = by_pk[signature.version_id]
        template_id = signature.version.template_id
        versions = by_template[template_id]
        newest.setdefault(template_id, signature)
        if template_id not in counting and signature_counts(
            signature, template=versions[0].template, published=versions, now=now
        ):
            counting[template_id] = signature
    statuses = []
    for template_id, versions in by_template.items():
        need = ConsentNeed(
            template=versions[-1].template,
            version=versions[-1],
            signature=counting.get(template_id),
        )
        last = newest.get(template_id)
        statuses.append(
            ConsentStatus(need=need, state=_state(need, last, now), last_signature=last)
        )
    return statuses


# A signature pad on a large tablet at 3x density is about 3000x1000 pixels.
MAX_SIGNATURE_WIDTH = 4000
MAX_SIGNATURE_HEIGHT = 2000


def _checked_signature_image(signature_image: str) -> str:
    """The data URL if it holds a drawn PNG of at most 500 KB; Invalid otherwise."""
    if not signature_image or not signature_image.startswith(PNG_DATA_URL_PREFIX):
        raise Invalid.on("signature_image", "Please draw your signature in the box.")
    encoded = signature_image[len(PNG_DATA_URL_PREFIX) :]
    # Base64 is 4/3 of the bytes: refuse an oversized image before decoding it.
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise Invalid.on("signature_image", "The signature image is too large (500 KB at most).")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid.on("signature_image", "The signature image could not be read.") from None
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise Invalid.on("signature_image", "The signature image is too large (500 KB at most).")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG":
                raise Invalid.on("signature_image", "The signature must be a PNG image.")
            # A few hundred bytes can claim 20000x20000 pixels: check before decoding them.
            if image.width > MAX_SIGNATURE_WIDTH or image.height > MAX_SIGNATURE_HEIGHT:
                raise Invalid.on("signature_image", "The signature image is too large (pixels).")
            image.load()
            # A single colour everywhere is an empty pad: nothing was drawn.
            blank = image.convert("RGBA").getcolors(1) is not None
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ):
        raise Invalid.on("signature_image", "The signature image could not be read.") from None
    if blank:
        raise Invalid.on("signature_image", "Please draw your signature in the box.")
    return signature_image


def _outdated(detail: str) -> Conflict:
    return Conflict(
        detail,
        [FieldError("version", "This is not the current text of the consent.")],
        code="consent_outdated",
    )


@transaction.atomic
def sign_consent(
    *,
    appointment: Appointment,
    version: ConsentTemplateVersion,
    typed_name: str,
    signature_image: str,
    text_sha256: str,
    ip_address: str | None,
    user_agent: str,
    witnessed_by: User | None = None,
    now: datetime | None = None,
) -> ConsentSignature:
    """Record the appointment's client signing this version of a consent.

    `signature_image` is signature_pad's `toDataURL()` ("data:image/png;base64,...").
    Refuses, changing nothing: a blank name or an empty, unreadable or oversized image
    (Invalid); a version that is not the template's latest published one, or a hash that
    is not this version's text (Conflict, code "consent_outdated").
    """
    now = now or timezone.now()
    typed_name = " ".join(typed_name.split())
    if not typed_name or len(typed_name) > 200:
        raise Invalid.on("typed_name", "Type your full name (1 to 200 characters).")
    _checked_signature_image(signature_image)
    if version.organization_id != appointment.organization_id:
        raise NotFound("No consent version with this id in your organization.")
    # The template row lock orders signing against publishing a newer version.
    template = ConsentTemplate.objects.select_for_update().get(pk=version.template_id)
    latest = (
        ConsentTemplateVersion.objects.published()
        .filter(template=template)
        .order_by("-number")
        .first()
    )
    if latest is None or latest.pk != version.pk:
        raise _outdated(
            "This consent was updated since the page was opened. Please read the new "
            "text and sign again."
        )
    if text_sha256 != consent_text_sha256(latest):
        raise _outdated(
            "The text you signed is not the consent's current text. Please reload the page, "
            "read it and sign again."
        )
    if witnessed_by is not None and witnessed_by.organization_id != appointment.organization_id:
        raise Invalid.on("witnessed_by", "The witness must be staff of this clinic.")
    signature = ConsentSignature.objects.create(
        organization_id=appointment.organization_id,
        client_id=appointment.client_id,
        version=latest,
        appointment=appointment,
        typed_name=typed_name,
        signature_image=signature_image,
        text_sha256=text_sha256,
        signed_at=now,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:300],
        witnessed_by=witnessed_by,
    )
    record_event(
        organization=appointment.organization,
        actor=witnessed_by,
        action="consent.signed",
        object_type="consent_signature",
        object_id=signature.pk,
        data={
            "client": appointment.client_id,
            "appointment": appointment.pk,
            "template": template.pk,
            "version": latest.number,
            "witnessed": witnessed_by is not None,
        },
    )
    return signature


# --- Template management (managers) -----------------------------------------------------------


def _event(
    organization: Organization,
    actor: User | None,
    action: str,
    template: ConsentTemplate | int,
    **data: Any,
) -> None:
    template_id = template if isinstance(template, int) else template.pk
    record_event(
        organization=organization,
        actor=actor,
        action=f"consent.{action}",
        object_type="consent_template",
        object_id=template_id,
        data=data,
    )


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise Invalid.on("name", "Give the consent a name of 1 to 200 characters.")
    return name


def _clean_valid_days(valid_days: int | None) -> int | None:
    if valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
        raise Invalid.on(
            "valid_days",
            f"A signature counts for 1 to {MAX_VALID_DAYS} days, or leave it empty for no expiry.",
        )
    return valid_days


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title or len(title) > MAX_TITLE:
        raise Invalid.on("title", f"Give the consent text a title of 1 to {MAX_TITLE} characters.")
    return title


def _clean_body(body: str) -> str:
    # Newlines are the text's own: only normalise them, so the hash is stable.
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if len(body) > MAX_BODY:
        raise Invalid.on("body", f"The consent text is at most {MAX_BODY} characters.")
    if "\x00" in body:
        raise Invalid.on("body", "The consent text contains a character that is not allowed.")
    return body


def _owned_template(organization: Organization, template: ConsentTemplate) -> ConsentTemplate:
    """The template re-read under lock; 404 unless it is the organization's."""
    locked = (
        ConsentTemplate.objects.select_for_update()
        .filter(organization=organization, pk=template.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No consent template with this id in your organization.")
    return locked


def _locked_draft(
    organization: Organization, version: ConsentTemplateVersion
) -> ConsentTemplateVersion:
    """Re-read the version under lock; refuse (409) unless it is still a draft."""
    locked = (
        ConsentTemplateVersion.objects.select_for_update()
        .filter(organization=organization, pk=version.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No consent version with this id in your organization.")
    if locked.published_at is not None:
        raise Conflict(
            f"Version {locked.number} is published and can never change; start a new version.",
            [FieldError("version", "Published versions are immutable.")],
            code="version_published",
        )
    return locked


@transaction.atomic
def create_template(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    valid_days: int | None = None,
    service_ids: Iterable[int] = (),
    title: str | None = None,
    body: str = "",
) -> ConsentTemplate:
    """Create a consent with a draft version 1 (titled like the consent unless told)."""
    name = _clean_name(name)
    valid_days = _clean_valid_days(valid_days)
    title = _clean_title(title if title is not None else name)
    body = _clean_body(body)
    if ConsentTemplate.objects.filter(organization=organization, name__iexact=name).exists():
        raise Invalid.on("name", f"A consent named {name!r} already exists.")
    services = owned_services(organization, service_ids)
    template = ConsentTemplate.objects.create(
        organization=organization, name=name, valid_days=valid_days
    )
    template.services.set(services)
    ConsentTemplateVersion.objects.create(
        organization=organization,
        template=template,
        number=1,
        title=title,
        body=body,
        # Nobody signed anything before version 1: the flag means nothing yet.
        requires_resignature=True,
        created_by=actor,
    )
    _event(organization, actor, "template_created", template, name=name, valid_days=valid_days)
    return template


@transaction.atomic
def update_template(
    *,
    organization: Organization,
    actor: User | None,
    template: ConsentTemplate,
    name: str | None = None,
    valid_days: int | None = None,
    clear_valid_days: bool = False,
    is_active: bool | None = None,
) -> ConsentTemplate:
    """Rename a consent, change how long its signatures count, or retire it."""
    template = _owned_template(organization, template)
    changed: list[str] = []
    if name is not None:
        name = _clean_name(name)
        taken = ConsentTemplate.objects.filter(organization=organization, name__iexact=name)
        if taken.exclude(pk=template.pk).exists():
            raise Invalid.on("name", f"A consent named {name!r} already exists.")
        template.name = name
        changed.append("name")
    if clear_valid_days or valid_days is not None:
        template.valid_days = None if clear_valid_days else _clean_valid_days(valid_days)
        changed.append("valid_days")
    if is_active is not None:
        template.is_active = is_active
        changed.append("is_active")
    if changed:
        template.save(update_fields=changed)
    _event(organization, actor, "template_updated", template, fields=changed)
    return template


@transaction.atomic
def start_draft(
    *,
    organization: Organization,
    actor: User | None,
    template: ConsentTemplate,
    title: str | None = None,
    body: str | None = None,
    requires_resignature: bool = True,
) -> ConsentTemplateVersion:
    """Open the next version as a draft, starting from the latest version's text unless given."""
    template = _owned_template(organization, template)
    versions = ConsentTemplateVersion.objects.filter(template=template)
    if versions.filter(published_at__isnull=True).exists():
        raise Conflict(
            "This consent already has a draft; edit or publish it first.",
            [FieldError("template", "A draft already exists.")],
            code="draft_exists",
        )
    latest = versions.order_by("-number").first()
    draft = ConsentTemplateVersion.objects.create(
        organization=organization,
        template=template,
        number=latest.number + 1 if latest else 1,
        title=_clean_title(title if title is not None else (latest.title if latest else "")),
        body=_clean_body(body if body is not None else (latest.body if latest else "")),
        requires_resignature=requires_resignature,
        created_by=actor,
    )
    _event(organization, actor, "draft_started", template, version=draft.number)
    return draft


@transaction.atomic
def edit_draft(
    *,
    organization: Organization,
    actor: User | None,
    version: ConsentTemplateVersion,
    title: str | None = None,
    body: str | None = None,
    requires_resignature: bool | None = None,
) -> ConsentTemplateVersion:
    """Change a draft's text or whether it makes clients sign again; published ones refuse."""
    version = _locked_draft(organization, version)
    changed: list[str] = []
    if title is not None:
        version.title = _clean_title(title)
        changed.append("title")
    if body is not None:
        version.body = _clean_body(body)
        changed.append("body")
    if requires_resignature is not None:
        version.requires_resignature = requires_resignature
        changed.append("requires_resignature")
    if changed:
        version.save(update_fields=changed)
    _event(
        organization,
        actor,
        "draft_edited",
        version.template_id,
        version=version.number,
        fields=changed,
    )
    return version


@transaction.atomic
def publish_version(
    *,
    organization: Organization,
    actor: User | None,
    version: ConsentTemplateVersion,
    now: datetime | None = None,
) -> ConsentTemplateVersion:
    """Publish a draft: clients sign this text from now on, and it never changes again."""
    _owned_template(organization, ConsentTemplate(pk=version.template_id))
    version = _locked_draft(organization, version)
    if not version.body.strip():
        raise Invalid.on("body", "Write the consent text before publishing.")
    version.published_at = now or timezone.now()
    version.save(update_fields=["published_at"])
    _event(
        organization,
        actor,
        "version_published",
        version.template_id,
        version=version.number,
        requires_resignature=version.requires_resignature,
        text_sha256=consent_text_sha256(version),
    )
    return version


@transaction.atomic
def attach_services(
    *,
    organization: Organization,
    actor: User | None,
    template: ConsentTemplate,
    service_ids: Iterable[int],
) -> ConsentTemplate:
    """Ask clients booking these services to sign this consent."""
    template = _owned_template(organization, template)
    services = owned_services(organization, service_ids)
    template.services.add(*services)
    _event(
        organization, actor, "services_attached", template, services=sorted(s.pk for s in services)
    )
    return template


@transaction.atomic
def detach_services(
    *,
    organization: Organization,
    actor: User | None,
    template: ConsentTemplate,
    service_ids: Iterable[int],
) -> ConsentTemplate:
    """Stop asking clients booking these services to sign this consent."""
    template = _owned_template(organization, template)
    services = owned_services(organization, service_ids)
    template.services.remove(*services)
    _event(
        organization, actor, "services_detached", template, services=sorted(s.pk for s in services)
    )
    return template


def delete_signature(*, organization: Organization, actor: User | None, signature: object) -> None:
    """Signed consents are legal records: they are never deleted, by anyone."""
    raise Conflict(
        "A signed consent is a permanent record and cannot be deleted.",
        [FieldError("signature", "Signed consents are immutable.")],
        code="signature_immutable",
    )


# --- Reads ----------------------------------------------------------------------------------


def template_list(organization: Organization) -> QuerySet[ConsentTemplate]:
    """The organization's consents by name, with their services and versions (no bodies)."""
    return ConsentTemplate.objects.filter(organization=organization).prefetch_related(
        Prefetch("services", queryset=Service.objects.only("id", "name")),
        Prefetch(
            "versions",
            queryset=ConsentTemplateVersion.objects.order_by("number").defer("body"),
        ),
    )


def template_detail(organization: Organization, template_id: object) -> ConsentTemplate:
    """One consent with its services and every version's text, or 404."""
    qs = ConsentTemplate.objects.prefetch_related(
        Prefetch("services", queryset=Service.objects.only("id", "name")),
        Prefetch("versions", queryset=ConsentTemplateVersion.objects.order_by("number")),
    )
    return get_owned(
        qs, organization=organization, pk=template_id, field="template_id", label="consent template"
    )


def version_detail(
    organization: Organization, version_id: object, *, field: str = "version_id"
) -> ConsentTemplateVersion:
    """One consent version of the organization, or 404."""
    return get_owned(
        ConsentTemplateVersion.objects.select_related("template"),
        organization=organization,
        pk=version_id,
        field=field,
        label="consent version",
    )


def signatures_for_client(
    organization: Organization, client: Client, *, actor: User | None
) -> list[ConsentSignature]:
    """A client's signed consents, newest first, without the drawn images; the read is audited."""
    signatures = list(
        _signatures_without_image()
        .filter(organization=organization, client=client)
        .select_related("version__template", "appointment")
    )
    record_event(
        organization=organization,
        actor=actor,
        action="consent.signatures_viewed",
        object_type="client",
        object_id=client.pk,
        data={"count": len(signatures), "signatures": [s.pk for s in signatures]},
    )
    return signatures


def signature_for_pdf(organization: Organization, signature_id: object) -> ConsentSignature:
    """One signature with everything its PDF shows, or 404."""
    qs = ConsentSignature.objects.select_related(
        "organization", "client", "version__template", "appointment__location"
    )
    return get_owned(
        qs, organization=organization, pk=signature_id, field="signature_id", label="signed consent"
    )


def view_consent_statuses(
    *, appointment: Appointment, actor: User | None, now: datetime | None = None
) -> list[ConsentStatus]:
    """consent_statuses for a staff member; the read of who signed what is audited."""
    statuses = consent_statuses(appointment, now=now)
    record_event(
        organization=appointment.organization,
        actor=actor,
        action="consent.status_viewed",
        object_type="appointment",
        object_id=appointment.pk,
        data={
            "templates": [s.need.template.pk for s in statuses],
            "signatures": [s.last_signature.pk for s in statuses if s.last_signature],
        },
    )
    return statuses
