"""Deposits at booking and the fees of late cancellations and no-shows (see decision 0008).

A deposit is asked when a visit is booked whose services' policies require one; the desk takes
it (Dr cash or card clearing, Cr `deposits_held`), and it stays a liability until:
- the visit's invoice is issued: it is applied to the balance (Dr deposits_held, Cr accounts
  receivable), never more than the balance; the rest stays held until refunded;
- the visit is cancelled in time: it goes back, to the original tender or as account credit
  as the policy says (Dr deposits_held, Cr cash/card clearing/client credit); a Stripe
  payment is refunded through Stripe after the cancellation commits, a cash or terminal one
  when the desk hands it back (the deposit waits as "to give back" until then);
- the visit is cancelled late, or the client does not come: it is forfeited to fee revenue
  (Dr deposits_held, Cr fees), or given back if the policy says so.
A late-cancellation or no-show fee is never charged by the software: it becomes a proposed
fee (the policy's fee less any deposit kept) that a staff member confirms (charged to the
card on file, or an invoice to collect at the next visit) or waives with a reason.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from medspa.billing import money
from medspa.billing.card_models import CardOnFile
from medspa.billing.deposit_models import (
    BookingTerms,
    Deposit,
    DepositStatus,
    FeeKind,
    ProposedFee,
)
from medspa.billing.gateways import CardRef, ChargeRequest, GatewayResult, gateway_named
from medspa.billing.models import Invoice, InvoiceStatus, Payment
from medspa.billing.refunds import CreditMovement
from medspa.billing.services import (
    INTERNAL_KEY_PREFIX,
    _text,
    client_key,
    give_charge_back,
)
from medspa.billing.tenders import tender_named
from medspa.catalog.policies import policies_for
from medspa.catalog.policy_models import BookingPolicy, DepositKind, DepositOutcome, RefundTo
from medspa.clients.models import Client
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid
from medspa.core.models import Location, Organization, User
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.ledger.services import Posting, post_entry
from medspa.scheduling.models import Appointment, AppointmentService, AppointmentStatus

logger = logging.getLogger(__name__)

# The tenders a deposit is taken with; `card` is Stripe when it is set up (with a card on file).
DEPOSIT_TENDERS = ("cash", "cheque", "card_external", "card", "card_on_file")
# Visits whose deposit can still be taken.
OPEN_VISITS = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.CHECKED_IN}
)
# The invoice payment that records a deposit applied at checkout: not a tender the desk can
# pick (it is not registered), and never refunded "to the original method" (that would be
# the deposit's own tender, already in the books).
DEPOSIT_PAYMENT_KIND = "deposit"


def _event(deposit: Deposit | ProposedFee, actor: User | None, action: str, **data: Any) -> None:
    record_event(
        organization=deposit.organization,
        actor=actor,
        action=f"billing.{action}",
        object_type="appointment",
        object_id=deposit.appointment_id,
        data={"deposit" if isinstance(deposit, Deposit) else "fee": deposit.pk, **data},
    )


def _money(cents: int, currency: str) -> str:
    return money.format_cents(cents, currency)


# --- reads --------------------------------------------------------------------------------


def deposit_of(organization: Organization, pk: Any) -> Deposit:
    """One deposit of the organization, or 404."""
    return get_owned(
        Deposit.objects.select_related("organization", "appointment", "client", "location"),
        organization=organization,
        pk=pk,
        field="deposit",
        label="deposit",
    )


def deposit_for(appointment: Appointment) -> Deposit | None:
    return (
        Deposit.objects.filter(organization_id=appointment.organization_id, appointment=appointment)
        .select_related("card")
        .first()
    )


def deposits_for(organization: Organization, *, status: str | None = None) -> QuerySet[Deposit]:
    qs = Deposit.objects.filter(organization=organization).select_related(
        "client", "appointment", "location"
    )
    if status:
        if status not in DepositStatus.values:
            raise Invalid.on("status", f"Choose one of: {', '.join(DepositStatus.values)}.")
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


def held_total(organization: Organization) -> int:
    """What the organization holds in deposits (the `deposits_held` account should say so)."""
    rows = Deposit.objects.filter(organization=organization).aggregate(
        paid=Sum("paid_cents"),
        applied=Sum("applied_cents"),
        refunded=Sum("refunded_cents"),
        forfeited=Sum("forfeited_cents"),
    )
    return int(rows["paid"] or 0) - sum(
        int(rows[k] or 0) for k in ("applied", "refunded", "forfeited")
    )


def drawer_deposits(location: Location, start: datetime, end: datetime) -> int:
    """Deposits taken into the drawer (cash, cheques) at the location in [start, end), less
    those handed back from it: the daily close expects them in the till."""
    taken, given = drawer_deposit_totals(location, start, end)
    return taken - given


def drawer_deposit_totals(location: Location, start: datetime, end: datetime) -> tuple[int, int]:
    """Deposits taken into the drawer and handed back from it in [start, end): (in, out)."""
    from medspa.billing.close import drawer_kinds

    kinds = drawer_kinds()
    mine = Deposit.objects.filter(
        organization_id=location.organization_id, location=location, tender__in=kinds
    )
    taken = mine.filter(paid_at__gte=start, paid_at__lt=end).aggregate(s=Sum("paid_cents"))["s"]
    given = mine.filter(
        refunded_at__gte=start, refunded_at__lt=end, refund_method=RefundTo.ORIGINAL
    ).aggregate(s=Sum("refunded_cents"))["s"]
    return int(taken or 0), int(given or 0)


def credit_from_deposits(organization_id: int, client_id: int) -> int:
    """Account credit granted by deposits refunded as credit (refunds.credit_balance adds it)."""
    total = Deposit.objects.filter(
        organization_id=organization_id,
        client_id=client_id,
        refund_method=RefundTo.ACCOUNT_CREDIT,
    ).aggregate(s=Sum("refunded_cents"))["s"]
    return int(total or 0)


def credit_movements_from_deposits(client: Client, limit: int) -> list[CreditMovement]:
    """The client's deposits given back as account credit, as credit history lines."""
    given = Deposit.objects.filter(
        organization_id=client.organization_id,
        client=client,
        refund_method=RefundTo.ACCOUNT_CREDIT,
        refunded_cents__gt=0,
    ).order_by("-refunded_at", "-id")[:limit]
    return [
        CreditMovement(
            d.refunded_at or d.requested_at, d.refunded_cents, None, "Deposit given back"
        )
        for d in given
    ]


