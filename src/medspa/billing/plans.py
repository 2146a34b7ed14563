"""Payment plans: an issued invoice's balance charged in instalments to a card on file.

The desk makes a plan (2 to 24 instalments, weekly, monthly or on chosen dates) on an
invoice with a balance, charged to a card the client consented to keep on file. The worker
(`charge_due_instalments`, a periodic job) charges each instalment from its date on:

1. claim it in a short transaction (a conditional `update()` whose row count says who won,
   so two workers never charge the same one), fixing the attempt's idempotency key;
2. charge the card with no transaction open (never hold a lock across the network), under
   that key, so a worker killed mid-charge that tries again gets Stripe's stored answer;
3. record the outcome in a second transaction: the payment through `record_payment` (one
   balanced journal entry, the Payment row keyed by the same key), or the decline with
   its reason and the next try; after the last decline the plan fails and a follow-up
   opens for a person.

Money paid outside the plan (the desk takes a payment, a credit note lowers the balance)
settles the earliest open instalments first; when nothing is owed the plan completes. See
docs/decisions/0009-payment-plans.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from medspa.billing import money, plan_math
from medspa.billing.card_models import CardOnFile
from medspa.billing.gateways import (
    CardRef,
    ChargeRequest,
    GatewayResult,
    PaymentGateway,
    gateway_named,
)
from medspa.billing.models import PAYABLE, Invoice, InvoiceStatus
from medspa.billing.plan_models import (
    AttemptOutcome,
    FollowUpResolution,
    FollowUpStatus,
    Instalment,
    InstalmentAttempt,
    InstalmentStatus,
    PaymentFollowUp,
    PaymentPlan,
    PlanCadence,
    PlanStatus,
)
from medspa.billing.services import INTERNAL_KEY_PREFIX, TenderIn, _locked, _text, record_payment
from medspa.billing.tenders import tender_named
from medspa.core.audit import audit_context, record_event
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid
from medspa.core.models import Organization, User
from medspa.core.selectors import get_owned

logger = logging.getLogger("medspa.billing.plans")

MIN_INSTALMENTS = 2
MAX_INSTALMENTS = 24
# The last instalment falls within three years of today.
MAX_HORIZON_DAYS = 3 * 366
# At most this many instalments a worker pass; the next pass takes the rest.
BATCH = 200


# --- checks -------------------------------------------------------------------------------


def plan_gateway() -> PaymentGateway:
    """The gateway that charges cards on file; refused while card payments are the terminal."""
    tender = tender_named("card")
    if tender is None or tender.gateway == "manual":
        raise Conflict(
            "Card payments through Stripe are not set up: a payment plan charges a card on "
            "file, so it needs them.",
            [FieldError("card", "Stripe is not set up.")],
            code="stripe_not_configured",
        )
    return gateway_named(tender.gateway)


def local_today(invoice: Invoice, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(invoice.location.zone).date()


def _day_start(day: date, invoice: Invoice) -> datetime:
    """The first moment of a local day at the invoice's location, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=invoice.location.zone)


def _check_card(invoice: Invoice, card: CardOnFile | None) -> CardOnFile:
    if card is None:
        raise Invalid.on(
            "card",
            "Choose the client's card on file; save one (with the client's consent) first.",
            code="card_required",
        )
    if card.organization_id != invoice.organization_id or card.client_id != invoice.client_id:
        raise Invalid.on("card", "That card is not on file for this invoice's client.")
    if not card.is_active:
        raise Invalid.on("card", f"The {card} was removed from file.")
    if not card.consent_text.strip():
        raise Invalid.on(
            "card",
            "The client's consent to charge this card is not recorded.",
            code="consent_required",
        )
    return card


def _check_count(count: Any) -> int:
    if type(count) is not int or not MIN_INSTALMENTS <= count <= MAX_INSTALMENTS:
        raise Invalid.on(
            "count", f"Give a number of instalments from {MIN_INSTALMENTS} to {MAX_INSTALMENTS}."
        )
    return count


