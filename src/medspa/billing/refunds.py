"""Refunds, credit notes and account credit: money given back, and corrections of issued invoices.

A refund goes back to the tender it was paid with (cash from the drawer, a card on the
external terminal with the terminal's slip as reference) or becomes account credit the client
spends later as a tender. It never exceeds what was paid on that payment nor, across all its
refunds, on the invoice. A credit note corrects an issued invoice (which is never edited): it
first reduces what is still owed, and what is left of it on a paid invoice is refunded.

Books (see docs/decisions/0007): every refund debits the contra-revenue account `refunds` and
credits where the money left from (cash, card clearing) or `client_credit`; a credit note's
part applied to the balance debits `refunds` and credits accounts receivable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from medspa.billing import money
from medspa.billing.gateways import gateway_named
from medspa.billing.models import (
    CreditNote,
    CreditNoteSequence,
    Invoice,
    InvoiceStatus,
    Payment,
    Refund,
    RefundMethod,
)
from medspa.billing.promotion_models import Referral
from medspa.billing.services import INTERNAL_KEY_PREFIX, _cents, _event, _locked, _text, client_key
from medspa.billing.tenders import tender_named
from medspa.clients.models import Client
from medspa.core.errors import Conflict, FieldError, Invalid, NotFound
from medspa.core.models import Organization, User
from medspa.ledger.services import Posting, post_entry

# The part of a credit note applied to an invoice's balance is kept as a Payment of this kind
# (not a registered tender, so the desk can never take it): it settles the balance the way
# an accounting package applies a credit memo, and it is never money that can be refunded.
CREDIT_NOTE_KIND = "credit_note"
ACCOUNT_CREDIT = "account_credit"

# States in which an issued invoice may be corrected or refunded.
ISSUED = frozenset(
    {
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.REFUNDED,
    }
)


def _sum(qs: QuerySet[Any], field: str = "amount_cents") -> int:
    # int(): PostgreSQL's SUM may come back as a Decimal; the value is whole cents.
    return int(qs.aggregate(total=Sum(field))["total"] or 0)


# --- reads --------------------------------------------------------------------------------


def money_paid(invoice: Invoice) -> int:
    """What the client actually paid on the invoice (credit notes applied are not money)."""
    return _sum(
        Payment.objects.filter(organization_id=invoice.organization_id, invoice=invoice).exclude(
            kind=CREDIT_NOTE_KIND
        )
    )


def refunded(invoice: Invoice) -> int:
    return _sum(Refund.objects.filter(organization_id=invoice.organization_id, invoice=invoice))


def refundable(invoice: Invoice) -> int:
    """What can still be given back on the invoice."""
    return money_paid(invoice) - refunded(invoice)


def payment_refundable(payment: Payment) -> int:
    """What can still be given back on one payment."""
    return payment.amount_cents - _sum(payment.refunds.all())


def refunds_of(invoice: Invoice) -> QuerySet[Refund]:
    """An invoice's refunds, oldest first (the invoice was looked up in its organization)."""
    return (
        Refund.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
        .select_related("payment", "credit_note")
        .order_by("refunded_at", "id")
    )


def credit_notes_of(invoice: Invoice) -> QuerySet[CreditNote]:
    return CreditNote.objects.filter(
        organization_id=invoice.organization_id, invoice=invoice
    ).order_by("issued_at", "id")


def credit_balance(client: Client) -> int:
    """The client's account credit: granted by refunds, less what was spent as a tender.

    A refund "to the original method" of a payment made with account credit gives the credit
    back, so every refund whose tender is account credit counts as granted.
    """
    granted = _sum(
        Refund.objects.filter(
            organization_id=client.organization_id, invoice__client=client, tender=ACCOUNT_CREDIT
        )
    )
    spent = _sum(
        Payment.objects.filter(
            organization_id=client.organization_id, invoice__client=client, kind=ACCOUNT_CREDIT
        )
    )
    # Credit earned by referring other clients (billing/referrals.py).
    referred = _sum(
        Referral.objects.filter(
            organization_id=client.organization_id, referrer=client, granted_at__isnull=False
        ),
        "granted_cents",
    )
    # Deposits given back as account credit (billing/deposits.py) are credit too.
    from medspa.billing.deposits import credit_from_deposits

    return granted + referred + credit_from_deposits(client.organization_id, client.pk) - spent