# --- the policy applied to a visit -------------------------------------------------------


def _policies(appointment: Appointment) -> list[tuple[int, BookingPolicy]]:
    """(booked price, policy) per service of the visit."""
    lines = list(appointment.lines.select_related("service").order_by("position"))
    policies = policies_for(line.service for line in lines)
    return [(line.price_cents, policies[line.service_id]) for line in lines]


def deposit_asked(price_cents: int, policy: BookingPolicy) -> int:
    """The deposit a service's policy asks for at its booked price."""
    if policy.deposit_kind == DepositKind.AMOUNT:
        return int(policy.deposit_amount_cents)
    if policy.deposit_kind == DepositKind.PERCENT:
        return money.percent_of(price_cents, policy.deposit_percent_bp)
    return 0


def late_after(start: datetime, zone: Any, window_hours: int) -> datetime:
    """The moment after which a cancellation is late: the window before the start, counted on
    the location's wall clock (24 hours before 10:00 is 10:00 the day before, DST or not)."""
    local = start.astimezone(zone).replace(tzinfo=None) - timedelta(hours=window_hours)
    return local.replace(tzinfo=zone)


@dataclass(frozen=True)
class Terms:
    """The combined policy of a visit's services: the strictest window, fees added up."""

    deposit_cents: int
    window_hours: int
    late_cancel_deposit: str
    no_show_deposit: str
    refund_to: str
    late_cancel_fee_cents: int
    no_show_fee_cents: int


