"""Proposed late-cancellation and no-show fees, decided by a person (see decision 0008).

The policy proposes a fee when a visit is cancelled late or the client does not come
(`deposits.settle_visit`); nothing is charged until a staff member confirms it (charged to
the card on file, or an issued invoice to collect at the next visit) or waives it with a
reason. Each decision is one transaction and one audit event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from medspa.billing.card_models import CardOnFile
from medspa.billing.deposit_models import FeeStatus, ProposedFee
from medspa.billing.deposits import _event
from medspa.billing.models import Invoice, LineKind
from medspa.billing.services import (
    TenderIn,
    _text,
    add_line,
    client_key,
    issue_invoice,
    record_payment,
    void_invoice,
)
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid
from medspa.core.models import Organization, User
from medspa.core.permissions import require
from medspa.core.selectors import get_owned


def fee_of(organization: Organization, pk: Any) -> ProposedFee:
    return get_owned(
        ProposedFee.objects.select_related("organization", "appointment", "client", "location"),
        organization=organization,
        pk=pk,
        field="fee",
        label="fee",
    )


def fees_for(organization: Organization, *, status: str | None = None) -> QuerySet[ProposedFee]:
    """The organization's fees, the oldest waiting first; narrowed to a status."""
    qs = ProposedFee.objects.filter(organization=organization).select_related(
        "client", "appointment", "location", "decided_by"
    )
    if status:
        if status not in FeeStatus.values:
            raise Invalid.on("status", f"Choose one of: {', '.join(FeeStatus.values)}.")
        qs = qs.filter(status=status)
    return qs.order_by("proposed_at", "id")


# --- deciding a proposed fee --------------------------------------------------------------


FEE_METHODS = ("card", "invoice")


def _locked_fee(fee: ProposedFee) -> ProposedFee:
    return (
        ProposedFee.objects.select_for_update(of=("self",))
        .select_related("organization", "appointment", "location", "client")
        .get(pk=fee.pk)
    )


def _undecided(current: ProposedFee) -> None:
    if current.status != FeeStatus.PROPOSED:
        raise Conflict(
            f"This fee was already decided: {current.get_status_display().lower()}.",
            [FieldError("fee", "Already decided.")],
            code="fee_decided",
        )


def confirm_fee(
    *,
    fee: ProposedFee,
    actor: User,
    method: str,
    idempotency_key: str,
    card: CardOnFile | None = None,
    now: datetime | None = None,
) -> ProposedFee:
    """A staff member confirms the fee: it becomes an issued invoice, charged at once to the
    client's card on file (`card`) or left open to collect at the next visit (`invoice`).

    A declined card changes nothing: the fee stays proposed. The same key again returns it.
    """
    require(actor, "fees.decide")
    now = now or timezone.now()
    key = client_key(idempotency_key)
    if method not in FEE_METHODS:
        raise Invalid.on("method", f"Choose one of: {', '.join(FEE_METHODS)}.")
    # Called by a request (no transaction open): a card is charged after the fee's invoice
    # commits, so a slow card network never holds the invoice numbers' lock.
    outer = transaction.get_connection().in_atomic_block
    with transaction.atomic():
        current = _locked_fee(fee)
        if current.idempotency_key == key:
            return current
        _undecided(current)
        if method == "card":
            card = _fee_card(current, card)
        visit = current.appointment
        invoice = Invoice.objects.create(
            organization_id=current.organization_id,
            location_id=current.location_id,
            client_id=current.client_id,
            currency=current.currency,
            created_by=actor,
            created_at=now,
        )
        add_line(
            invoice=invoice,
            actor=actor,
            kind=LineKind.FEE,
            description=(
                f"{current.get_kind_display()} fee: visit of "
                f"{visit.start.astimezone(current.location.zone):%b %d, %Y %H:%M}"
            ),
            quantity=1,
            unit_price_cents=current.amount_cents,
        )
        issued = issue_invoice(invoice=invoice, actor=actor, now=now)
        # From a request, the invoice commits first and the card is charged after, with no
        # transaction open; inside a caller's transaction, it is charged here.
        charge_after = card is not None and not outer
        if card is not None and not charge_after:
            from medspa.billing.stripe_gateway import take_card_payment

            take_card_payment(
                invoice=issued,
                amount_cents=current.amount_cents,
                # The desk's key for this decision: a retry finds the payment, never a second.
                idempotency_key=key,
                actor=actor,
                card=card,
            )
            issued.refresh_from_db()
        # Until the card answers, a fee to charge after the commit stands as invoiced.
        current.status = (
            FeeStatus.CHARGED if card is not None and not charge_after else FeeStatus.INVOICED
        )
        current.invoice = issued
        current.card = card
        current.decided_at = now
        current.decided_by = actor
        current.idempotency_key = key
        current.save()
        _event(
            current,
            actor,
            "fee_confirmed",
            status=current.status,
            invoice=issued.pk,
            amount_cents=current.amount_cents,
        )
    if charge_after:
        assert card is not None
        return _charge_confirmed_fee(current, card=card, actor=actor, key=key, now=now)
    return current


