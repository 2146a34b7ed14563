"""Clients: the API routes of the clients app."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.http import HttpRequest
from django.utils.text import slugify
from ninja import Field, Router, Schema, Status
from ninja.params.functions import Query

from medspa.clients.models import MEDICAL_FLAGS, Client, CommunicationConsent, MedicalHistory
from medspa.clients.selectors import (
    ConsentState,
    client_list,
    consent_history,
    current_consents,
    likely_duplicates,
)
from medspa.clients.services import (
    MAX_MEDICAL_ITEMS,
    create_client,
    merge_clients,
    record_communication_consent,
    record_medical_history,
    update_client,
    view_medical_history,
)
from medspa.core.errors import Invalid
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, LongText, Name, ShortText, Staff, staff

router = Router(tags=["clients"])

Tags = Annotated[list[Name], Field(max_length=50)]


class ClientIn(Schema):
    first_name: Name
    last_name: Name
    phone: Name = ""
    email: Name = ""
    birth_date: date | None = None
    preferred_name: Name = ""
    pronouns: Name = ""
    address_line1: ShortText = ""
    address_line2: ShortText = ""
    city: Name = ""
    region: Name = ""
    postal_code: Name = ""
    country: Name = "US"
    preferred_provider: int | None = None
    preferred_channel: Name = "none"
    staff_notes: LongText = ""
    tags: Tags = []


class ClientPatchIn(Schema):
    """The fields to change; a field left out stays as it is."""

    first_name: Name | None = None
    last_name: Name | None = None
    phone: Name | None = None
    email: Name | None = None
    birth_date: date | None = None
    preferred_name: Name | None = None
    pronouns: Name | None = None
    address_line1: ShortText | None = None
    address_line2: ShortText | None = None
    city: Name | None = None
    region: Name | None = None
    postal_code: Name | None = None
    country: Name | None = None
    preferred_provider: int | None = None
    preferred_channel: Name | None = None
    staff_notes: LongText | None = None
    tags: Tags | None = None


class ClientOut(Schema):
    id: int
    first_name: str
    last_name: str
    preferred_name: str
    pronouns: str
    phone: str
    email: str
    birth_date: date | None
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    preferred_provider: int | None
    preferred_channel: str
    staff_notes: str
    tags: list[str]
    # A merged record answers with the id of the record that kept its history.
    is_active: bool
    merged_into: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_preferred_provider(obj: Client) -> int | None:
        return obj.preferred_provider_id

    @staticmethod
    def resolve_merged_into(obj: Client) -> int | None:
        return obj.merged_into_id


class ClientCreatedOut(ClientOut):
    possible_duplicates: list[int]


class ConsentIn(Schema):
    channel: Name = ""
    purpose: Name = ""
    granted: bool | None = None
    source: Name = "front desk"


class ConsentOut(Schema):
    id: int
    channel: str
    purpose: str
    granted: bool
    source: str
    recorded_at: datetime
    recorded_by: int | None

    @staticmethod
    def resolve_recorded_by(obj: CommunicationConsent) -> int | None:
        return obj.recorded_by_id


class ConsentStateOut(Schema):
    channel: str
    purpose: str
    granted: bool
    source: str
    recorded_at: datetime | None


class ConsentsOut(Schema):
    current: list[ConsentStateOut]
    history: list[ConsentOut]


class MergeIn(Schema):
    merge: int | None = None


@router.get("/clients", response=ListOut[ClientOut])
def list_clients(
    request: HttpRequest,
    q: Name = "",
    tag: Name = "",
    limit: Annotated[int, Query(50, ge=1, le=500)] = 50,
    offset: Annotated[int, Query(0, ge=0)] = 0,
) -> dict[str, object]:
    """The organization's clients (merged records left out), by text and tag."""
    who = staff(request, "clients.view")
    qs = client_list(who.organization, text=q, tag=slugify(tag) if tag.strip() else "")
    return {"items": list(qs[offset : offset + limit]), "count": qs.count()}


@router.post("/clients", response={201: ClientCreatedOut})
def post_client(request: HttpRequest, payload: ClientIn) -> Status[Client]:
    """Register a client; likely duplicates are named in the answer, not refused."""
    who = staff(request, "clients.create")
    client = create_client(organization=who.organization, actor=who.user, **payload.dict())
    duplicates = likely_duplicates(
        who.organization,
        first_name=client.first_name,
        last_name=client.last_name,
        phone=client.phone,
        email=client.email,
        birth_date=client.birth_date,
        exclude_id=client.pk,
    ).values_list("pk", flat=True)
    client.possible_duplicates = list(duplicates)  # type: ignore[attr-defined]
    return Status(201, client)


