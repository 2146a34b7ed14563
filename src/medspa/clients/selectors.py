"""Reads of client records, scoped to one organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet

from medspa.clients.models import Channel, Client, ClientQuerySet, CommunicationConsent, Purpose
from medspa.core.models import Organization


def clients_for(organization: Organization) -> ClientQuerySet:
    """The organization's clients that are records of their own (merged ones left out)."""
    return Client.objects.filter(organization=organization).active()


def client_list(organization: Organization, *, text: str = "", tag: str = "") -> ClientQuerySet:
    """Clients for a list: optionally matching text and carrying a tag, tags prefetched."""
    qs = search_clients(organization, text) if text.strip() else clients_for(organization)
    if tag:
        qs = qs.tagged(tag)
    return qs.prefetch_related("tag_rows")


def search_clients(organization: Organization, text: str) -> ClientQuerySet:
    """Clients whose name, phone or e-mail contains the text."""
    qs = clients_for(organization)
    for word in text.split():
        digits = "".join(ch for ch in word if ch.isdigit())
        match = (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(preferred_name__icontains=word)
            | Q(email__icontains=word)
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


@dataclass(frozen=True)
class ConsentState:
    """Whether the client may be contacted on a channel for a purpose, and since when."""

    channel: str
    purpose: str
    granted: bool
    source: str  # "default" when nobody recorded a decision yet
    recorded_at: datetime | None


def consent_history(client: Client) -> QuerySet[CommunicationConsent]:
    """Every recorded decision of the client, oldest first."""
    return CommunicationConsent.objects.filter(client=client).order_by("recorded_at", "id")


def current_consents(client: Client) -> list[ConsentState]:
    """The state per channel and purpose: the latest decision, else the default.

    Marketing is never assumed; transactional messages (reminders, receipts) are assumed
    on the channels the client gave us: a phone for text and calls, an e-mail for e-mail.
    """
    latest: dict[tuple[str, str], CommunicationConsent] = {}
    for decision in consent_history(client):
        latest[(decision.channel, decision.purpose)] = decision
    given = {Channel.SMS: bool(client.phone), Channel.PHONE: bool(client.phone)}
    given[Channel.EMAIL] = bool(client.email)
    states = []
    for channel in Channel:
        for purpose in Purpose:
            row = latest.get((channel.value, purpose.value))
            if row is not None:
                state = ConsentState(
                    channel.value, purpose.value, row.granted, row.source, row.recorded_at
                )
            else:
                default = purpose == Purpose.TRANSACTIONAL and given[channel]
                state = ConsentState(channel.value, purpose.value, default, "default", None)
            states.append(state)
    return states


def may_contact(client: Client, channel: str, purpose: str) -> bool:
    """Whether a message of this purpose may go to the client on this channel now."""
    return any(
        s.granted for s in current_consents(client) if (s.channel, s.purpose) == (channel, purpose)
    )