def _check_dates(
    *,
    cadence: str,
    count: Any,
    first_date: date | None,
    dates: Sequence[date] | None,
    today: date,
) -> list[date]:
    if cadence not in PlanCadence.values:
        raise Invalid.on("cadence", f"Choose one of: {', '.join(PlanCadence.values)}.")
    if cadence == PlanCadence.DATES:
        chosen = list(dates or [])
        if count is not None and count != len(chosen):
            raise Invalid.on("dates", "Give one date for each instalment.")
        _check_count(len(chosen))
        if any(not isinstance(d, date) for d in chosen):
            raise Invalid.on("dates", "Give the dates as YYYY-MM-DD.")
        if any(later <= earlier for earlier, later in pairwise(chosen)):
            raise Invalid.on("dates", "Give the dates in order, each after the one before.")
    else:
        if dates:
            raise Invalid.on("dates", "Dates are chosen one by one only with the 'dates' cadence.")
        if first_date is None:
            raise Invalid.on("first_date", "Give the date of the first instalment.")
        if first_date > today + timedelta(days=MAX_HORIZON_DAYS):
            # Checked before the schedule is built: a date near year 9999 would overflow it.
            raise Invalid.on("first_date", "A plan ends within three years.")
        chosen = plan_math.schedule(first_date, _check_count(count), cadence)
    if chosen[0] < today:
        raise Invalid.on(
            "first_date" if cadence != PlanCadence.DATES else "dates",
            "The first instalment cannot be in the past; today is the earliest.",
        )
    if chosen[-1] > today + timedelta(days=MAX_HORIZON_DAYS):
        raise Invalid.on(
            "first_date" if cadence != PlanCadence.DATES else "dates",
            "A plan ends within three years.",
        )
    return chosen


def _plan_event(plan: PaymentPlan, actor: User | None, action: str, **data: Any) -> None:
    record_event(
        organization=plan.organization,
        actor=actor,
        action=f"billing.{action}",
        object_type="invoice",
        object_id=plan.invoice_id,
        data={"plan": plan.pk, **data},
    )


# --- making and cancelling a plan ---------------------------------------------------------


def create_plan(
    *,
    invoice: Invoice,
    card: CardOnFile | None,
    actor: User | None,
    cadence: str,
    count: int | None = None,
    first_date: date | None = None,
    dates: Sequence[date] | None = None,
    note: str = "",
    now: datetime | None = None,
) -> PaymentPlan:
    """Split an issued invoice's balance into instalments charged to the client's card.

    Refused, with nothing written: no consented active card of the invoice's client, a
    draft, void or paid invoice, a plan already active on it, 2..24 instalments not given,
    a date in the past or not in order. An instalment due today is charged by the worker's
    next pass (within a minute); the page says so.
    """
    now = now or timezone.now()
    why = _text(note, "note", required=False, limit=300)
    checked = _check_card(invoice, card)
    with transaction.atomic():
        current = _locked(invoice)
        if current.status not in PAYABLE or current.balance_cents <= 0:
            state = (
                "has not been issued"
                if current.is_draft
                else f"is {current.get_status_display().lower()}"
            )
            raise Conflict(
                f"Invoice {current.display_number} {state}: nothing is owed to spread over a plan.",
                [FieldError("invoice", "Only an issued invoice with a balance takes a plan.")],
                code="invoice_not_payable",
            )
        chosen = _check_dates(
            cadence=cadence,
            count=count,
            first_date=first_date,
            dates=dates,
            today=local_today(current, now),
        )
        plan_gateway()
        if PaymentPlan.objects.filter(
            organization_id=current.organization_id, invoice=current, status=PlanStatus.ACTIVE
        ).exists():
            raise Conflict(
                f"Invoice {current.display_number} already has an active payment plan; cancel "
                "it first.",
                [FieldError("invoice", "A plan is already active.")],
                code="plan_exists",
            )
        if PaymentFollowUp.objects.filter(
            organization_id=current.organization_id, invoice=current, status=FollowUpStatus.OPEN
        ).exists():
            raise Conflict(
                f"A failed plan on invoice {current.display_number} is being followed up: "
                "resolve the follow-up (a new card takes the plan up again).",
                [FieldError("invoice", "A payment follow-up is open.")],
                code="follow_up_open",
            )
        amounts = plan_math.split(current.balance_cents, len(chosen))
        try:
            with transaction.atomic():
                plan = PaymentPlan.objects.create(
                    organization_id=current.organization_id,
                    invoice=current,
                    client_id=current.client_id,
                    card=checked,
                    cadence=cadence,
                    total_cents=current.balance_cents,
                    instalment_count=len(chosen),
                    note=why,
                    created_at=now,
                    created_by=actor,
                )
        except IntegrityError:  # another desk made one at the same moment
            raise Conflict(
                f"Invoice {current.display_number} already has an active payment plan.",
                [FieldError("invoice", "A plan is already active.")],
                code="plan_exists",
            ) from None
        Instalment.objects.bulk_create(
            Instalment(
                organization_id=current.organization_id,
                plan=plan,
                number=i,
                due_date=day,
                planned_cents=amount,
                amount_cents=amount,
                next_attempt_at=_day_start(day, current),
            )
            for i, (day, amount) in enumerate(zip(chosen, amounts, strict=True), start=1)
        )
        plan.organization = current.organization
        _plan_event(
            plan,
            actor,
            "plan_created",
            card=checked.pk,
            cadence=cadence,
            total_cents=plan.total_cents,
            instalments=[
                {"due": day.isoformat(), "amount_cents": amount}
                for day, amount in zip(chosen, amounts, strict=True)
            ],
        )
    return plan


