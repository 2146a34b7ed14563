"""Referrals: who referred a client, the organization's programme, and the credit it earns.

When a referred client's first invoice is paid in full, the referrer is granted account
credit by the programme (off by default), once per referred client, in the transaction of
the payment that completes the invoice. The credit is a marketing cost: it debits
`referral_rewards` and credits the `client_credit` liability, and the referrer spends it as
the `account_credit` tender like credit from a refund. See docs/decisions/0010.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from medspa.billing import money
from medspa.billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind, Payment
from medspa.billing.promotion_models import Referral, ReferralProgramme
from medspa.billing.refunds import CREDIT_NOTE_KIND
from medspa.billing.services import MAX_LINE_CENTS, _event, _locked_draft, _next_position
from medspa.billing.services import _recalculate as recalculate
from medspa.clients.models import Client
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from medspa.core.models import Organization, User
from medspa.ledger.services import Posting, post_entry

logger = logging.getLogger("medspa.billing")

REFERRAL_SOURCE = "referral"
# Far deeper than any real chain of referrals; bounds the walk that refuses a circle.
MAX_CHAIN = 10_000


# --- the programme ------------------------------------------------------------------------


def referral_programme(organization: Organization) -> ReferralProgramme:
    """The organization's programme; an unsaved, inactive one when none was ever set."""
    found = ReferralProgramme.objects.filter(organization=organization).first()
    return found or ReferralProgramme(organization=organization)


def set_referral_programme(
    *,
    organization: Organization,
    actor: User | None,
    is_active: bool,
    referrer_credit_cents: int,
    first_visit_percent_bp: int | None = None,
) -> ReferralProgramme:
    """Turn the programme on or off, and set what a referral earns from now on."""
    if type(is_active) is not bool:
        raise Invalid.on("is_active", "Give true or false.")
    if type(referrer_credit_cents) is not int or not 0 <= referrer_credit_cents <= MAX_LINE_CENTS:
        raise Invalid.on("referrer_credit_cents", "Give the credit in whole cents (0 for none).")
    if first_visit_percent_bp is not None and (
        type(first_visit_percent_bp) is not int
        or not 0 < first_visit_percent_bp <= money.BASIS_POINTS
    ):
        raise Invalid.on(
            "first_visit_percent_bp", "Give a percent in basis points, 1 to 10000, or none."
        )
    if is_active and not referrer_credit_cents and first_visit_percent_bp is None:
        raise Invalid.on(
            "referrer_credit_cents",
            "An active programme gives credit, a first-visit discount, or both.",
        )
    with transaction.atomic():
        programme, _ = ReferralProgramme.objects.select_for_update(of=("self",)).get_or_create(
            organization=organization
        )
        was = (
            programme.is_active,
            programme.referrer_credit_cents,
            programme.first_visit_percent_bp,
        )
        programme.is_active = is_active
        programme.referrer_credit_cents = referrer_credit_cents
        programme.first_visit_percent_bp = first_visit_percent_bp
        programme.updated_at = timezone.now()
        programme.updated_by = actor
        programme.save()
        record_event(
            organization=organization,
            actor=actor,
            action="billing.referral_programme_set",
            object_type="organization",
            object_id=organization.pk,
            data={
                "was": list(was),
                "is_active": is_active,
                "referrer_credit_cents": referrer_credit_cents,
                "first_visit_percent_bp": first_visit_percent_bp,
            },
        )
    return programme


# --- who referred whom --------------------------------------------------------------------


def referral_of(client: Client) -> Referral | None:
    return (
        Referral.objects.filter(organization_id=client.organization_id, client=client)
        .select_related("referrer")
        .first()
    )