def terms_of(appointment: Appointment) -> Terms:
    rows = _policies(appointment)
    policies = [p for _, p in rows]

    def kept(outcomes: list[str]) -> str:
        # One service that keeps its deposit keeps the visit's: the client agreed to each.
        return (
            DepositOutcome.FORFEIT if DepositOutcome.FORFEIT in outcomes else DepositOutcome.REFUND
        )

    return Terms(
        deposit_cents=sum(deposit_asked(price, p) for price, p in rows),
        window_hours=max((p.cancel_window_hours for p in policies), default=24),
        late_cancel_deposit=kept([p.late_cancel_deposit for p in policies]),
        no_show_deposit=kept([p.no_show_deposit for p in policies]),
        # Back to the original payment unless every service says account credit.
        refund_to=RefundTo.ACCOUNT_CREDIT
        if policies and all(p.refund_to == RefundTo.ACCOUNT_CREDIT for p in policies)
        else RefundTo.ORIGINAL,
        late_cancel_fee_cents=sum(p.late_cancel_fee_cents for p in policies),
        no_show_fee_cents=sum(p.no_show_fee_cents for p in policies),
    )


# --- asking for the deposit -----------------------------------------------------------------


def request_deposit(*, appointment: Appointment, actor: User | None) -> Deposit | None:
    """At booking: keep the terms the visit is booked under, and ask for the deposit its
    services ask for (none when they ask for none)."""
    # One query in the usual case (no service of the visit has a policy set): bookings are
    # the busiest writes of the day.
    has_policy = BookingPolicy.objects.filter(
        service_id__in=AppointmentService.objects.filter(appointment=appointment).values(
            "service_id"
        )
    ).exists()
    if not has_policy:
        return None
    terms = terms_of(appointment)
    with transaction.atomic():
        BookingTerms.objects.get_or_create(
            appointment=appointment,
            defaults={
                "organization_id": appointment.organization_id,
                "terms": asdict(terms),
                "created_at": appointment.created_at,
            },
        )
        if terms.deposit_cents <= 0:
            return None
        deposit, created = Deposit.objects.get_or_create(
            appointment=appointment,
            defaults={
                "organization_id": appointment.organization_id,
                "client_id": appointment.client_id,
                "location_id": appointment.location_id,
                "currency": appointment.organization.currency,
                "amount_cents": terms.deposit_cents,
                "requested_at": appointment.created_at,
            },
        )
        if created:
            _event(deposit, actor, "deposit_requested", amount_cents=deposit.amount_cents)
    return deposit


# A visit booked while none of its services had a policy was booked under the defaults: no
# deposit, 24 hours, no fees. A policy set later never reaches back to it.
DEFAULT_TERMS = Terms(
    deposit_cents=0,
    window_hours=24,
    late_cancel_deposit=DepositOutcome.FORFEIT,
    no_show_deposit=DepositOutcome.FORFEIT,
    refund_to=RefundTo.ORIGINAL,
    late_cancel_fee_cents=0,
    no_show_fee_cents=0,
)


def booked_terms(appointment: Appointment) -> Terms:
    """The terms the visit was booked under (the defaults when no policy applied then)."""
    kept = (
        BookingTerms.objects.filter(appointment=appointment).values_list("terms", flat=True).first()
    )
    return Terms(**kept) if kept is not None else DEFAULT_TERMS


# --- taking it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepositTaken:
    deposit: Deposit
    replayed: bool


def _locked(deposit: Deposit) -> Deposit:
    return (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("organization", "appointment", "location", "client")
        .get(pk=deposit.pk)
    )