def _locked_plan(plan: PaymentPlan) -> PaymentPlan:
    return (
        PaymentPlan.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=plan.pk)
    )


def cancel_plan(
    *, plan: PaymentPlan, actor: User | None, reason: str, now: datetime | None = None
) -> PaymentPlan:
    """Stop an active plan: no instalment is charged after this (one being charged finishes)."""
    why = _text(reason, "reason", required=True, limit=300)
    now = now or timezone.now()
    with transaction.atomic():
        _locked(plan.invoice)  # the worker settles plans under the invoice's lock too
        current = _locked_plan(plan)
        if current.status != PlanStatus.ACTIVE:
            raise Conflict(
                f"This plan is {current.get_status_display().lower()}: only an active plan is "
                "cancelled.",
                [FieldError("plan", "Not active.")],
                code="plan_not_active",
            )
        stopped = Instalment.objects.filter(plan=current, status=InstalmentStatus.SCHEDULED).update(
            status=InstalmentStatus.CANCELLED
        )
        current.status = PlanStatus.CANCELLED
        current.ended_at = now
        current.ended_by = actor
        current.end_reason = why
        current.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
        _plan_event(current, actor, "plan_cancelled", reason=why, instalments_stopped=stopped)
    return current


# --- keeping a plan in line with its invoice ----------------------------------------------


def _settle(plan: PaymentPlan, invoice: Invoice, now: datetime) -> None:
    """Bring an active plan's open instalments in line with what the locked invoice owes.

    A voided invoice cancels the plan; money paid outside the plan covers the earliest
    scheduled instalments (plan_math.cover); nothing left to charge completes it.
    """
    if plan.status != PlanStatus.ACTIVE:
        return
    if invoice.status == InvoiceStatus.VOID:
        Instalment.objects.filter(plan=plan, status=InstalmentStatus.SCHEDULED).update(
            status=InstalmentStatus.CANCELLED
        )
        _end(plan, PlanStatus.CANCELLED, now, "The invoice was voided.")
        return
    owed = invoice.balance_cents if invoice.status in PAYABLE else 0
    in_flight = sum(
        Instalment.objects.filter(plan=plan, status=InstalmentStatus.CHARGING).values_list(
            "amount_cents", flat=True
        )
    )
    scheduled = list(
        Instalment.objects.filter(plan=plan, status=InstalmentStatus.SCHEDULED).order_by("number")
    )
    left = plan_math.cover([i.amount_cents for i in scheduled], max(owed - in_flight, 0))
    for instalment, amount in zip(scheduled, left, strict=True):
        if amount == instalment.amount_cents:
            continue
        status = InstalmentStatus.SCHEDULED if amount else InstalmentStatus.COVERED
        Instalment.objects.filter(pk=instalment.pk).update(amount_cents=amount, status=status)
    if not in_flight and owed == 0:
        _end(plan, PlanStatus.COMPLETED, now, "Nothing is owed on the invoice.")


def _end(plan: PaymentPlan, status: str, now: datetime, reason: str) -> None:
    plan.status = status
    plan.ended_at = now
    plan.end_reason = reason
    plan.save(update_fields=["status", "ended_at", "end_reason"])
    _plan_event(plan, None, f"plan_{status}", reason=reason)