@dataclass(frozen=True)
class CreditMovement:
    """One line of a client's account credit history: granted (+) or spent (-)."""

    at: datetime
    amount_cents: int
    # None for referral credit (the invoice that earned it is the referred client's) and
    # for a deposit given back as credit.
    invoice_id: int | None
    what: str


def credit_history(client: Client, limit: int = 200) -> list[CreditMovement]:
    """The client's account credit granted and spent, newest first (four queries)."""
    granted = Refund.objects.filter(
        organization_id=client.organization_id, invoice__client=client, tender=ACCOUNT_CREDIT
    ).order_by("-refunded_at", "-id")[:limit]
    spent = Payment.objects.filter(
        organization_id=client.organization_id, invoice__client=client, kind=ACCOUNT_CREDIT
    ).order_by("-received_at", "-id")[:limit]
    earned = (
        Referral.objects.filter(
            organization_id=client.organization_id, referrer=client, granted_at__isnull=False
        )
        .select_related("client")
        .order_by("-granted_at", "-id")[:limit]
    )
    moves = (
        [
            CreditMovement(r.refunded_at, r.amount_cents, r.invoice_id, f"Refund: {r.reason}")
            for r in granted
        ]
        + [
            CreditMovement(r.granted_at, r.granted_cents, None, f"Referral credit: {r.client}")
            for r in earned
            if r.granted_at is not None
        ]
        + [
            CreditMovement(p.received_at, -p.amount_cents, p.invoice_id, "Spent on an invoice")
            for p in spent
        ]
    )
    # Deposits given back as account credit (billing/deposits.py).
    from medspa.billing.deposits import credit_movements_from_deposits

    moves += credit_movements_from_deposits(client, limit)
    return sorted(moves, key=lambda m: m.at, reverse=True)[:limit]


def lock_client_credit(client: Client) -> int:
    """The client's credit with the client row locked, so two checkouts cannot both spend it."""
    Client.objects.select_for_update(of=("self",)).filter(pk=client.pk).first()
    return credit_balance(client)


# --- refunds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundTaken:
    invoice: Invoice
    refund: Refund
    replayed: bool


def _payment_of(invoice: Invoice, payment_id: int) -> Payment:
    found = Payment.objects.filter(
        organization_id=invoice.organization_id, invoice=invoice, pk=payment_id
    ).first()
    if found is None:
        raise NotFound("No such payment on this invoice.", [FieldError("payment", "Not found.")])
    return found


def _refund_status(invoice: Invoice) -> None:
    """A paid invoice all of whose money went back is refunded (nothing is owed on it)."""
    paid = money_paid(invoice)
    if paid and invoice.balance_cents == 0 and refunded(invoice) == paid:
        invoice.status = InvoiceStatus.REFUNDED
        invoice.save(update_fields=["status"])


def _give_back(
    *,
    current: Invoice,
    amount_cents: int,
    method: str,
    payment_id: int | None,
    reason: str,
    reference: str,
    key: str,
    actor: User | None,
    now: datetime,
    credit_note: CreditNote | None = None,
) -> Refund:
    """Check and record one refund on a locked invoice, with its journal entry."""
    if current.status not in ISSUED:
        state = "has not been issued" if current.is_draft else "is void"
        raise Conflict(
            f"Invoice {current.display_number} {state}: nothing was paid to refund.",
            [FieldError("invoice", "Nothing to refund.")],
            code="invoice_not_refundable",
        )
    payment = _payment_of(current, payment_id) if payment_id is not None else None
    if method == RefundMethod.ORIGINAL and payment is None:
        raise Invalid.on("payment", "Say which payment goes back to its original method.")
    if payment is not None and payment.kind == CREDIT_NOTE_KIND:
        raise Invalid.on("payment", "A credit note applied to the balance is not money paid.")
    left = refundable(current)
    if payment is not None:
        left = min(left, payment_refundable(payment))
    if amount_cents > left:
        fmt = current.currency
        raise Invalid.on(
            "amount_cents",
            f"A refund of {money.format_cents(amount_cents, fmt)} is more than the "
            f"{money.format_cents(left, fmt)} paid and not yet refunded"
            + (" on that payment." if payment is not None else "."),
            code="refund_above_paid",
        )
    if method == RefundMethod.ORIGINAL:
        assert payment is not None
        tender = tender_named(payment.kind)
        if tender is None:
            raise Invalid.on("payment", f"Payments by {payment.kind} cannot be refunded here.")
        result = gateway_named(payment.gateway).refund(
            reference=payment.reference, amount_cents=amount_cents, idempotency_key=key
        )
        if not result.succeeded:
            raise Conflict(
                f"The {tender.label.lower()} refund was declined: {result.failure_reason}",
                [FieldError("payment", "Declined.")],
                code="refund_declined",
            )
        kind, account = payment.kind, tender.account
        # Manual gateway: keep what the desk typed from the terminal's refund slip.
        reference = reference or (result.reference if payment.gateway != "manual" else "")
    else:
        kind, account = ACCOUNT_CREDIT, "client_credit"
    entry = post_entry(
        organization=current.organization,
        occurred_at=now,
        memo=f"Refund on invoice {current.display_number}",
        postings=[
            Posting("refunds", debit_cents=amount_cents, memo=reason[:300]),
            Posting(account, credit_cents=amount_cents),
        ],
        source_type="refund",
        source_id=current.pk,
        location=current.location,
        actor=actor,
    )
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                organization_id=current.organization_id,
                invoice=current,
                payment=payment,
                credit_note=credit_note,
                amount_cents=amount_cents,
                method=method,
                tender=kind,
                reason=reason,
                reference=reference,
                idempotency_key=key,
                refunded_at=now,
                refunded_by=actor,
                journal_entry_id=entry.pk,
            )
    except IntegrityError:
        raise Conflict(
            "A refund with this Idempotency-Key is being recorded; retry in a moment.",
            [FieldError("Idempotency-Key", "Retry in a moment.")],
            code="idempotency_in_progress",
        ) from None
    _refund_status(current)
    return refund