def _replay_or_refuse(
    current: Deposit, *, key: str, tender: str, amount_cents: int
) -> DepositTaken | None:
    """The deposit as first taken under this key (a replay), or None when it may be taken.

    Refuses, under the deposit's lock: the key used otherwise, a closed visit, a deposit
    already paid, any amount but what is due.
    """
    if current.idempotency_key == key:
        if current.tender != tender or current.paid_cents != amount_cents:
            raise Invalid.on(
                "Idempotency-Key",
                "This Idempotency-Key was already used with a different deposit payment.",
                code="idempotency_key_reused",
            )
        return DepositTaken(current, replayed=True)
    if Deposit.objects.filter(
        organization_id=current.organization_id, idempotency_key=key
    ).exists():
        raise Invalid.on(
            "Idempotency-Key",
            "This Idempotency-Key was already used with another deposit.",
            code="idempotency_key_reused",
        )
    visit = current.appointment
    if current.status == DepositStatus.CANCELLED or visit.status not in OPEN_VISITS:
        raise Conflict(
            f"The visit is {visit.get_status_display().lower()}: its deposit is not taken.",
            [FieldError("appointment", "No deposit is due for this visit.")],
            code="visit_not_open",
        )
    if current.status != DepositStatus.DUE:
        raise Conflict(
            f"This deposit was already paid ({current.get_status_display().lower()}).",
            [FieldError("amount_cents", "Already paid.")],
            code="deposit_already_paid",
        )
    if amount_cents != current.amount_cents:
        raise Invalid.on(
            "amount_cents",
            f"The deposit is {_money(current.amount_cents, current.currency)}: take exactly that.",
            code="deposit_amount",
        )
    return None


def charges_a_card(tender: str) -> bool:
    """Whether a deposit tender is a card charged through Stripe (not the desk's terminal)."""
    kind = tender_named(tender)
    return kind is not None and kind.gateway == "stripe"


def _locked_free(deposit: Deposit) -> Deposit:
    """The deposit as it stands, read without a lock (the charge runs outside transactions)."""
    return Deposit.objects.select_related("organization", "appointment", "client").get(
        pk=deposit.pk
    )