def settle_plans(*, now: datetime | None = None) -> int:
    """Settle the active plans whose invoice owes less than their open instalments; how many."""
    now = now or timezone.now()
    open_sum = Sum(
        "instalments__amount_cents",
        filter=Q(instalments__status__in=[InstalmentStatus.SCHEDULED, InstalmentStatus.CHARGING]),
    )
    stale = (
        PaymentPlan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(open_cents=open_sum)
        .filter(
            Q(open_cents__gt=F("invoice__total_cents") - F("invoice__paid_cents"))
            | Q(open_cents__isnull=True)
            | ~Q(invoice__status__in=list(PAYABLE))
        )
        .values_list("pk", flat=True)[:BATCH]
    )
    done = 0
    for pk in list(stale):
        with transaction.atomic():
            plan = PaymentPlan.objects.select_related("invoice").get(pk=pk)
            invoice = _locked(plan.invoice)
            current = _locked_plan(plan)
            _settle(current, invoice, now)
        done += 1
    return done


# --- the worker: charging due instalments -------------------------------------------------


def attempt_key(instalment: Instalment, number: int) -> str:
    """The idempotency key of one charge attempt: the same on every retry of that attempt."""
    return f"{INTERNAL_KEY_PREFIX}plan-instalment:{instalment.pk}:attempt:{number}"


def retry_days() -> list[int]:
    return [int(d) for d in settings.MEDSPA_PLAN_RETRY_DAYS]


def max_attempts() -> int:
    """Declines before a plan fails: the first charge and one per retry delay."""
    return len(retry_days()) + 1


@dataclass
class Claim:
    instalment_id: int
    claimed_at: datetime
    number: int
    key: str
    amount_cents: int
    currency: str
    description: str
    organization_id: int
    payment_method: str
    customer: str
    card_on_file_id: int
    client_id: int


@dataclass
class RunSummary:
    """What one pass of the worker did (for the log and the tests)."""

    settled: int = 0
    paid: list[int] = field(default_factory=list)
    declined: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    failed_plans: list[int] = field(default_factory=list)


def due_instalments(now: datetime) -> QuerySet[Instalment]:
    """Instalments to charge now: due and scheduled on an active plan, or a charge whose
    worker vanished (its claim is older than the lease) to be taken up again."""
    lease = now - timedelta(minutes=settings.MEDSPA_PLAN_CLAIM_LEASE_MINUTES)
    return Instalment.objects.filter(
        Q(
            status=InstalmentStatus.SCHEDULED,
            next_attempt_at__lte=now,
            plan__status=PlanStatus.ACTIVE,
        )
        | Q(status=InstalmentStatus.CHARGING, claimed_at__lte=lease)
    ).order_by("next_attempt_at", "id")


def _claim(instalment_id: int, now: datetime) -> Claim | None:
    """Take one instalment for this worker, or None when it is not (or no longer) to charge."""
    lease = now - timedelta(minutes=settings.MEDSPA_PLAN_CLAIM_LEASE_MINUTES)
    with transaction.atomic():
        found = Instalment.objects.filter(pk=instalment_id).select_related("plan").first()
        if found is None:
            return None
        invoice = _locked(found.plan.invoice)
        plan = _locked_plan(found.plan)
        instalment = Instalment.objects.get(pk=instalment_id)
        if instalment.status == InstalmentStatus.SCHEDULED:
            if plan.status != PlanStatus.ACTIVE or instalment.next_attempt_at > now:
                return None
            _settle(plan, invoice, now)
            instalment.refresh_from_db()
            if instalment.status != InstalmentStatus.SCHEDULED or not instalment.amount_cents:
                return None
            if not plan.card.is_active:
                # The client took the card off file: their consent to charge it ended.
                Instalment.objects.filter(pk=instalment.pk).update(
                    status=InstalmentStatus.FAILED,
                    last_error=f"The {plan.card} was removed from file.",
                )
                _fail(
                    plan,
                    invoice,
                    f"The {plan.card} was removed from file before instalment "
                    f"{instalment.number}: ask the client for another card.",
                    now,
                )
                return None
        elif not (
            instalment.status == InstalmentStatus.CHARGING
            and instalment.claimed_at is not None
            and instalment.claimed_at <= lease
        ):
            return None
        # An open attempt (outcome unknown) is tried again under its own number and key.
        number = instalment.attempts if instalment.attempt_open else instalment.attempts + 1
        won = Instalment.objects.filter(
            pk=instalment.pk,
            status=instalment.status,
            attempts=instalment.attempts,
            claimed_at=instalment.claimed_at,
        ).update(
            status=InstalmentStatus.CHARGING, claimed_at=now, attempts=number, attempt_open=True
        )
        if won != 1:  # another worker took it first
            return None
        card = plan.card
        return Claim(
            instalment_id=instalment.pk,
            claimed_at=now,
            number=number,
            key=attempt_key(instalment, number),
            amount_cents=instalment.amount_cents,
            currency=invoice.currency,
            description=(
                f"Invoice {invoice.display_number}, instalment {instalment.number} of "
                f"{plan.instalment_count}"
            ),
            organization_id=invoice.organization_id,
            payment_method=card.stripe_payment_method_id,
            customer=card.stripe_customer_id,
            card_on_file_id=card.pk,
            client_id=invoice.client_id,
        )