def set_referrer(*, client: Client, referrer: Client, actor: User | None) -> Referral:
    """Record who referred a client: another client of the organization, once, no circle."""
    if referrer.organization_id != client.organization_id:
        raise NotFound("No such client.", [FieldError("referrer", "No such client.")])
    if referrer.pk == client.pk:
        raise Invalid.on("referrer", "A client cannot refer themselves.")
    if not referrer.is_active:
        raise Invalid.on("referrer", f"{referrer} was merged into another record; choose that one.")
    with transaction.atomic():
        # The referred client's row is locked: two desks recording at once see one another.
        Client.objects.select_for_update(of=("self",)).filter(pk=client.pk).first()
        existing = referral_of(client)
        if existing is not None:
            raise Conflict(
                f"{client} is already recorded as referred by {existing.referrer}.",
                [FieldError("referrer", "Set once; it cannot change.")],
                code="referral_set",
            )
        # A circle (A referred B referred A) would pay each for the other: walk up the chain.
        above: int | None = referrer.pk
        for _ in range(MAX_CHAIN):
            if above is None:
                break
            if above == client.pk:
                raise Invalid.on(
                    "referrer",
                    f"{referrer} was referred, directly or through others, by {client}.",
                    code="referral_circular",
                )
            above = (
                Referral.objects.filter(organization_id=client.organization_id, client_id=above)
                .values_list("referrer_id", flat=True)
                .first()
            )
        try:
            with transaction.atomic():
                referral = Referral.objects.create(
                    organization_id=client.organization_id,
                    client=client,
                    referrer=referrer,
                    recorded_by=actor,
                )
        except IntegrityError:
            raise Conflict(
                f"{client} is already recorded as referred.",
                [FieldError("referrer", "Set once; it cannot change.")],
                code="referral_set",
            ) from None
        record_event(
            organization=client.organization,
            actor=actor,
            action="billing.referral_recorded",
            object_type="client",
            object_id=client.pk,
            data={"referrer": referrer.pk},
        )
    return referral


# --- the credit ---------------------------------------------------------------------------


def grant_referral_credit(
    *, invoice: Invoice, actor: User | None, now: datetime | None = None
) -> Referral | None:
    """The referrer's credit when the referred client's first invoice is paid in full.

    Runs inside the payment's transaction (billing.services.record_payment) with the
    invoice locked. The referral's row is locked and its grant written once, so a replayed
    or concurrent payment never grants twice. Nothing happens without an active programme
    with credit, for a client nobody referred, or once any other invoice of theirs was paid.
    """
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .filter(organization_id=invoice.organization_id, client_id=invoice.client_id)
        .first()
    )
    if referral is None or referral.granted_at is not None:
        return None
    programme = ReferralProgramme.objects.filter(
        organization_id=invoice.organization_id, is_active=True
    ).first()
    if programme is None or not programme.referrer_credit_cents:
        return None
    # Money, not credit notes: an invoice settled only by a credit note was never paid.
    money_in = Payment.objects.filter(organization_id=invoice.organization_id).exclude(
        kind=CREDIT_NOTE_KIND
    )
    if not money_in.filter(invoice=invoice).exists():
        return None
    earlier_paid = (
        money_in.filter(
            invoice__client_id=invoice.client_id,
            invoice__status__in=[InvoiceStatus.PAID, InvoiceStatus.REFUNDED],
        )
        .exclude(invoice=invoice)
        .exists()
    )
    if earlier_paid:
        return None
    now = now or timezone.now()
    amount = programme.referrer_credit_cents
    entry = post_entry(
        organization=invoice.organization,
        occurred_at=now,
        memo=f"Referral credit for client {referral.referrer_id} (referred {referral.client_id})",
        postings=[
            Posting("referral_rewards", debit_cents=amount),
            Posting("client_credit", credit_cents=amount),
        ],
        source_type=REFERRAL_SOURCE,
        source_id=referral.pk,
        location=invoice.location,
        actor=actor,
    )
    referral.granted_cents = amount
    referral.granted_at = now
    referral.granted_invoice = invoice
    referral.journal_entry_id = entry.pk
    referral.save(
        update_fields=["granted_cents", "granted_at", "granted_invoice", "journal_entry_id"]
    )
    record_event(
        organization=invoice.organization,
        actor=actor,
        action="billing.referral_credit_granted",
        object_type="client",
        object_id=referral.referrer_id,
        data={
            "referral": referral.pk,
            "referred": referral.client_id,
            "invoice": invoice.pk,
            "amount_cents": amount,
        },
    )
    return referral