def take_deposit(
    *,
    deposit: Deposit,
    tender: str,
    amount_cents: int,
    idempotency_key: str,
    actor: User,
    reference: str = "",
    card: CardOnFile | None = None,
    now: datetime | None = None,
    charged: GatewayResult | None = None,
) -> DepositTaken:
    """Take the visit's deposit whole: cash, cheque, the terminal, or the card on file.

    The same Idempotency-Key again returns the deposit as taken and charges nothing. Refused:
    any amount but what is due, a deposit already paid, a cancelled visit's deposit, a card
    that is not the client's, a card when Stripe is not set up.
    """
    require(actor, "deposits.take")
    now = now or timezone.now()
    key = client_key(idempotency_key)
    if tender not in DEPOSIT_TENDERS or (kind := tender_named(tender)) is None:
        raise Invalid.on("tender", f"Choose one of: {', '.join(DEPOSIT_TENDERS)}.")
    slip = _text(reference, "reference", required=False)
    if type(amount_cents) is not int or amount_cents <= 0:
        raise Invalid.on("amount_cents", "Give the amount in whole cents, above zero.")
    if (
        kind.gateway == "stripe"
        and charged is None
        and not transaction.get_connection().in_atomic_block
    ):
        # The card is charged with no transaction open (a slow card network never holds the
        # books), under the desk's key: a retry charges nothing new and books the first.
        with transaction.atomic():
            replay = _replay_or_refuse(
                _locked(deposit), key=key, tender=tender, amount_cents=amount_cents
            )
        if replay is not None:
            return replay
        first = _charge_card(_locked_free(deposit), card, amount_cents, key)
        if not first.succeeded or first.status != "captured":
            raise Conflict(
                f"The {kind.label.lower()} deposit was declined: {first.failure_reason}",
                [FieldError("tender", "Declined.")],
                code="payment_declined",
            )
        try:
            return take_deposit(
                deposit=deposit,
                tender=tender,
                amount_cents=amount_cents,
                idempotency_key=key,
                actor=actor,
                reference=reference,
                card=card,
                now=now,
                charged=first,
            )
        except DomainError as refusal:
            if refusal.code != "idempotency_in_progress":
                give_charge_back(
                    gateway="stripe", result=first, idempotency_key=f"deposit-{key}:undo"
                )
            raise
    with transaction.atomic():
        current = _locked(deposit)
        replay = _replay_or_refuse(current, key=key, tender=tender, amount_cents=amount_cents)
        if replay is not None:
            return replay
        visit = current.appointment
        if kind.gateway == "stripe":
            result = charged or _charge_card(current, card, amount_cents, key)
        else:
            if card is not None:
                raise Invalid.on("card", "A card on file is charged with the 'card' tender.")
            result = gateway_named(kind.gateway).authorize(
                ChargeRequest(
                    amount_cents=amount_cents,
                    currency=current.currency,
                    tender=tender,
                    idempotency_key=f"deposit-{key}",
                    organization_id=current.organization_id,
                    description=f"Deposit for the visit of {visit.start:%Y-%m-%d}",
                    reference=slip,
                )
            )
        if not result.succeeded or result.status != "captured":
            raise Conflict(
                f"The {kind.label.lower()} deposit was declined: {result.failure_reason}",
                [FieldError("tender", "Declined.")],
                code="payment_declined",
            )
        entry = post_entry(
            organization=current.organization,
            occurred_at=now,
            memo=f"Deposit for {current.client} (visit {visit.pk})",
            postings=[
                Posting(kind.account, debit_cents=amount_cents, memo=kind.label),
                Posting("deposits_held", credit_cents=amount_cents),
            ],
            source_type="deposit",
            source_id=current.pk,
            location=current.location,
            actor=actor,
        )
        current.status = DepositStatus.HELD
        current.paid_cents = amount_cents
        current.tender = tender
        current.gateway = kind.gateway
        current.reference = slip or (result.reference if kind.gateway != "manual" else "")
        current.card = card if kind.gateway == "stripe" else None
        current.idempotency_key = key
        current.paid_at = now
        current.paid_by = actor
        current.payment_entry_id = entry.pk
        try:
            with transaction.atomic():
                current.save()
        except IntegrityError:
            raise Conflict(
                "A deposit with this Idempotency-Key is being recorded; retry in a moment.",
                [FieldError("Idempotency-Key", "Retry in a moment.")],
                code="idempotency_in_progress",
            ) from None
        _event(current, actor, "deposit_taken", tender=tender, amount_cents=amount_cents)
    return DepositTaken(current, replayed=False)


def _charge_card(deposit: Deposit, card: CardOnFile | None, amount_cents: int, key: str) -> Any:
    from medspa.billing.stripe_gateway import require_configured

    require_configured()
    if card is None:
        raise Invalid.on("card", "Choose the client's card on file.")
    if card.organization_id != deposit.organization_id or card.client_id != deposit.client_id:
        raise Invalid.on("card", "That card is not on file for this client.")
    if not card.is_active:
        raise Invalid.on("card", f"The {card} was removed from file.")
    return gateway_named("stripe").authorize(
        ChargeRequest(
            amount_cents=amount_cents,
            currency=deposit.currency,
            tender="card_on_file",
            idempotency_key=f"deposit-{key}",
            organization_id=deposit.organization_id,
            description=f"Deposit for visit {deposit.appointment_id}",
            card=CardRef(card_on_file_id=card.pk),
            client_id=deposit.client_id,
        )
    )


# --- applying it at checkout --------------------------------------------------------------