def _charge(claim: Claim, gateway: PaymentGateway) -> GatewayResult | DomainError:
    """Charge the card on file, off-session, with no database transaction open."""
    request = ChargeRequest(
        amount_cents=claim.amount_cents,
        currency=claim.currency,
        tender="card_on_file",
        idempotency_key=claim.key,
        organization_id=claim.organization_id,
        description=claim.description,
        card=CardRef(card_on_file_id=claim.card_on_file_id),
        client_id=claim.client_id,
    )
    try:
        return gateway.authorize(request)
    except DomainError as error:
        return error


def _owned(claim: Claim) -> tuple[Instalment, PaymentPlan, Invoice] | None:
    """The claimed instalment, its plan and invoice, locked; None if another worker took it."""
    found = Instalment.objects.select_related("plan").get(pk=claim.instalment_id)
    invoice = _locked(found.plan.invoice)
    plan = _locked_plan(found.plan)
    instalment = Instalment.objects.select_for_update(of=("self",)).get(pk=claim.instalment_id)
    if (
        instalment.status != InstalmentStatus.CHARGING
        or instalment.claimed_at != claim.claimed_at
        or instalment.attempts != claim.number
    ):
        return None
    return instalment, plan, invoice


def _attempt(claim: Claim, now: datetime, outcome: str, reason: str = "", ref: str = "") -> None:
    InstalmentAttempt.objects.create(
        organization_id=claim.organization_id,
        instalment_id=claim.instalment_id,
        number=claim.number,
        at=now,
        amount_cents=claim.amount_cents,
        outcome=outcome,
        reason=reason[:300],
        reference=ref[:200],
        idempotency_key=claim.key,
    )


def _record_paid(claim: Claim, result: GatewayResult, now: datetime) -> int:
    """Book a charge the card took; returns what was charged above the balance (to refund)."""
    with transaction.atomic():
        owned = _owned(claim)
        if owned is None:
            return 0
        instalment, plan, invoice = owned
        owed = invoice.balance_cents if invoice.status in PAYABLE else 0
        # The desk may have taken money while the card was being charged: book what is owed.
        booked = min(claim.amount_cents, owed)
        if booked:
            taken = record_payment(
                invoice=invoice,
                tenders=[
                    TenderIn(
                        kind="card_on_file",
                        amount_cents=booked,
                        card=CardRef(card_on_file_id=claim.card_on_file_id),
                    )
                ],
                idempotency_key=claim.key,
                actor=None,
                now=now,
                charged={
                    0: GatewayResult(
                        status="captured", reference=result.reference, amount_cents=booked
                    )
                },
            )
            instalment.payment = taken.payments[0]
            invoice = taken.invoice
        instalment.status = InstalmentStatus.PAID if booked else InstalmentStatus.COVERED
        instalment.paid_at = now
        instalment.attempt_open = False
        instalment.last_error = ""
        instalment.save(
            update_fields=["status", "paid_at", "attempt_open", "last_error", "payment"]
        )
        _attempt(claim, now, AttemptOutcome.PAID, ref=result.reference)
        _settle(plan, invoice, now)
    return claim.amount_cents - booked