def _owned(who: Staff, client_id: int) -> Client:
    return get_owned(Client, organization=who.organization, pk=client_id, field="client_id")


@router.get("/clients/{client_id}", response=ClientOut)
def get_client(request: HttpRequest, client_id: int) -> Client:
    """One client; a merged one answers 200 with `merged_into`, so old links can follow."""
    who = staff(request, "clients.view")
    return _owned(who, client_id)


@router.patch("/clients/{client_id}", response=ClientOut)
def patch_client(request: HttpRequest, client_id: int, payload: ClientPatchIn) -> Client:
    """Change the fields sent; a merged client answers 409 naming the record to change."""
    who = staff(request, "clients.update")
    client = _owned(who, client_id)
    return update_client(
        organization=who.organization,
        actor=who.user,
        client=client,
        changes=payload.dict(exclude_unset=True),
    )


@router.get("/clients/{client_id}/consents", response=ConsentsOut)
def get_consents(request: HttpRequest, client_id: int) -> dict[str, object]:
    """Consent to be contacted: the state per channel and purpose, and every decision."""
    who = staff(request, "clients.view")
    client = _owned(who, client_id)
    return {
        "current": [_state(s) for s in current_consents(client)],
        "history": list(consent_history(client)),
    }


def _state(state: ConsentState) -> dict[str, object]:
    return {
        "channel": state.channel,
        "purpose": state.purpose,
        "granted": state.granted,
        "source": state.source,
        "recorded_at": state.recorded_at,
    }


@router.post("/clients/{client_id}/consents", response={201: ConsentOut})
def post_consent(
    request: HttpRequest, client_id: int, payload: ConsentIn
) -> Status[CommunicationConsent]:
    """Record a decision of the client about being contacted (a new row; history is kept)."""
    who = staff(request, "clients.update")
    client = _owned(who, client_id)
    consent = record_communication_consent(
        organization=who.organization, actor=who.user, client=client, **payload.dict()
    )
    return Status(201, consent)


@router.post("/clients/{client_id}/merge", response=ClientOut)
def post_merge(request: HttpRequest, client_id: int, payload: MergeIn) -> Client:
    """Merge the client named in the body into this one, which keeps all history."""
    who = staff(request, "clients.merge")
    keep = _owned(who, client_id)
    if payload.merge is None:
        raise Invalid.on("merge", "Name the client to merge into this one.")
    merge = get_owned(Client, organization=who.organization, pk=payload.merge, field="merge")
    return merge_clients(organization=who.organization, actor=who.user, keep=keep, merge=merge)


class MedicalIn(Schema):
    allergies: list[ShortText] = Field(default_factory=list, max_length=MAX_MEDICAL_ITEMS)
    medications: list[ShortText] = Field(default_factory=list, max_length=MAX_MEDICAL_ITEMS)
    medical_flags: list[Name] = Field(default_factory=list, max_length=len(MEDICAL_FLAGS))
    notes: LongText = ""


class MedicalOut(Schema):
    client: int
    allergies: list[str]
    medications: list[str]
    medical_flags: list[str]
    notes: str
    recorded_at: datetime | None
    recorded_by: int | None
    versions: int


def _medical_out(
    client: Client, history: MedicalHistory | None, versions: int
) -> dict[str, object]:
    return {
        "client": client.pk,
        "allergies": history.allergies if history else [],
        "medications": history.medications if history else [],
        "medical_flags": history.medical_flags if history else [],
        "notes": history.notes if history else "",
        "recorded_at": history.recorded_at if history else None,
        "recorded_by": history.recorded_by_id if history else None,
        "versions": versions,
    }


@router.get("/clients/{client_id}/medical", response=MedicalOut)
def get_medical(request: HttpRequest, client_id: int) -> dict[str, object]:
    """Allergies, medications and medical flags (clinical roles; every read is audited)."""
    who = staff(request, "clients.medical")
    client = _owned(who, client_id)
    history, versions = view_medical_history(
        organization=who.organization, actor=who.user, client=client
    )
    return _medical_out(client, history, versions)


@router.put("/clients/{client_id}/medical", response={201: MedicalOut})
def put_medical(
    request: HttpRequest, client_id: int, payload: MedicalIn
) -> Status[dict[str, object]]:
    """Record a new version; earlier versions stay as history."""
    who = staff(request, "clients.medical")
    client = _owned(who, client_id)
    history = record_medical_history(
        organization=who.organization,
        actor=who.user,
        client=client,
        allergies=payload.allergies,
        medications=payload.medications,
        medical_flags=payload.medical_flags,
        notes=payload.notes,
    )
    versions = MedicalHistory.objects.filter(client=client).count()
    return Status(201, _medical_out(client, history, versions))