def _method(value: str) -> str:
    if value not in RefundMethod.values:
        raise Invalid.on("method", f"Choose one of: {', '.join(RefundMethod.values)}.")
    return value


def refund_invoice(
    *,
    invoice: Invoice,
    amount_cents: int,
    method: str,
    reason: str,
    idempotency_key: str,
    actor: User | None,
    payment_id: int | None = None,
    reference: str = "",
    now: datetime | None = None,
) -> RefundTaken:
    """Give back part or all of what was paid: to the payment's tender, or as account credit.

    The same Idempotency-Key again returns the first refund and gives nothing back twice; the
    key with a different request is refused. Refused too: more than was paid (on that payment
    and across refunds), a draft or void invoice, an amount that is not whole positive cents.
    """
    now = now or timezone.now()
    key = client_key(idempotency_key)
    amount = _cents(amount_cents, "amount_cents")
    how = _method(method)
    why = _text(reason, "reason", required=True, limit=300)
    slip = _text(reference, "reference", required=False)
    with transaction.atomic():
        current = _locked(invoice)
        earlier = Refund.objects.filter(
            organization_id=current.organization_id, idempotency_key=key
        ).first()
        if earlier is not None:
            same = (
                earlier.invoice_id == current.pk
                and earlier.amount_cents == amount
                and earlier.method == how
                and (payment_id is None or earlier.payment_id == payment_id)
            )
            if not same:
                raise Invalid.on(
                    "Idempotency-Key",
                    "This Idempotency-Key was already used with a different refund.",
                    code="idempotency_key_reused",
                )
            return RefundTaken(invoice=current, refund=earlier, replayed=True)
        if current.status == InvoiceStatus.PARTIALLY_PAID:
            # Money back while money is still owed would forgive the balance in the books:
            # the client owes the total again. Reduce what is owed with a credit note instead.
            raise Conflict(
                f"Invoice {current.display_number} still has "
                f"{money.format_cents(current.balance_cents, current.currency)} owing: issue "
                "a credit note to reduce it, or refund once it is paid in full. Nothing was "
                "refunded.",
                [FieldError("amount_cents", "The invoice is not fully paid.")],
                code="invoice_not_paid",
            )
        refund = _give_back(
            current=current,
            amount_cents=amount,
            method=how,
            payment_id=payment_id,
            reason=why,
            reference=slip,
            key=key,
            actor=actor,
            now=now,
        )
        _event(
            current,
            actor,
            "refund_recorded",
            refund=refund.pk,
            amount_cents=amount,
            method=how,
            tender=refund.tender,
            status=current.status,
        )
    return RefundTaken(invoice=current, refund=refund, replayed=False)


# --- credit notes -------------------------------------------------------------------------