def _record_declined(claim: Claim, reason: str, now: datetime, summary: RunSummary) -> None:
    with transaction.atomic():
        owned = _owned(claim)
        if owned is None:
            return
        instalment, plan, invoice = owned
        instalment.declines += 1
        instalment.attempt_open = False
        instalment.last_error = reason[:300]
        instalment.claimed_at = None
        delays = retry_days()
        last = instalment.declines >= max_attempts()
        if last:
            instalment.status = InstalmentStatus.FAILED
        elif plan.status != PlanStatus.ACTIVE:  # cancelled while this charge was out
            instalment.status = InstalmentStatus.CANCELLED
        else:
            instalment.status = InstalmentStatus.SCHEDULED
            instalment.next_attempt_at = now + timedelta(days=delays[instalment.declines - 1])
        instalment.save(
            update_fields=[
                "declines",
                "attempt_open",
                "last_error",
                "claimed_at",
                "status",
                "next_attempt_at",
            ]
        )
        _attempt(claim, now, AttemptOutcome.DECLINED, reason=reason)
        _plan_event(
            plan,
            None,
            "instalment_declined",
            instalment=instalment.number,
            attempt=claim.number,
            amount_cents=claim.amount_cents,
            reason=reason[:300],
            next_attempt_at=None if last else instalment.next_attempt_at.isoformat(),
        )
        if last and plan.status == PlanStatus.ACTIVE:
            why = f"Instalment {instalment.number} declined {instalment.declines} times: {reason}"
            _fail(plan, invoice, why, now)
            summary.failed_plans.append(plan.pk)


def _fail(plan: PaymentPlan, invoice: Invoice, reason: str, now: datetime) -> PaymentFollowUp:
    """The plan stops charging; a follow-up opens for a person (billing, managers)."""
    plan.status = PlanStatus.FAILED
    plan.ended_at = now
    plan.end_reason = reason[:300]
    plan.save(update_fields=["status", "ended_at", "end_reason"])
    follow_up = PaymentFollowUp.objects.create(
        organization_id=plan.organization_id,
        plan=plan,
        invoice=invoice,
        client_id=plan.client_id,
        amount_cents=invoice.balance_cents,
        reason=plan.end_reason,
        created_at=now,
    )
    _plan_event(
        plan,
        None,
        "plan_failed",
        follow_up=follow_up.pk,
        reason=plan.end_reason,
        balance_cents=invoice.balance_cents,
    )
    return follow_up


def _record_unreachable(claim: Claim, error: DomainError, now: datetime) -> None:
    """The outcome is unknown: the same attempt (same amount, card and key) runs again later.

    Stripe may have taken the money, so the instalment stays in flight (`charging`), never
    back among the scheduled ones: a desk payment, a cancelled plan or a voided invoice
    meanwhile neither covers nor cancels it. Its claim is dated so that the lease lets the
    next worker take it up after the retry delay; `_record_paid` then books the charge, or
    refunds what is no longer owed.
    """
    retry = timedelta(minutes=settings.MEDSPA_PLAN_UNREACHABLE_RETRY_MINUTES)
    lease = timedelta(minutes=settings.MEDSPA_PLAN_CLAIM_LEASE_MINUTES)
    with transaction.atomic():
        owned = _owned(claim)
        if owned is None:
            return
        instalment, _, _ = owned
        instalment.claimed_at = now - lease + retry
        instalment.next_attempt_at = now + retry
        instalment.last_error = error.detail[:300]
        instalment.save(update_fields=["claimed_at", "next_attempt_at", "last_error"])
        _attempt(claim, now, AttemptOutcome.ERROR, reason=error.detail)


def _refund_excess(claim: Claim, result: GatewayResult, excess: int, gateway: Any) -> None:
    """Give back what the card was charged above the balance (the desk was paid meanwhile)."""
    try:
        gateway.refund(
            reference=result.reference, amount_cents=excess, idempotency_key=f"{claim.key}:excess"
        )
    except DomainError:
        logger.exception(
            "instalment %s: %s charged above the balance could not be refunded; refund it at "
            "Stripe (%s)",
            claim.instalment_id,
            money.format_cents(excess, claim.currency),
            result.reference,
        )


# Stripe's answers about the idempotency key itself, not about the card.
KEY_CONFLICTS = frozenset(
    {"idempotency_key_reused", "idempotency_in_progress", "idempotency_error"}
)


def charge_instalment(
    instalment_id: int,
    *,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
    summary: RunSummary | None = None,
) -> RunSummary:
    """Claim, charge and record one instalment (nothing happens when it is not due)."""
    now = now or timezone.now()
    summary = summary if summary is not None else RunSummary()
    claim = _claim(instalment_id, now)
    if claim is None:
        return summary
    outcome = _charge(claim, gateway or plan_gateway())
    if isinstance(outcome, DomainError):
        # Stripe refused the request itself (it will not change); a key conflict is not a
        # decline: the first request under the key may have charged, so it is retried.
        if outcome.status == 422 and outcome.code not in KEY_CONFLICTS:
            _record_declined(claim, outcome.detail, now, summary)
            summary.declined.append(instalment_id)
        else:
            _record_unreachable(claim, outcome, now)
            summary.unreachable.append(instalment_id)
    elif outcome.status == "captured":
        excess = _record_paid(claim, outcome, now)
        if excess:
            _refund_excess(claim, outcome, excess, gateway or plan_gateway())
        summary.paid.append(instalment_id)
    else:
        reason = outcome.failure_reason or f"the card answered {outcome.status}"
        _record_declined(claim, reason, now, summary)
        summary.declined.append(instalment_id)
    return summary


