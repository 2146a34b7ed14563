"""Consents: the API routes for templates, versions, an appointment's needs and signatures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from medspa.clients.models import Client
from medspa.clinical import consent
from medspa.clinical.consent_pdf import pdf_filename, view_signature_pdf
from medspa.clinical.models import ConsentSignature, ConsentTemplate, ConsentTemplateVersion
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, ShortText, staff
from medspa.scheduling.models import Appointment

router = Router(tags=["consent"])

ServiceIds = Annotated[list[int], Field(max_length=200)]
ValidDays = Annotated[int, Field(ge=1, le=consent.MAX_VALID_DAYS)]
ConsentText = Annotated[str, Field(max_length=consent.MAX_BODY)]


class TemplateIn(Schema):
    name: ShortText
    valid_days: ValidDays | None = None
    services: ServiceIds = []
    title: ShortText | None = None
    body: ConsentText = ""


class TemplatePatchIn(Schema):
    """The fields to change; those left out stay as they are (valid_days null: no expiry)."""

    name: ShortText | None = None
    valid_days: ValidDays | None = None
    is_active: bool | None = None


class DraftIn(Schema):
    """A new version; title and body start as the latest version's unless given."""

    title: ShortText | None = None
    body: ConsentText | None = None
    requires_resignature: bool = True


class DraftPatchIn(Schema):
    title: ShortText | None = None
    body: ConsentText | None = None
    requires_resignature: bool | None = None


class ServicesIn(Schema):
    services: ServiceIds


class VersionSummaryOut(Schema):
    id: int
    number: int
    title: str
    is_draft: bool
    requires_resignature: bool
    published_at: datetime | None

    @staticmethod
    def resolve_is_draft(obj: ConsentTemplateVersion) -> bool:
        return obj.published_at is None


class VersionOut(VersionSummaryOut):
    template_id: int
    body: str
    text_sha256: str
    created_at: datetime

    @staticmethod
    def resolve_text_sha256(obj: ConsentTemplateVersion) -> str:
        return consent.consent_text_sha256(obj)


class ServiceRefOut(Schema):
    id: int
    name: str


class TemplateOut(Schema):
    id: int
    name: str
    valid_days: int | None
    is_active: bool
    created_at: datetime
    services: list[ServiceRefOut]
    versions: list[VersionSummaryOut]

    @staticmethod
    def resolve_services(obj: ConsentTemplate) -> list[Any]:
        return list(obj.services.all())

    @staticmethod
    def resolve_versions(obj: ConsentTemplate) -> list[ConsentTemplateVersion]:
        return list(obj.versions.all())


class SignatureOut(Schema):
    """A signed consent without its drawn image (the PDF shows it)."""

    id: int
    client_id: int
    appointment_id: int | None
    template_id: int
    template_name: str
    version_id: int
    version_number: int
    title: str
    typed_name: str
    signed_at: datetime
    ip_address: str | None
    user_agent: str
    text_sha256: str
    witnessed_by_id: int | None

    @staticmethod
    def resolve_template_id(obj: ConsentSignature) -> int:
        return obj.version.template_id

    @staticmethod
    def resolve_template_name(obj: ConsentSignature) -> str:
        return obj.version.template.name

    @staticmethod
    def resolve_version_number(obj: ConsentSignature) -> int:
        return obj.version.number

    @staticmethod
    def resolve_title(obj: ConsentSignature) -> str:
        return obj.version.title


class NeedOut(Schema):
    template_id: int
    template_name: str
    version_id: int
    version_number: int
    state: str
    label: str
    satisfied: bool
    signature_id: int | None
    signed_at: datetime | None


def _need_out(status: consent.ConsentStatus) -> dict[str, object]:
    need = status.need
    return {
        "template_id": need.template.pk,
        "template_name": need.template.name,
        "version_id": need.version.pk,
        "version_number": need.version.number,
        "state": status.state.value,
        "label": status.label,
        "satisfied": need.satisfied,
        "signature_id": need.signature.pk if need.signature else None,
        "signed_at": need.signature.signed_at if need.signature else None,
    }


@router.get("/consents/templates", response=ListOut[TemplateOut])
def list_templates(request: HttpRequest) -> dict[str, object]:
    """The organization's consents with their services and versions."""
    who = staff(request, "consent.view")
    items = list(consent.template_list(who.organization))
    return {"items": items, "count": len(items)}


@router.post("/consents/templates", response={201: TemplateOut})
def post_template(request: HttpRequest, payload: TemplateIn) -> Status[ConsentTemplate]:
    """Create a consent with a draft version 1 (its text defaults to empty)."""
    who = staff(request, "consent.manage")
    template = consent.create_template(
        organization=who.organization,
        actor=who.user,
        name=payload.name,
        valid_days=payload.valid_days,
        service_ids=payload.services,
        title=payload.title,
        body=payload.body,
    )
    return Status(201, consent.template_detail(who.organization, template.pk))


@router.get("/consents/templates/{consent_id}", response=TemplateOut)
def get_template(request: HttpRequest, consent_id: int) -> ConsentTemplate:
    """One consent with its services and versions."""
    who = staff(request, "consent.view")
    return consent.template_detail(who.organization, consent_id)