def apply_held_deposit(*, invoice: Invoice, actor: User | None, now: datetime) -> int:
    """When the visit's invoice is issued, the deposit held pays what it can of the balance.

    Called by `issue_invoice` in its transaction; answers the cents applied (0: nothing held).
    """
    if invoice.appointment_id is None:
        return 0
    deposit = (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(
            organization_id=invoice.organization_id,
            appointment_id=invoice.appointment_id,
            status__in=[DepositStatus.HELD, DepositStatus.DUE],
        )
        .first()
    )
    if deposit is not None and deposit.status == DepositStatus.DUE:
        # Checked out without it: the invoice asks for the whole price, the deposit is moot.
        deposit.status = DepositStatus.CANCELLED
        deposit.save(update_fields=["status"])
        _event(deposit, actor, "deposit_cancelled", why="checked out", invoice=invoice.pk)
        return 0
    if deposit is None or deposit.held_cents <= 0 or invoice.balance_cents <= 0:
        return 0
    amount = min(deposit.held_cents, invoice.balance_cents)
    entry = post_entry(
        organization=invoice.organization,
        occurred_at=now,
        memo=f"Deposit applied to invoice {invoice.display_number}",
        postings=[
            Posting("deposits_held", debit_cents=amount),
            Posting("accounts_receivable", credit_cents=amount),
        ],
        source_type="deposit",
        source_id=deposit.pk,
        location=invoice.location,
        actor=actor,
    )
    Payment.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=DEPOSIT_PAYMENT_KIND,
        amount_cents=amount,
        gateway=DEPOSIT_PAYMENT_KIND,
        reference=f"Deposit {deposit.pk}",
        received_at=now,
        received_by=actor,
        idempotency_key=f"{INTERNAL_KEY_PREFIX}deposit:{deposit.pk}:{invoice.pk}",
        journal_entry_id=entry.pk,
    )
    invoice.paid_cents += amount
    invoice.status = (
        InvoiceStatus.PAID
        if invoice.paid_cents == invoice.total_cents
        else InvoiceStatus.PARTIALLY_PAID
    )
    invoice.save(update_fields=["paid_cents", "status"])
    if invoice.status == InvoiceStatus.PAID:
        # The deposit paid the first visit in full: a referrer may be owed their credit.
        from medspa.billing.referrals import grant_when_paid

        grant_when_paid(invoice=invoice, actor=actor, now=now)
    deposit.applied_cents += amount
    deposit.applied_invoice = invoice
    deposit.applied_entry_id = entry.pk
    if deposit.held_cents == 0:
        deposit.status = DepositStatus.APPLIED
    deposit.save(update_fields=["applied_cents", "applied_invoice", "applied_entry_id", "status"])
    _event(
        deposit,
        actor,
        "deposit_applied",
        invoice=invoice.pk,
        amount_cents=amount,
        still_held_cents=deposit.held_cents,
    )
    return amount


# --- giving it back -------------------------------------------------------------------------


def _refund_postings(deposit: Deposit, amount: int, method: str) -> list[Posting]:
    if method == RefundTo.ACCOUNT_CREDIT:
        account = "client_credit"
    else:
        tender = tender_named(deposit.tender)
        account = tender.account if tender is not None else "card_clearing"
    return [
        Posting("deposits_held", debit_cents=amount),
        Posting(account, credit_cents=amount),
    ]


def _give_back(
    current: Deposit, *, method: str, reason: str, reference: str, actor: User | None, now: datetime
) -> Deposit:
    """Record the held amount as given back, with its journal entry (the money moved)."""
    amount = current.held_cents
    entry = post_entry(
        organization=current.organization,
        occurred_at=now,
        memo=f"Deposit refunded to {current.client}"
        + (" as account credit" if method == RefundTo.ACCOUNT_CREDIT else ""),
        postings=_refund_postings(current, amount, method),
        source_type="deposit",
        source_id=current.pk,
        location=current.location,
        actor=actor,
    )
    current.refunded_cents += amount
    current.refund_method = method
    current.refund_reason = reason[:300]
    current.refund_reference = reference[:200]
    current.refund_error = ""
    current.refunded_at = now
    current.refunded_by = actor
    current.refund_entry_id = entry.pk
    current.status = DepositStatus.REFUNDED
    current.save()
    _event(current, actor, "deposit_refunded", amount_cents=amount, method=method, reason=reason)
    return current


def _stripe_refund(current: Deposit, amount: int) -> str:
    """Give a card deposit back through Stripe; the key (the deposit's id) makes it once only."""
    result = gateway_named(current.gateway).refund(
        reference=current.reference,
        amount_cents=amount,
        idempotency_key=f"deposit-{current.pk}-refund",
    )
    if not result.succeeded:
        raise Conflict(
            f"The card refund was refused: {result.failure_reason}",
            [FieldError("deposit", "Refund refused.")],
            code="refund_declined",
        )
    return result.reference


