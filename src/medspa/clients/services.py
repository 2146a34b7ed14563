"""Writes to client records."""

from __future__ import annotations

from datetime import date

import phonenumbers
from django.db import transaction
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email

from medspa.clients.models import Client
from medspa.core.audit import record_event
from medspa.core.errors import FieldError, Invalid
from medspa.core.models import Organization, User

DEFAULT_PHONE_REGION = "US"


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


def create_client(
    *,
    organization: Organization,
    actor: User | None,
    first_name: str,
    last_name: str,
    phone: str = "",
    email: str = "",
    birth_date: date | None = None,
) -> Client:
    """Register a new client; every field is checked first so bad input changes nothing."""
    errors: list[FieldError] = []
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        errors.append(FieldError("first_name", "A first name is required."))
    if not last_name:
        errors.append(FieldError("last_name", "A last name is required."))
    phone, email = phone.strip(), email.strip()
    try:
        phone = normalize_phone(phone) if phone else ""
    except Invalid as exc:
        errors.extend(exc.errors)
    try:
        email = normalize_email(email) if email else ""
    except Invalid as exc:
        errors.extend(exc.errors)
    if not phone and not email and not errors:
        errors.append(FieldError("phone", "A phone number or an e-mail address is required."))
    if birth_date is not None and birth_date > timezone.localdate():
        errors.append(FieldError("birth_date", "The birth date is in the future."))
    if errors:
        raise Invalid(detail="; ".join(e.reason for e in errors), errors=errors)
    with transaction.atomic():
        client = Client.objects.create(
            organization=organization,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            email=email,
            birth_date=birth_date,
        )
        record_event(
            organization=organization,
            actor=actor,
            action="client.created",
            object_type="client",
            object_id=client.pk,
        )
    return client