@router.patch("/consents/templates/{consent_id}", response=TemplateOut)
def patch_template(
    request: HttpRequest, consent_id: int, payload: TemplatePatchIn
) -> ConsentTemplate:
    """Rename a consent, change how long signatures count, or retire it."""
    who = staff(request, "consent.manage")
    template = consent.template_detail(who.organization, consent_id)
    given = payload.dict(exclude_unset=True)
    consent.update_template(
        organization=who.organization,
        actor=who.user,
        template=template,
        name=payload.name,
        valid_days=payload.valid_days,
        clear_valid_days="valid_days" in given and payload.valid_days is None,
        is_active=payload.is_active,
    )
    return consent.template_detail(who.organization, consent_id)


@router.post("/consents/templates/{consent_id}/versions", response={201: VersionOut})
def post_version(
    request: HttpRequest, consent_id: int, payload: DraftIn
) -> Status[ConsentTemplateVersion]:
    """Start the next version as a draft (409 while a draft exists)."""
    who = staff(request, "consent.manage")
    template = consent.template_detail(who.organization, consent_id)
    draft = consent.start_draft(
        organization=who.organization,
        actor=who.user,
        template=template,
        title=payload.title,
        body=payload.body,
        requires_resignature=payload.requires_resignature,
    )
    return Status(201, consent.version_detail(who.organization, draft.pk))


@router.post("/consents/templates/{consent_id}/services", response=TemplateOut)
def post_services(request: HttpRequest, consent_id: int, payload: ServicesIn) -> ConsentTemplate:
    """Attach services: clients booking them will be asked to sign this consent."""
    who = staff(request, "consent.manage")
    template = consent.template_detail(who.organization, consent_id)
    consent.attach_services(
        organization=who.organization,
        actor=who.user,
        template=template,
        service_ids=payload.services,
    )
    return consent.template_detail(who.organization, consent_id)


@router.post("/consents/templates/{consent_id}/services/detach", response=TemplateOut)
def post_detach_services(
    request: HttpRequest, consent_id: int, payload: ServicesIn
) -> ConsentTemplate:
    """Detach services from the consent."""
    who = staff(request, "consent.manage")
    template = consent.template_detail(who.organization, consent_id)
    consent.detach_services(
        organization=who.organization,
        actor=who.user,
        template=template,
        service_ids=payload.services,
    )
    return consent.template_detail(who.organization, consent_id)


@router.get("/consents/versions/{consent_version_id}", response=VersionOut)
def get_version(request: HttpRequest, consent_version_id: int) -> ConsentTemplateVersion:
    """One version's exact text and its SHA-256."""
    who = staff(request, "consent.view")
    return consent.version_detail(who.organization, consent_version_id)


@router.patch("/consents/versions/{consent_version_id}", response=VersionOut)
def patch_version(
    request: HttpRequest, consent_version_id: int, payload: DraftPatchIn
) -> ConsentTemplateVersion:
    """Change a draft (a published version answers 409: it never changes)."""
    who = staff(request, "consent.manage")
    version = consent.version_detail(who.organization, consent_version_id)
    consent.edit_draft(
        organization=who.organization,
        actor=who.user,
        version=version,
        **payload.dict(exclude_unset=True),
    )
    return consent.version_detail(who.organization, consent_version_id)


@router.post("/consents/versions/{consent_version_id}/publish", response=VersionOut)
def post_publish(request: HttpRequest, consent_version_id: int) -> ConsentTemplateVersion:
    """Publish a draft: clients sign this text from now on."""
    who = staff(request, "consent.manage")
    version = consent.version_detail(who.organization, consent_version_id)
    consent.publish_version(organization=who.organization, actor=who.user, version=version)
    return consent.version_detail(who.organization, consent_version_id)


@router.get("/appointments/{appointment_id}/consents", response=ListOut[NeedOut])
def get_appointment_consents(request: HttpRequest, appointment_id: int) -> dict[str, object]:
    """The consents the appointment needs and whether each is signed."""
    who = staff(request, "consent.view")
    appointment = get_owned(
        Appointment.objects.select_related("organization"),
        organization=who.organization,
        pk=appointment_id,
        field="appointment_id",
    )
    with transaction.atomic():
        statuses = consent.view_consent_statuses(appointment=appointment, actor=who.user)
    items = [_need_out(s) for s in statuses]
    return {"items": items, "count": len(items)}


@router.get("/clients/{client_id}/consents/signatures", response=ListOut[SignatureOut])
def get_client_signatures(request: HttpRequest, client_id: int) -> dict[str, object]:
    """A client's signed consents, newest first (no images)."""
    who = staff(request, "consent.view")
    client = get_owned(Client, organization=who.organization, pk=client_id, field="client_id")
    with transaction.atomic():
        items = consent.signatures_for_client(who.organization, client, actor=who.user)
    return {"items": items, "count": len(items)}


@router.get(
    "/consents/signatures/{signature_id}/pdf",
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "The signed consent as a PDF.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_signature_pdf(request: HttpRequest, signature_id: int) -> HttpResponse:
    """The signed consent as a PDF: text, drawn signature and the evidence of signing."""
    who = staff(request, "consent.view")
    signature, pdf = view_signature_pdf(who.organization, signature_id, actor=who.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(signature)}"'
    response["Cache-Control"] = "no-store"
    return response