def _take_credit_note_number(organization: Organization) -> int:
    """The next credit-note number; the locked sequence row keeps the series gap-free."""
    sequence = (
        CreditNoteSequence.objects.select_for_update().filter(organization=organization).first()
    )
    if sequence is None:
        try:
            with transaction.atomic():
                sequence = CreditNoteSequence.objects.create(organization=organization)
        except IntegrityError:  # a concurrent first credit note created it: wait for its lock
            sequence = CreditNoteSequence.objects.select_for_update().get(organization=organization)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def credited(invoice: Invoice) -> int:
    return _sum(credit_notes_of(invoice))


def issue_credit_note(
    *,
    invoice: Invoice,
    amount_cents: int,
    reason: str,
    actor: User | None,
    method: str | None = None,
    payment_id: int | None = None,
    reference: str = "",
    now: datetime | None = None,
) -> CreditNote:
    """Correct an issued invoice by an amount with its reason; the invoice stays as issued.

    The credit first reduces what is still owed; what is left (on a paid invoice) is refunded
    to the payment's original method or as account credit, as `method` says. Never more than
    the invoice's total less earlier credit notes, nor than was paid and not yet refunded.
    """
    now = now or timezone.now()
    amount = _cents(amount_cents, "amount_cents")
    why = _text(reason, "reason", required=True, limit=300)
    slip = _text(reference, "reference", required=False)
    how = _method(method) if method else None
    with transaction.atomic():
        current = _locked(invoice)
        if current.status not in ISSUED:
            raise Conflict(
                f"Invoice {current.display_number} is "
                f"{current.get_status_display().lower()}: only an issued invoice takes a "
                "credit note.",
                [FieldError("invoice", "Only an issued invoice takes a credit note.")],
                code="invoice_not_issued",
            )
        room = current.total_cents - credited(current)
        if amount > room:
            raise Invalid.on(
                "amount_cents",
                f"Credit notes can correct at most {money.format_cents(room, current.currency)}"
                " more on this invoice.",
                code="credit_above_total",
            )
        applied = min(amount, current.balance_cents)
        rest = amount - applied
        if rest and how is None:
            raise Invalid.on(
                "method",
                f"{money.format_cents(rest, current.currency)} of it was already paid: say "
                "whether it goes back to the original method or as account credit.",
            )
        note = CreditNote.objects.create(
            organization_id=current.organization_id,
            invoice=current,
            number=_take_credit_note_number(current.organization),
            amount_cents=amount,
            applied_cents=applied,
            reason=why,
            issued_at=now,
            issued_by=actor,
        )
        if applied:
            entry = post_entry(
                organization=current.organization,
                occurred_at=now,
                memo=f"Credit note {note.display_number} on invoice {current.display_number}",
                postings=[
                    Posting("refunds", debit_cents=applied, memo=why),
                    Posting("accounts_receivable", credit_cents=applied),
                ],
                source_type="credit_note",
                source_id=current.pk,
                location=current.location,
                actor=actor,
            )
            note.journal_entry_id = entry.pk
            note.save(update_fields=["journal_entry_id"])
            Payment.objects.create(
                organization_id=current.organization_id,
                invoice=current,
                kind=CREDIT_NOTE_KIND,
                amount_cents=applied,
                gateway=CREDIT_NOTE_KIND,
                reference=note.display_number,
                received_at=now,
                received_by=actor,
                idempotency_key=f"{INTERNAL_KEY_PREFIX}credit-note:{note.pk}",
                journal_entry_id=entry.pk,
            )
            current.paid_cents += applied
            current.status = (
                InvoiceStatus.PAID
                if current.paid_cents == current.total_cents
                else InvoiceStatus.PARTIALLY_PAID
            )
            current.save(update_fields=["paid_cents", "status"])
            if current.status == InvoiceStatus.PAID:
                # Paid in full with the note's help: credit is owed if real money came in.
                from medspa.billing.referrals import grant_when_paid

                grant_when_paid(invoice=current, actor=actor, now=now)
        if rest:
            assert how is not None
            _give_back(
                current=current,
                amount_cents=rest,
                method=how,
                payment_id=payment_id,
                reason=f"Credit note {note.display_number}: {why}"[:300],
                reference=slip,
                key=f"{INTERNAL_KEY_PREFIX}credit-note:{note.pk}",
                actor=actor,
                now=now,
                credit_note=note,
            )
        _event(
            current,
            actor,
            "credit_note_issued",
            credit_note=note.pk,
            number=note.number,
            amount_cents=amount,
            applied_cents=applied,
            refunded_cents=rest,
            status=current.status,
        )
    return note