def refund_deposit(
    *,
    deposit: Deposit,
    actor: User,
    reason: str = "",
    method: str | None = None,
    reference: str = "",
    now: datetime | None = None,
) -> Deposit:
    """Give back what the deposit still holds: to its original tender or as account credit.

    A deposit the policy said to give back ("to give back") is completed here once the desk
    hands the cash back or the terminal prints the refund slip; a Stripe one is refunded
    through Stripe (also the retry when the automatic refund after a cancellation failed).
    A held deposit (say, what was left after checkout) needs `deposits.refund` and a reason.
    Never twice: a refunded deposit holds nothing, and Stripe sees one key per deposit.
    """
    now = now or timezone.now()
    slip = _text(reference, "reference", required=False)
    why = _text(reason, "reason", required=False, limit=300)
    with transaction.atomic():
        current = _locked(deposit)
        if current.status == DepositStatus.REFUND_DUE:
            require(actor, "deposits.take")
            how = current.refund_method or RefundTo.ORIGINAL
            why = why or current.refund_reason
        elif current.status in (DepositStatus.HELD,) and current.held_cents > 0:
            require(actor, "deposits.refund")
            if not why:
                raise Invalid.on("reason", "Say why the deposit is given back.")
            how = method or RefundTo.ORIGINAL
        else:
            raise Conflict(
                f"This deposit holds nothing to give back "
                f"({current.get_status_display().lower()}).",
                [FieldError("deposit", "Nothing held.")],
                code="deposit_not_held",
            )
        if how not in RefundTo.values:
            raise Invalid.on("method", f"Choose one of: {', '.join(RefundTo.values)}.")
        if how == RefundTo.ORIGINAL and current.gateway == "stripe":
            slip = _stripe_refund(current, current.held_cents)
        return _give_back(current, method=how, reason=why, reference=slip, actor=actor, now=now)


def retry_card_refund(deposit_id: int) -> None:
    """After a cancellation commits: refund a Stripe deposit the policy gave back. A failure
    leaves it "to give back" with the reason, for the desk to retry; nothing is lost."""
    deposit = Deposit.objects.filter(pk=deposit_id, status=DepositStatus.REFUND_DUE).first()
    if deposit is None or deposit.gateway != "stripe":
        return
    try:
        with transaction.atomic():
            current = _locked(deposit)
            if current.status != DepositStatus.REFUND_DUE:
                return  # refunded meanwhile by the desk
            slip = _stripe_refund(current, current.held_cents)
            _give_back(
                current,
                method=RefundTo.ORIGINAL,
                reason=current.refund_reason,
                reference=slip,
                actor=None,
                now=timezone.now(),
            )
    except Exception as error:
        detail = getattr(error, "detail", "") or str(error) or type(error).__name__
        logger.warning("Deposit %s: card refund failed: %s", deposit_id, detail)
        Deposit.objects.filter(pk=deposit_id, status=DepositStatus.REFUND_DUE).update(
            refund_attempts=deposit.refund_attempts + 1, refund_error=str(detail)[:300]
        )


# --- a cancellation or a no-show ----------------------------------------------------------


