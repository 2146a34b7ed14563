"""Writes to client records: register, update, record consent to be contacted, merge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import phonenumbers
from django.apps import apps
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify
from email_validator import EmailNotValidError, validate_email

from medspa.clients.models import (
    MEDICAL_FLAGS,
    Channel,
    Client,
    ClientTag,
    CommunicationConsent,
    MedicalHistory,
    PreferredChannel,
    Purpose,
)
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid, NotFound
from medspa.core.models import Organization, User

DEFAULT_PHONE_REGION = "US"
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_STAFF_NOTES = 2000
MAX_SOURCE = 40

# Plain text fields a staff member may set, as stored (bounded by the model's max_length).
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "pronouns",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
)
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "region", "postal_code", "country")
# Everything update_client accepts; a key left out is left as it is.
UPDATABLE = frozenset(
    {
        *TEXT_FIELDS,
        "phone",
        "email",
        "birth_date",
        "country",
        "preferred_provider",
        "preferred_channel",
        "staff_notes",
        "tags",
    }
)


def normalize_phone(raw: str, *, region: str = DEFAULT_PHONE_REGION) -> str:
    """A phone number in E.164 form, or Invalid naming the phone field."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Invalid.on("phone", f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """A syntactically valid, normalised e-mail address, or Invalid naming the email field."""
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid.on("email", f"{raw!r} is not a valid e-mail address: {exc}.") from None


def normalize_tags(raw: Iterable[str]) -> list[str]:
    """Tags as sorted unique slugs ("VIP " -> "vip"), or Invalid naming the tags field."""
    slugs = set()
    for item in raw:
        slug = slugify(str(item))
        if not slug or len(slug) > MAX_TAG_LENGTH:
            raise Invalid.on(
                "tags", f"{item!r} is not a tag: use 1 to {MAX_TAG_LENGTH} letters or digits."
            )
        slugs.add(slug)
    if len(slugs) > MAX_TAGS:
        raise Invalid.on("tags", f"A client can carry at most {MAX_TAGS} tags.")
    return sorted(slugs)


def _provider_model() -> type[models.Model]:
    # Scheduling imports clients, so clients names the resource model through the registry.
    return apps.get_model("scheduling", "Resource")


def _check_provider(organization: Organization, provider_id: object) -> Any:
    """The organization's active provider with this id; another's answers 404."""
    if provider_id is None:
        return None
    provider: Any = (
        _provider_model()._default_manager.filter(organization=organization, pk=provider_id).first()
    )
    if provider is None:
        reason = f"No provider with id {provider_id} in your organization."
        raise NotFound(reason, [FieldError("preferred_provider", reason)])
    if provider.kind != "provider" or not provider.is_active:
        raise Invalid.on("preferred_provider", f"{provider.name} is not an active provider.")
    return provider


def _clean(
    organization: Organization, given: Mapping[str, Any], *, country: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate and normalise the given fields; collect every error rather than stop at one."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in given:
            value = str(given[name] or "").strip()
            limit = getattr(Client._meta.get_field(name), "max_length", None) or 0
            if len(value) > limit:
                errors.append(FieldError(name, f"At most {limit} characters."))
            if "\x00" in value:
                errors.append(FieldError(name, "Text may not contain NUL characters."))
            clean[name] = value
    for name in ("first_name", "last_name"):
        if name in clean and not clean[name]:
            errors.append(FieldError(name, f"A {name.replace('_', ' ')} is required."))
    if "country" in given:
        code = str(given["country"] or "").strip().upper()
        if len(code) != 2 or not code.isalpha():
            errors.append(FieldError("country", "Give the country as a two-letter code (US)."))
        else:
            clean["country"] = country = code
    if "phone" in given:
        phone = str(given["phone"] or "").strip()
        try:
            clean["phone"] = normalize_phone(phone, region=country) if phone else ""
        except Invalid as exc:
            errors.extend(exc.errors)
    if "email" in given:
        email = str(given["email"] or "").strip()
        try:
            clean["email"] = normalize_email(email) if email else ""
        except Invalid as exc:
            errors.extend(exc.errors)
    if "birth_date" in given:
        birth_date = given["birth_date"]
        if birth_date is not None and not isinstance(birth_date, date):
            errors.append(FieldError("birth_date", "Give the birth date as a date."))
        elif birth_date is not None and birth_date > timezone.localdate():
            errors.append(FieldError("birth_date", "The birth date is in the future."))
        else:
            clean["birth_date"] = birth_date
    if "preferred_channel" in given:
        channel = given["preferred_channel"] or PreferredChannel.NONE
        if channel not in PreferredChannel.values:
            choices = ", ".join(PreferredChannel.values)
            errors.append(FieldError("preferred_channel", f"Choose one of {choices}."))
        else:
            clean["preferred_channel"] = channel
    if "staff_notes" in given:
        notes = str(given["staff_notes"] or "").strip()
        if len(notes) > MAX_STAFF_NOTES:
            errors.append(FieldError("staff_notes", f"At most {MAX_STAFF_NOTES} characters."))
        if "\x00" in notes:
            errors.append(FieldError("staff_notes", "Text may not contain NUL characters."))
        clean["staff_notes"] = notes
    if "tags" in given:
        try:
            clean["tags"] = normalize_tags(given["tags"] or [])
        except Invalid as exc:
            errors.extend(exc.errors)
    if "preferred_provider" in given:
        clean["preferred_provider"] = _check_provider(organization, given["preferred_provider"])
    return clean, errors


def _refuse(errors: list[FieldError]) -> None:
    if errors:
        raise Invalid(detail="; ".join(e.reason for e in errors), errors=errors)


def _set_tags(client: Client, slugs: list[str]) -> None:
    client.tag_rows.exclude(slug__in=slugs).delete()
    have = set(client.tag_rows.values_list("slug", flat=True))
    ClientTag.objects.bulk_create(
        ClientTag(organization_id=client.organization_id, client=client, slug=slug)
        for slug in slugs
        if slug not in have
    )


def create_client(
    *,
    organization: Organization,
    actor: User | None,
    first_name: str,
    last_name: str,
    phone: str = "",
    email: str = "",
    birth_date: date | None = None,
    preferred_name: str = "",
    pronouns: str = "",
    address_line1: str = "",
    address_line2: str = "",
    city: str = "",
    region: str = "",
    postal_code: str = "",
    country: str = "US",
    preferred_provider: int | None = None,
    preferred_channel: str = PreferredChannel.NONE,
    staff_notes: str = "",
    tags: Iterable[str] = (),
) -> Client:
    """Register a new client; every field is checked first so bad input changes nothing."""
    given = {
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "email": email,
        "birth_date": birth_date,
        "preferred_name": preferred_name,
        "pronouns": pronouns,
        "address_line1": address_line1,
        "address_line2": address_line2,
        "city": city,
        "region": region,
        "postal_code": postal_code,
        "country": country,
        "preferred_provider": preferred_provider,
        "preferred_channel": preferred_channel,
        "staff_notes": staff_notes,
        "tags": tags,
    }
    clean, errors = _clean(organization, given, country=DEFAULT_PHONE_REGION)
    if not clean.get("phone") and not clean.get("email") and not errors:
        errors.append(FieldError("phone", "A phone number or an e-mail address is required."))
    _refuse(errors)
    slugs = clean.pop("tags")
    with transaction.atomic():
        client = Client.objects.create(organization=organization, **clean)
        _set_tags(client, slugs)
        record_event(
            organization=organization,
            actor=actor,
            action="client.created",
            object_type="client",
            object_id=client.pk,
        )
    return client


def _still_own_record(client: Client) -> None:
    if not client.is_active:
        reason = f"This client was merged into client {client.merged_into_id}; change that record."
        raise Conflict(reason, [FieldError("client", reason)], code="client_merged")


def update_client(
    *,
    organization: Organization,
    actor: User | None,
    client: Client,
    changes: Mapping[str, Any],
    now: datetime | None = None,
) -> Client:
    """Change the given fields of a client (a key left out stays); bad input changes nothing."""
    if client.organization_id != organization.pk:
        raise NotFound("No such client in your organization.")
    _still_own_record(client)
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise Invalid.on(unknown[0], f"{unknown[0]!r} cannot be changed here.")
    clean, errors = _clean(organization, changes, country=client.country)
    phone = clean.get("phone", client.phone)
    email = clean.get("email", client.email)
    if not phone and not email and not errors:
        errors.append(FieldError("phone", "A phone number or an e-mail address is required."))
    _refuse(errors)
    slugs = clean.pop("tags", None)
    changed = sorted(name for name, value in clean.items() if getattr(client, name) != value)
    if slugs is not None and slugs != client.tags:
        changed = sorted([*changed, "tags"])
    with transaction.atomic():
        for name, value in clean.items():
            setattr(client, name, value)
        client.updated_at = now or timezone.now()
        client.save()
        if slugs is not None:
            _set_tags(client, slugs)
        # Field names only: the values are personal data and stay out of the log.
        record_event(
            organization=organization,
            actor=actor,
            action="client.updated",
            object_type="client",
            object_id=client.pk,
            data={"fields": changed},
        )
    return client


def record_communication_consent(
    *,
    organization: Organization,
    actor: User | None,
    client: Client,
    channel: str,
    purpose: str,
    granted: bool | None,
    source: str = "front desk",
    now: datetime | None = None,
) -> CommunicationConsent:
    """Record that the client grants or withdraws contact on a channel for a purpose."""
    if client.organization_id != organization.pk:
        raise NotFound("No such client in your organization.")
    errors: list[FieldError] = []
    if channel not in Channel.values:
        errors.append(FieldError("channel", f"Choose one of {', '.join(Channel.values)}."))
    if purpose not in Purpose.values:
        errors.append(FieldError("purpose", f"Choose one of {', '.join(Purpose.values)}."))
    if granted is None:
        errors.append(FieldError("granted", "Say whether the client grants (true) or not."))
    source = (source or "").strip()
    if not source or len(source) > MAX_SOURCE or "\x00" in source:
        errors.append(
            FieldError("source", f"Say where this came from in 1 to {MAX_SOURCE} characters.")
        )
    _refuse(errors)
    _still_own_record(client)
    with transaction.atomic():
        consent = CommunicationConsent.objects.create(
            organization=organization,
            client=client,
            channel=channel,
            purpose=purpose,
            granted=bool(granted),
            source=source,
            recorded_at=now or timezone.now(),
            recorded_by=actor,
        )
        record_event(
            organization=organization,
            actor=actor,
            action="client.consent_recorded",
            object_type="client",
            object_id=client.pk,
            data={
                "channel": channel,
                "purpose": purpose,
                "granted": bool(granted),
                "source": source,
            },
        )
    return consent


def _refuse_rows_linking_both(keep: Client, merge: Client) -> None:
    """A row that names both clients (one referred the other) would name one client twice."""
    models: set[Any] = {r.related_model for r in Client._meta.get_fields(include_hidden=True)}
    for model in models:
        if model is None or model is Client or model._meta.auto_created:
            continue
        names = [
            f.name
            for f in model._meta.get_fields()
            if f.concrete and f.is_relation and f.related_model is Client
        ]
        for a in names:
            for b in names:
                if a != b and model._base_manager.filter(**{a: merge, b: keep}).exists():
                    reason = (
                        f"A {model._meta.verbose_name} links these two clients; resolve it "
                        "before merging."
                    )
                    raise Conflict(reason, [FieldError("merge", reason)], code="merge_conflict")


def _move_references(keep: Client, merge: Client) -> dict[str, int]:
    """Point every row that refers to `merge` at `keep`, whichever app it belongs to."""
    _refuse_rows_linking_both(keep, merge)
    moved: dict[str, int] = {}
    for rel in Client._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete) or rel.related_model is None:
            continue
        related: Any = rel.related_model
        if related._meta.auto_created:
            continue  # the through table of a many-to-many: moved with the relation below
        field_name = rel.field.name  # type: ignore[union-attr]
        label = related._meta.label_lower
        rows = related._base_manager.filter(**{field_name: merge})
        if rel.many_to_many:
            holders = list(rows)
            for row in holders:
                getattr(row, field_name).remove(merge)
                getattr(row, field_name).add(keep)
            count = len(holders)
        else:
            if (
                rel.one_to_one
                and rows.exists()
                and related._base_manager.filter(**{field_name: keep}).exists()
            ):
                reason = f"Both clients have a {related._meta.verbose_name}; resolve it first."
                raise Conflict(reason, [FieldError("merge", reason)], code="merge_conflict")
            count = rows.update(**{field_name: keep})
        if count:
            moved[label] = moved.get(label, 0) + count
    return moved


def _fill_from(keep: Client, merge: Client) -> list[str]:
    """Give `keep` what only `merge` knew; names of the fields filled."""
    filled = []
    for name in ("preferred_name", "pronouns", "phone", "email", "birth_date"):
        if not getattr(keep, name) and getattr(merge, name):
            setattr(keep, name, getattr(merge, name))
            filled.append(name)
    if keep.preferred_provider_id is None and merge.preferred_provider_id is not None:
        keep.preferred_provider_id = merge.preferred_provider_id
        filled.append("preferred_provider")
    if (
        keep.preferred_channel == PreferredChannel.NONE
        and merge.preferred_channel != PreferredChannel.NONE
    ):
        keep.preferred_channel = merge.preferred_channel
        filled.append("preferred_channel")
    # An address is taken whole: half of one and half of another is nobody's address.
    if not any(getattr(keep, n) for n in ADDRESS_FIELDS[:-1]) and any(
        getattr(merge, n) for n in ADDRESS_FIELDS[:-1]
    ):
        for name in ADDRESS_FIELDS:
            setattr(keep, name, getattr(merge, name))
        filled.append("address")
    if merge.staff_notes:
        note = f"[From merged client {merge.pk}] {merge.staff_notes}"
        keep.staff_notes = f"{keep.staff_notes}\n\n{note}" if keep.staff_notes else note
        filled.append("staff_notes")
    return filled


def merge_clients(
    *,
    organization: Organization,
    actor: User | None,
    keep: Client,
    merge: Client,
    now: datetime | None = None,
) -> Client:
    """Fold the duplicate `merge` into `keep`: its history moves, its record stays as a pointer.

    Appointments, consents, tags and every other row that refers to `merge` (found through
    the model's reverse relations, so later apps are included) move to `keep`; fields `keep`
    lacks are filled from `merge`; `merge` becomes inactive with `merged_into` set.
    """
    for client, field in ((keep, "client"), (merge, "merge")):
        if client.organization_id != organization.pk:
            reason = f"No client with id {client.pk} in your organization."
            raise NotFound(reason, [FieldError(field, reason)])
    if keep.pk == merge.pk:
        raise Invalid.on("merge", "A client cannot be merged into itself.")
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, so that `keep` cannot itself be merged away while history moves onto it.
        keep.refresh_from_db(from_queryset=Client.objects.select_for_update())
        if not keep.is_active:
            reason = (
                f"Client {keep.pk} was merged into client {keep.merged_into_id}; keep that one."
            )
            raise Conflict(reason, [FieldError("client", reason)], code="client_merged")
        # Claimed with a conditional update: of two merges racing, one wins and one is told.
        claimed = Client.objects.filter(pk=merge.pk, is_active=True).update(
            is_active=False, merged_into=keep, updated_at=now
        )
        merge.refresh_from_db()
        if not claimed:
            reason = f"Client {merge.pk} was already merged into client {merge.merged_into_id}."
            raise Conflict(reason, [FieldError("merge", reason)], code="client_merged")
        # Tags both carry would collide on the move: the merged record's copy goes.
        merge.tag_rows.filter(slug__in=keep.tag_rows.values("slug")).delete()
        moved = _move_references(keep, merge)
        filled = _fill_from(keep, merge)
        keep.updated_at = now
        keep.save()
        record_event(
            organization=organization,
            actor=actor,
            action="client.merged",
            object_type="client",
            object_id=keep.pk,
            data={"merged": merge.pk, "moved": moved, "filled": filled},
        )
        record_event(
            organization=organization,
            actor=actor,
            action="client.merged_into",
            object_type="client",
            object_id=merge.pk,
            data={"into": keep.pk},
        )
    return keep


MAX_MEDICAL_ITEMS = 30
MAX_MEDICAL_ITEM_LENGTH = 120
MAX_MEDICAL_NOTES_LENGTH = 4000


def _medical_list(field: str, raw: Iterable[str], errors: list[FieldError]) -> list[str]:
    items: list[str] = []
    for value in raw:
        text = " ".join(str(value).split())
        if not text:
            continue
        if len(text) > MAX_MEDICAL_ITEM_LENGTH or "\x00" in text:
            errors.append(
                FieldError(field, f"Keep each entry under {MAX_MEDICAL_ITEM_LENGTH} characters.")
            )
            return []
        if text.lower() not in {i.lower() for i in items}:
            items.append(text)
    if len(items) > MAX_MEDICAL_ITEMS:
        errors.append(FieldError(field, f"At most {MAX_MEDICAL_ITEMS} entries."))
    return items


def record_medical_history(
    *,
    organization: Organization,
    actor: User | None,
    client: Client,
    allergies: Iterable[str] = (),
    medications: Iterable[str] = (),
    medical_flags: Iterable[str] = (),
    notes: str = "",
) -> MedicalHistory:
    """Write a new version of the client's allergies, medications and flags (never edits)."""
    if client.organization_id != organization.pk:
        raise NotFound(f"No client with id {client.pk} in your organization.")
    errors: list[FieldError] = []
    allergy_list = _medical_list("allergies", allergies, errors)
    medication_list = _medical_list("medications", medications, errors)
    flags = list(dict.fromkeys(str(f).strip() for f in medical_flags if str(f).strip()))
    unknown = [f for f in flags if f not in MEDICAL_FLAGS]
    if unknown:
        errors.append(
            FieldError(
                "medical_flags",
                f"Unknown flag {unknown[0]!r}: use one of {', '.join(MEDICAL_FLAGS)}.",
            )
        )
    notes = notes.strip()
    if len(notes) > MAX_MEDICAL_NOTES_LENGTH or "\x00" in notes:
        errors.append(
            FieldError("notes", f"Keep the notes under {MAX_MEDICAL_NOTES_LENGTH} characters.")
        )
    if errors:
        raise Invalid(detail="; ".join(e.reason for e in errors), errors=errors)
    _still_own_record(client)
    with transaction.atomic():
        history = MedicalHistory.objects.create(
            organization=organization,
            client=client,
            allergies=allergy_list,
            medications=medication_list,
            medical_flags=flags,
            notes=notes,
            recorded_by=actor,
        )
        # The audit line says what kind of change, never the clinical content itself.
        record_event(
            organization=organization,
            actor=actor,
            action="client.medical_recorded",
            object_type="client",
            object_id=client.pk,
            data={
                "version": history.pk,
                "allergies": len(allergy_list),
                "medications": len(medication_list),
                "flags": len(flags),
            },
        )
    return history


def view_medical_history(
    *, organization: Organization, actor: User | None, client: Client
) -> tuple[MedicalHistory | None, int]:
    """The client's current medical history and how many versions exist; the read is audited."""
    if client.organization_id != organization.pk:
        raise NotFound(f"No client with id {client.pk} in your organization.")
    with transaction.atomic():
        versions = list(
            MedicalHistory.objects.filter(client=client).order_by("-recorded_at", "-id")[:1]
        )
        count = MedicalHistory.objects.filter(client=client).count()
        record_event(
            organization=organization,
            actor=actor,
            action="client.medical_viewed",
            object_type="client",
            object_id=client.pk,
            data={"version": versions[0].pk if versions else None},
        )
    return (versions[0] if versions else None), count
