"""Reads of client records, scoped to one organization."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from medspa.clients.models import Client
from medspa.core.models import Organization


def clients_for(organization: Organization) -> QuerySet[Client]:
    return Client.objects.filter(organization=organization)


def search_clients(organization: Organization, text: str) -> QuerySet[Client]:
    """Clients whose name, phone or e-mail contains the text."""
    qs = clients_for(organization)
    for word in text.split():
        digits = "".join(ch for ch in word if ch.isdigit())
        match = (
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
        if len(digits) >= 3:
            match |= Q(phone__contains=digits)
        qs = qs.filter(match)
    return qs


def likely_duplicates(
    organization: Organization,
    *,
    first_name: str,
    last_name: str,
    phone: str,
    email: str,
    birth_date: date | None,
    exclude_id: int | None = None,
) -> QuerySet[Client]:
    """Existing clients with the same phone, the same e-mail, or the same name and birth date."""
    match = Q(pk__in=[])
    if phone:
        match |= Q(phone=phone)
    if email:
        match |= Q(email__iexact=email)
    if birth_date is not None:
        match |= Q(
            first_name__iexact=first_name, last_name__iexact=last_name, birth_date=birth_date
        )
    qs = clients_for(organization).filter(match)
    return qs.exclude(pk=exclude_id) if exclude_id is not None else qs