def charge_due_instalments(
    *, now: datetime | None = None, gateway: PaymentGateway | None = None
) -> RunSummary:
    """The worker's periodic job: settle plans paid at the desk, then charge what is due.

    Each instalment is claimed, charged and recorded on its own; one that fails (a bug, the
    database briefly away) is logged and left for the next pass, never stopping the others.
    """
    fixed = now  # tests pin the clock; the worker reads it afresh for each claim
    now = now or timezone.now()
    summary = RunSummary()
    with audit_context(via="worker"):
        summary.settled = settle_plans(now=now)
        due = list(due_instalments(now).values_list("pk", flat=True)[:BATCH])
        if not due:
            return summary
        try:
            chosen = gateway or plan_gateway()
        except DomainError:
            logger.warning("%d instalments are due but Stripe is not set up", len(due))
            return summary
        for pk in due:
            try:
                # A pass may take minutes (slow card networks): each claim is stamped with
                # the time it is made, so its lease never looks expired the moment it starts.
                charge_instalment(pk, now=fixed, gateway=chosen, summary=summary)
            except Exception:
                logger.exception("instalment %s could not be charged", pk)
    return summary


def run_periodic() -> RunSummary:
    """The registered periodic job (core.housekeeping): `medspa worker` runs it every pass."""
    return charge_due_instalments()


# --- follow-ups ---------------------------------------------------------------------------


def resolve_follow_up(
    *,
    follow_up: PaymentFollowUp,
    actor: User | None,
    resolution: str,
    note: str = "",
    card: CardOnFile | None = None,
    now: datetime | None = None,
) -> PaymentFollowUp:
    """Close a failed plan's follow-up, as the person who worked it decided:

    - `paid`: the client paid another way (the desk took it on the invoice: nothing is owed);
    - `new_card`: the plan goes on with another consented card; the failed instalment is
      charged on the worker's next pass, later ones on their dates;
    - `written_off`: what is owed is written off with the reason, as a credit note.
    """
    from medspa.billing.refunds import issue_credit_note

    now = now or timezone.now()
    if resolution not in FollowUpResolution.values:
        raise Invalid.on("resolution", f"Choose one of: {', '.join(FollowUpResolution.values)}.")
    why = _text(note, "note", required=resolution == FollowUpResolution.WRITTEN_OFF, limit=300)
    with transaction.atomic():
        invoice = _locked(follow_up.invoice)
        current = (
            PaymentFollowUp.objects.select_for_update(of=("self",))
            .select_related("plan", "organization")
            .get(pk=follow_up.pk)
        )
        if current.status != FollowUpStatus.OPEN:
            raise Conflict(
                "This follow-up was already resolved.",
                [FieldError("follow_up", "Already resolved.")],
                code="follow_up_resolved",
            )
        plan = _locked_plan(current.plan)
        data: dict[str, Any] = {"balance_cents": invoice.balance_cents}
        if resolution == FollowUpResolution.PAID:
            if invoice.status in PAYABLE and invoice.balance_cents:
                raise Conflict(
                    f"{money.format_cents(invoice.balance_cents, invoice.currency)} is still "
                    f"owed on invoice {invoice.display_number}: take the payment on the "
                    "invoice first.",
                    [FieldError("resolution", "Take the payment first.")],
                    code="balance_owed",
                )
            _stop(plan)
        elif resolution == FollowUpResolution.NEW_CARD:
            checked = _check_card(invoice, card)
            if invoice.status not in PAYABLE or not invoice.balance_cents:
                raise Conflict(
                    "Nothing is owed on the invoice any more: resolve it as paid.",
                    [FieldError("resolution", "Nothing is owed.")],
                    code="nothing_owed",
                )
            if plan.status != PlanStatus.FAILED:
                raise Conflict("The plan is not failed any more.", code="plan_not_failed")
            if PaymentPlan.objects.filter(
                organization_id=plan.organization_id,
                invoice_id=plan.invoice_id,
                status=PlanStatus.ACTIVE,
            ).exists():
                raise Conflict("Another plan is active on this invoice.", code="plan_exists")
            plan.card = checked
            plan.status = PlanStatus.ACTIVE
            plan.ended_at = None
            plan.end_reason = ""
            plan.save(update_fields=["card", "status", "ended_at", "end_reason"])
            # The failed instalment is charged on the next pass; the new card starts afresh.
            Instalment.objects.filter(plan=plan, status=InstalmentStatus.FAILED).update(
                status=InstalmentStatus.SCHEDULED, declines=0, next_attempt_at=now, last_error=""
            )
            _settle(plan, invoice, now)
            data["card"] = checked.pk
        else:
            owed = invoice.balance_cents if invoice.status in PAYABLE else 0
            if owed:
                note_row = issue_credit_note(
                    invoice=invoice,
                    amount_cents=owed,
                    reason=f"Written off: {why}"[:300],
                    actor=actor,
                    now=now,
                )
                data["credit_note"] = note_row.pk
            data["written_off_cents"] = owed
            _stop(plan)
        current.status = FollowUpStatus.RESOLVED
        current.resolution = resolution
        current.resolution_note = why
        current.resolved_at = now
        current.resolved_by = actor
        current.save(
            update_fields=["status", "resolution", "resolution_note", "resolved_at", "resolved_by"]
        )
        record_event(
            organization=current.organization,
            actor=actor,
            action="billing.follow_up_resolved",
            object_type="invoice",
            object_id=current.invoice_id,
            data={
                "follow_up": current.pk,
                "plan": plan.pk,
                "resolution": resolution,
                "note": why,
                **data,
            },
        )
    return current