def _charge_confirmed_fee(
    fee: ProposedFee, *, card: CardOnFile, actor: User, key: str, now: datetime
) -> ProposedFee:
    """The fee's invoice is issued; charge the card. A decline voids that invoice and leaves
    the fee proposed, as if nothing was decided; a replay of the key charges once."""
    from medspa.billing.gateways import CardRef

    assert fee.invoice is not None
    try:
        record_payment(
            invoice=fee.invoice,
            tenders=[
                TenderIn("card_on_file", fee.amount_cents, card=CardRef(card_on_file_id=card.pk))
            ],
            idempotency_key=key,
            actor=actor,
            now=now,
        )
    except DomainError:
        with transaction.atomic():
            current = _locked_fee(fee)
            void_invoice(
                invoice=fee.invoice, actor=actor, reason="Fee card declined: fee still proposed"
            )
            current.status = FeeStatus.PROPOSED
            current.invoice = None
            current.card = None
            current.decided_at = None
            current.decided_by = None
            current.idempotency_key = ""
            current.save(
                update_fields=[
                    "status",
                    "invoice",
                    "card",
                    "decided_at",
                    "decided_by",
                    "idempotency_key",
                ]
            )
        raise
    with transaction.atomic():
        current = _locked_fee(fee)
        current.status = FeeStatus.CHARGED
        current.save(update_fields=["status"])
        _event(current, actor, "fee_charged", invoice=fee.invoice.pk, card=card.pk)
    return current


def _fee_card(fee: ProposedFee, card: CardOnFile | None) -> CardOnFile:
    from medspa.billing.stripe_gateway import cards_on_file, configured

    if not configured():
        raise Conflict(
            "Card payments through Stripe are not set up: record the fee as an invoice and "
            "take it on the terminal.",
            [FieldError("method", "Stripe is not set up.")],
            code="stripe_not_configured",
        )
    if card is None:
        card = cards_on_file(fee.client).first()
        if card is None:
            raise Invalid.on("card", f"{fee.client} has no card on file: record an invoice.")
    if card.organization_id != fee.organization_id or card.client_id != fee.client_id:
        raise Invalid.on("card", "That card is not on file for this client.")
    if not card.is_active:
        raise Invalid.on("card", f"The {card} was removed from file.")
    return card


def waive_fee(
    *, fee: ProposedFee, actor: User, reason: str, now: datetime | None = None
) -> ProposedFee:
    """A staff member waives the fee, with the reason kept."""
    require(actor, "fees.decide")
    why = _text(reason, "reason", required=True, limit=300)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked_fee(fee)
        _undecided(current)
        current.status = FeeStatus.WAIVED
        current.waive_reason = why
        current.decided_at = now
        current.decided_by = actor
        current.save(update_fields=["status", "waive_reason", "decided_at", "decided_by"])
        _event(current, actor, "fee_waived", amount_cents=current.amount_cents, reason=why)
    return current