def grant_when_paid(*, invoice: Invoice, actor: User | None, now: datetime) -> None:
    """Wherever an invoice becomes paid in full (a payment, a deposit applied, a credit note):
    the referrer's credit, if owed. A refusal (the books miss the account) never sinks the
    payment that triggered it: it is logged and audited for a person to put right."""
    try:
        with transaction.atomic():
            grant_referral_credit(invoice=invoice, actor=actor, now=now)
    except DomainError as refusal:
        logger.warning("referral credit for invoice %s refused: %s", invoice.pk, refusal.detail)
        record_event(
            organization=invoice.organization,
            actor=actor,
            action="billing.referral_credit_refused",
            object_type="invoice",
            object_id=invoice.pk,
            data={"reason": refusal.detail[:300]},
        )


def first_visit_discount_offer(invoice: Invoice) -> tuple[Referral, int] | None:
    """The referral and percent a draft may take as the referred client's first-visit discount."""
    if not invoice.is_draft:
        return None
    programme = ReferralProgramme.objects.filter(
        organization_id=invoice.organization_id, is_active=True
    ).first()
    if programme is None or programme.first_visit_percent_bp is None:
        return None
    referral = Referral.objects.filter(
        organization_id=invoice.organization_id, client_id=invoice.client_id
    ).first()
    if referral is None:
        return None
    others = Invoice.objects.filter(
        organization_id=invoice.organization_id, client_id=invoice.client_id
    ).exclude(pk=invoice.pk)
    used = (
        InvoiceLine.objects.filter(
            invoice__in=others.exclude(status=InvoiceStatus.VOID), source_type=REFERRAL_SOURCE
        ).exists()
        or InvoiceLine.objects.filter(invoice=invoice, source_type=REFERRAL_SOURCE).exists()
    )
    paid_before = others.filter(status__in=[InvoiceStatus.PAID, InvoiceStatus.REFUNDED]).exists()
    if used or paid_before:
        return None
    return referral, programme.first_visit_percent_bp


def add_first_visit_discount(*, invoice: Invoice, actor: User | None) -> InvoiceLine:
    """The referred client's first-visit discount, by the programme's percent, once."""
    with transaction.atomic():
        current = _locked_draft(invoice)
        offer = first_visit_discount_offer(current)
        if offer is None:
            raise Invalid.on(
                "invoice",
                "No first-visit referral discount applies: the client was not referred, the "
                "programme offers none, or it was already given.",
                code="referral_discount_not_offered",
            )
        referral, percent_bp = offer
        whole, part = divmod(percent_bp, 100)
        label = f"{whole}.{part:02d}".rstrip("0").rstrip(".")
        line = InvoiceLine.objects.create(
            organization_id=current.organization_id,
            invoice=current,
            position=_next_position(current),
            kind=LineKind.DISCOUNT,
            description=f"Referral: first visit {label}%",
            reason=f"Referred by {referral.referrer}"[:300],
            discount_percent_bp=percent_bp,
            amount_cents=0,
            source_type=REFERRAL_SOURCE,
            source_id=referral.pk,
        )
        recalculate(current)
        line.refresh_from_db()
        _event(
            current,
            actor,
            "discount_added",
            line=line.pk,
            percent_bp=percent_bp,
            amount_cents=None,
            reason="referral first visit",
            referral=referral.pk,
        )
    return line


def referrals_made(client: Client) -> list[dict[str, Any]]:
    """The clients this one referred, with the credit each earned (for the client's page)."""
    return [
        {"client": r.client, "granted_cents": r.granted_cents, "granted_at": r.granted_at}
        for r in Referral.objects.filter(
            organization_id=client.organization_id, referrer=client
        ).select_related("client")[:50]
    ]