def _stop(plan: PaymentPlan) -> None:
    """A failed plan's remaining instalments will never be charged."""
    Instalment.objects.filter(plan=plan, status=InstalmentStatus.SCHEDULED).update(
        status=InstalmentStatus.CANCELLED
    )


# --- reads --------------------------------------------------------------------------------


def _with_instalments(qs: QuerySet[PaymentPlan]) -> QuerySet[PaymentPlan]:
    return qs.select_related("card", "invoice").prefetch_related(
        Prefetch(
            "instalments",
            queryset=Instalment.objects.order_by("number").prefetch_related(
                Prefetch("tries", queryset=InstalmentAttempt.objects.order_by("at", "id"))
            ),
        )
    )


def plan_for_invoice(invoice: Invoice) -> PaymentPlan | None:
    """The invoice's active plan, else its most recent one, with instalments and attempts."""
    return (
        _with_instalments(
            PaymentPlan.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
        )
        .order_by(
            # Active first, then the newest.
            F("ended_at").desc(nulls_first=True),
            "-created_at",
            "-id",
        )
        .first()
    )


def plan_of(organization: Organization, pk: Any) -> PaymentPlan:
    """One plan of the organization, or 404."""
    return get_owned(
        _with_instalments(PaymentPlan.objects.all()),
        organization=organization,
        pk=pk,
        field="plan",
        label="payment plan",
    )


def follow_ups_for(
    organization: Organization, *, status: str | None = "open"
) -> QuerySet[PaymentFollowUp]:
    """The organization's payment follow-ups, oldest first (the longest waiting on top)."""
    if status and status not in FollowUpStatus.values:
        raise Invalid.on("status", f"Choose one of: {', '.join(FollowUpStatus.values)}.")
    qs = PaymentFollowUp.objects.filter(organization=organization).select_related(
        "client", "invoice", "plan__card", "resolved_by"
    )
    if status:
        qs = qs.filter(status=status)
    order = ("created_at", "id") if status == FollowUpStatus.OPEN else ("-created_at", "-id")
    return qs.order_by(*order)


def follow_up_of(organization: Organization, pk: Any) -> PaymentFollowUp:
    return get_owned(
        PaymentFollowUp.objects.select_related("client", "invoice", "plan__card"),
        organization=organization,
        pk=pk,
        field="follow_up",
        label="payment follow-up",
    )


def consented_cards(invoice: Invoice) -> QuerySet[CardOnFile]:
    """The cards on file of the invoice's client that a plan may charge."""
    return CardOnFile.objects.filter(
        organization_id=invoice.organization_id, client_id=invoice.client_id, is_active=True
    ).exclude(consent_text="")