def settle_visit(*, appointment: Appointment, actor: User | None, status: str) -> None:
    """By the policy: give the deposit back, or keep it, and propose the fee, when a visit is
    cancelled or the client does not come. Runs inside the status change's transaction.

    The terms are those the visit was booked under. The moment of the cancellation is the
    status change's (`updated_at`); it is late when it falls after the window before the
    start, on the location's wall clock.
    """
    if status not in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        return
    terms = booked_terms(appointment)
    when = appointment.updated_at
    no_show = status == AppointmentStatus.NO_SHOW
    late = no_show or when > late_after(
        appointment.start, appointment.location.zone, terms.window_hours
    )
    deposit = (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("organization", "appointment", "location", "client")
        .filter(appointment=appointment)
        .first()
    )
    forfeited = 0
    if deposit is not None:
        if deposit.status == DepositStatus.DUE:
            deposit.status = DepositStatus.CANCELLED
            deposit.save(update_fields=["status"])
            _event(deposit, actor, "deposit_cancelled", why=status)
        elif deposit.status == DepositStatus.HELD and deposit.held_cents > 0:
            outcome = (
                terms.no_show_deposit
                if no_show
                else terms.late_cancel_deposit
                if late
                else DepositOutcome.REFUND
            )
            if outcome == DepositOutcome.FORFEIT:
                forfeited = _forfeit(deposit, actor=actor, now=when, why=status)
            else:
                _refund_by_policy(deposit, terms=terms, actor=actor, now=when, late=late)
    if not late:
        return
    fee = terms.no_show_fee_cents if no_show else terms.late_cancel_fee_cents
    if fee - forfeited <= 0:
        return
    proposed = ProposedFee.objects.create(
        organization_id=appointment.organization_id,
        appointment=appointment,
        client_id=appointment.client_id,
        location_id=appointment.location_id,
        kind=FeeKind.NO_SHOW if no_show else FeeKind.LATE_CANCEL,
        currency=appointment.organization.currency,
        policy_fee_cents=fee,
        forfeited_cents=forfeited,
        amount_cents=fee - forfeited,
        proposed_at=when,
    )
    record_event(
        organization=appointment.organization,
        actor=actor,
        action="billing.fee_proposed",
        object_type="appointment",
        object_id=appointment.pk,
        data={
            "fee": proposed.pk,
            "kind": proposed.kind,
            "amount_cents": proposed.amount_cents,
            "forfeited_cents": forfeited,
        },
    )


def _forfeit(deposit: Deposit, *, actor: User | None, now: datetime, why: str) -> int:
    amount = deposit.held_cents
    what = "no-show" if why == AppointmentStatus.NO_SHOW else "late cancellation"
    entry = post_entry(
        organization=deposit.organization,
        occurred_at=now,
        memo=f"Deposit kept ({what}) of {deposit.client}",
        postings=[
            Posting("deposits_held", debit_cents=amount),
            Posting("fees", credit_cents=amount),
        ],
        source_type="deposit",
        source_id=deposit.pk,
        location=deposit.location,
        actor=actor,
    )
    deposit.forfeited_cents += amount
    deposit.forfeited_at = now
    deposit.forfeit_entry_id = entry.pk
    deposit.status = DepositStatus.FORFEITED
    deposit.save(update_fields=["forfeited_cents", "forfeited_at", "forfeit_entry_id", "status"])
    _event(deposit, actor, "deposit_forfeited", amount_cents=amount, why=why)
    return amount


def _refund_by_policy(
    deposit: Deposit, *, terms: Terms, actor: User | None, now: datetime, late: bool
) -> None:
    reason = "Late cancellation: the policy gives the deposit back" if late else "Cancelled in time"
    if terms.refund_to == RefundTo.ACCOUNT_CREDIT:
        _give_back(
            deposit,
            method=RefundTo.ACCOUNT_CREDIT,
            reason=reason,
            reference="",
            actor=actor,
            now=now,
        )
        return
    # Money goes back to where it came from: through Stripe once this commits (a refund is
    # never sent for a cancellation that rolled back), or by the desk's hand for cash,
    # cheques and the terminal. Until then it is still held and shows "to give back".
    deposit.status = DepositStatus.REFUND_DUE
    deposit.refund_method = RefundTo.ORIGINAL
    deposit.refund_reason = reason
    deposit.save(update_fields=["status", "refund_method", "refund_reason"])
    _event(deposit, actor, "deposit_refund_due", amount_cents=deposit.held_cents)
    if deposit.gateway == "stripe":
        pk = deposit.pk
        transaction.on_commit(lambda: retry_card_refund(pk))
