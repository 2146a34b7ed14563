"""Deposits and fees at the desk: the appointment panel's Deposit section (what is due, held,
applied, given back or kept; Take deposit; Give back) and the Fees page, where a proposed
late-cancellation or no-show fee is confirmed or waived. Every write goes through
billing.deposits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medspa.billing import deposits, stripe_gateway
from medspa.billing import fees as fee_decisions
from medspa.billing.card_models import CardOnFile
from medspa.billing.deposit_models import Deposit, DepositStatus, FeeStatus, ProposedFee
from medspa.billing.tenders import tender_named
from medspa.catalog.models import Service
from medspa.catalog.policies import policies_for, policy_for, set_booking_policy
from medspa.catalog.policy_models import BookingPolicy, DepositKind, DepositOutcome, RefundTo
from medspa.core.errors import DomainError
from medspa.core.permissions import can
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.checkout_pages import _amount, _percent_bp, _percent_text, _refusal
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text
from medspa.scheduling.models import Appointment

REFERENCE_LABELS = {"card_external": "Terminal slip", "cheque": "Cheque number"}


def _visit(who: Staff, pk: int) -> Appointment:
    try:
        return get_owned(
            Appointment.objects.select_related("location", "client"),
            organization=who.organization,
            pk=pk,
            field="appointment",
        )
    except DomainError:
        raise Http404("No such appointment.") from None


@dataclass(frozen=True)
class Figure:
    label: str
    amount: str


def _figures(deposit: Deposit) -> list[Figure]:
    """The deposit's story in amounts, only the ones that happened."""
    c = deposit.currency
    rows = [Figure("Due at booking", decimal_text(deposit.amount_cents, c))]
    if deposit.paid_cents:
        rows.append(Figure("Paid", decimal_text(deposit.paid_cents, c)))
    if deposit.applied_cents:
        rows.append(Figure("Applied at checkout", decimal_text(deposit.applied_cents, c)))
    if deposit.refunded_cents:
        rows.append(Figure("Given back", decimal_text(deposit.refunded_cents, c)))
    if deposit.forfeited_cents:
        rows.append(Figure("Kept (cancellation policy)", decimal_text(deposit.forfeited_cents, c)))
    if deposit.paid_cents:
        rows.append(Figure("Held now", decimal_text(deposit.held_cents, c)))
    return rows


def _paid_with(deposit: Deposit) -> str:
    tender = tender_named(deposit.tender)
    label = (tender.label if tender else deposit.tender).lower()
    return f"the {deposit.card} on file" if deposit.card_id and deposit.card else label


def _tenders(deposit: Deposit) -> list[dict[str, str]]:
    kinds = ["card_external", "cash", "cheque"]
    if stripe_gateway.configured():
        kinds.insert(0, "card")
    return [
        {
            "kind": kind,
            "label": tender.label if (tender := tender_named(kind)) else kind,
            "reference_label": REFERENCE_LABELS.get(kind, ""),
        }
        for kind in kinds
    ]


def _section(
    request: HttpRequest,
    who: Staff,
    appointment: Appointment,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    deposit = deposits.deposit_for(appointment)
    fee = ProposedFee.objects.filter(
        organization_id=who.organization.pk, appointment=appointment
    ).first()
    values = values or {}
    cards: list[CardOnFile] = (
        list(stripe_gateway.cards_on_file(appointment.client))
        if deposit is not None and stripe_gateway.configured()
        else []
    )
    context: dict[str, Any] = {
        "appointment": appointment,
        "deposit": deposit,
        "figures": _figures(deposit) if deposit is not None else [],
        "amount": decimal_text(deposit.amount_cents, deposit.currency) if deposit else "",
        "held": decimal_text(deposit.held_cents, deposit.currency) if deposit else "",
        "may_take": deposit is not None
        and deposit.status == DepositStatus.DUE
        and appointment.status in deposits.OPEN_VISITS
        and can(who.user, "deposits.take"),
        "may_give_back": deposit is not None
        and deposit.status == DepositStatus.REFUND_DUE
        and can(who.user, "deposits.take"),
        "tenders": _tenders(deposit) if deposit is not None else [],
        "paid_with": _paid_with(deposit) if deposit is not None else "",
        "cards": cards,
        "fee": fee,
        "fee_amount": decimal_text(fee.amount_cents, fee.currency) if fee else "",
        "may_decide": fee is not None
        and fee.status == FeeStatus.PROPOSED
        and can(who.user, "fees.decide"),
        "errors": errors or {},
        "values": values,
        "idempotency_key": values.get("idempotency_key") or uuid.uuid4().hex,
        "notice": notice,
    }
    return render(request, "frontdesk/deposits/_section.html", context, status=status)


@login_required
@require_GET
def visit_deposit(request: HttpRequest, pk: int) -> HttpResponse:
    """The appointment panel's Deposit section."""
    who = page_staff(request, "schedule.view")
    if not can(who.user, "billing.view"):
        return HttpResponse("")
    return _section(request, who, _visit(who, pk))


@login_required
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the deposit: one tender, exactly what is due; the form's key makes a double tap
    pay once."""
    who = page_staff(request, "deposits.take")
    appointment = _visit(who, pk)
    deposit = deposits.deposit_for(appointment)
    if deposit is None:
        raise Http404("No deposit for this visit.")
    given = {
        name: request.POST.get(name, "").strip()[:200]
        for name in ("tender", "amount", "reference", "card", "idempotency_key")
    }
    cents = _amount(given["amount"], deposit.currency)
    if cents is None:
        return _section(
            request,
            who,
            appointment,
            errors={"amount": "Give the amount, e.g. 100.00."},
            values=given,
            status=422,
        )
    card = None
    if given["tender"] == "card" and given["card"].isdigit():
        card = CardOnFile.objects.filter(
            organization=who.organization, client=appointment.client, pk=int(given["card"])
        ).first()
    try:
        taken = deposits.take_deposit(
            deposit=deposit,
            tender=given["tender"],
            amount_cents=cents,
            reference=given["reference"],
            card=card,
            idempotency_key=given["idempotency_key"],
            actor=who.user,
        )
    except DomainError as refusal:
        errors = _refusal(
            refusal,
            {
                "amount_cents": "amount",
                "tender": "tender",
                "card": "card",
                "reference": "reference",
            },
        )
        if refusal.code in ("payment_declined", "card_declined"):
            # Nothing was taken: the next try (another card, the same one) is a new request.
            given = {**given, "idempotency_key": ""}
        return _section(request, who, appointment, errors=errors, values=given, status=422)
    notice = "Deposit taken ✓" if not taken.replayed else "Already taken ✓"
    return _section(request, who, appointment, notice=notice)


@login_required
@require_POST
def give_back(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk hands back a deposit the policy gave back (cash, cheque, terminal slip), or
    retries a card refund that Stripe did not answer."""
    who = page_staff(request, "deposits.take")
    appointment = _visit(who, pk)
    deposit = deposits.deposit_for(appointment)
    if deposit is None:
        raise Http404("No deposit for this visit.")
    reference = request.POST.get("reference", "").strip()[:200]
    try:
        deposits.refund_deposit(deposit=deposit, actor=who.user, reference=reference)
    except DomainError as refusal:
        return _section(
            request,
            who,
            appointment,
            errors={"give_back": refusal.detail},
            values={"reference": reference},
            status=refusal.status,
        )
    return _section(request, who, appointment, notice="Deposit given back ✓")


# --- the fees page ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeRow:
    fee: ProposedFee
    amount: str
    policy_fee: str
    forfeited: str
    cards: list[CardOnFile]


def _fee_rows(who: Staff, fees: list[ProposedFee]) -> list[FeeRow]:
    stripe = stripe_gateway.configured()
    by_client: dict[int, list[CardOnFile]] = {}
    if stripe and fees:
        for card in CardOnFile.objects.filter(
            organization=who.organization,
            client_id__in={f.client_id for f in fees},
            is_active=True,
        ):
            by_client.setdefault(card.client_id, []).append(card)
    return [
        FeeRow(
            fee=f,
            amount=decimal_text(f.amount_cents, f.currency),
            policy_fee=decimal_text(f.policy_fee_cents, f.currency),
            forfeited=decimal_text(f.forfeited_cents, f.currency),
            cards=by_client.get(f.client_id, []),
        )
        for f in fees
    ]


def _fees_page(
    request: HttpRequest,
    who: Staff,
    *,
    errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    waiting = list(fee_decisions.fees_for(who.organization, status=FeeStatus.PROPOSED)[:100])
    decided = list(
        fee_decisions.fees_for(who.organization)
        .exclude(status=FeeStatus.PROPOSED)
        .order_by("-decided_at", "-id")[:20]
    )
    context = {
        "nav": "fees",
        "waiting": _fee_rows(who, waiting),
        "decided": _fee_rows(who, decided),
        "stripe": stripe_gateway.configured(),
        "may_decide": can(who.user, "fees.decide"),
        "errors": errors or {},
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "frontdesk/deposits/fees.html", context, status=status)


@login_required
@require_GET
def fees(request: HttpRequest) -> HttpResponse:
    """Late-cancellation and no-show fees waiting for a person, and the latest decisions."""
    who = page_staff(request, "fees.view")
    return _fees_page(request, who)


def _fee(who: Staff, pk: int) -> ProposedFee:
    try:
        return fee_decisions.fee_of(who.organization, pk)
    except DomainError:
        raise Http404("No such fee.") from None


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "fees.decide")
    fee = _fee(who, pk)
    method = request.POST.get("method", "")
    card_id = request.POST.get("card", "")
    card = (
        CardOnFile.objects.filter(organization=who.organization, pk=int(card_id)).first()
        if card_id.isdigit()
        else None
    )
    try:
        done = fee_decisions.confirm_fee(
            fee=fee,
            actor=who.user,
            method=method,
            card=card,
            idempotency_key=request.POST.get("idempotency_key", "")[:200],
        )
    except DomainError as refusal:
        return _fees_page(request, who, errors={fee.pk: refusal.detail}, status=refusal.status)
    verb = "charged to the card on file" if done.status == FeeStatus.CHARGED else "invoiced"
    messages.success(request, f"{done.get_kind_display()} fee for {done.client} {verb}.")
    return redirect("frontdesk:fees")


@login_required
@require_POST
def waive(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "fees.decide")
    fee = _fee(who, pk)
    try:
        fee_decisions.waive_fee(
            fee=fee, actor=who.user, reason=request.POST.get("reason", "")[:300]
        )
    except DomainError as refusal:
        return _fees_page(request, who, errors={fee.pk: refusal.detail}, status=refusal.status)
    messages.success(request, f"Fee for {fee.client} waived.")
    return redirect("frontdesk:fees")


# --- booking policies (managers) ----------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    service: Service
    policy: BookingPolicy
    price: str
    deposit: str
    late_fee: str
    no_show_fee: str


def _deposit_text(policy: BookingPolicy, currency: str) -> str:
    if policy.deposit_kind == DepositKind.AMOUNT:
        return decimal_text(policy.deposit_amount_cents, currency)
    if policy.deposit_kind == DepositKind.PERCENT:
        return f"{_percent_text(policy.deposit_percent_bp)} of the price"
    return "None"


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    """Every service's deposit, cancellation window and fees, at a glance."""
    who = page_staff(request, "policies.manage")
    currency = who.organization.currency
    services = list(Service.objects.filter(organization=who.organization, is_active=True))
    policies = policies_for(services)
    rows = [
        PolicyRow(
            service=s,
            policy=policies[s.pk],
            price=decimal_text(s.price_cents, currency),
            deposit=_deposit_text(policies[s.pk], currency),
            late_fee=decimal_text(policies[s.pk].late_cancel_fee_cents, currency),
            no_show_fee=decimal_text(policies[s.pk].no_show_fee_cents, currency),
        )
        for s in services
    ]
    context = {"nav": "policies", "rows": rows, "currency": currency}
    return render(request, "frontdesk/deposits/policies.html", context)


def _policy_form(
    request: HttpRequest,
    who: Staff,
    service: Service,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = policy_for(service)
    currency = who.organization.currency
    shown = values or {
        "deposit_kind": policy.deposit_kind,
        "deposit_amount": decimal_text(policy.deposit_amount_cents, currency)
        if policy.deposit_amount_cents
        else "",
        "deposit_percent": _percent_text(policy.deposit_percent_bp).rstrip("%")
        if policy.deposit_percent_bp
        else "",
        "cancel_window_hours": str(policy.cancel_window_hours),
        "late_cancel_deposit": policy.late_cancel_deposit,
        "no_show_deposit": policy.no_show_deposit,
        "refund_to": policy.refund_to,
        "late_cancel_fee": decimal_text(policy.late_cancel_fee_cents, currency),
        "no_show_fee": decimal_text(policy.no_show_fee_cents, currency),
    }
    context = {
        "nav": "policies",
        "service": service,
        "price": decimal_text(service.price_cents, currency),
        "currency": currency,
        "values": shown,
        "errors": errors or {},
        "kinds": DepositKind.choices,
        "outcomes": DepositOutcome.choices,
        "refund_choices": RefundTo.choices,
    }
    return render(request, "frontdesk/deposits/policy_form.html", context, status=status)


def _service_of(who: Staff, pk: int) -> Service:
    try:
        return get_owned(Service, organization=who.organization, pk=pk, field="service")
    except DomainError:
        raise Http404("No such service.") from None


POLICY_FIELDS = (
    "deposit_kind",
    "deposit_amount",
    "deposit_percent",
    "cancel_window_hours",
    "late_cancel_deposit",
    "no_show_deposit",
    "refund_to",
    "late_cancel_fee",
    "no_show_fee",
)


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A service's booking policy: the deposit, the window, the fees."""
    who = page_staff(request, "policies.manage")
    service = _service_of(who, pk)
    if request.method == "GET":
        return _policy_form(request, who, service)
    given = {name: request.POST.get(name, "").strip()[:30] for name in POLICY_FIELDS}
    currency = who.organization.currency
    errors: dict[str, str] = {}

    def cents(name: str, *, blank_is_zero: bool = True) -> int:
        if not given[name] and blank_is_zero:
            return 0
        found = _amount(given[name], currency)
        if found is None:
            errors[name] = "Give an amount, e.g. 50.00."
            return 0
        return found

    percent = _percent_bp(given["deposit_percent"]) if given["deposit_percent"] else 0
    if percent is None:
        errors["deposit_percent"] = "Give a percent, e.g. 20."
    hours = given["cancel_window_hours"]
    changes: dict[str, Any] = {
        "deposit_kind": given["deposit_kind"],
        "deposit_amount_cents": cents("deposit_amount"),
        "deposit_percent_bp": percent or 0,
        "cancel_window_hours": int(hours) if hours.isdigit() else -1,
        "late_cancel_deposit": given["late_cancel_deposit"],
        "no_show_deposit": given["no_show_deposit"],
        "refund_to": given["refund_to"],
        "late_cancel_fee_cents": cents("late_cancel_fee"),
        "no_show_fee_cents": cents("no_show_fee"),
    }
    if not errors:
        try:
            set_booking_policy(service=service, actor=who.user, **changes)
        except DomainError as refusal:
            fields = {
                "deposit_amount_cents": "deposit_amount",
                "deposit_percent_bp": "deposit_percent",
                "late_cancel_fee_cents": "late_cancel_fee",
                "no_show_fee_cents": "no_show_fee",
                **{f: f for f in POLICY_FIELDS},
            }
            errors = _refusal(refusal, fields)
    if errors:
        return _policy_form(request, who, service, values=given, errors=errors, status=422)
    messages.success(request, f"Booking policy of {service.name} saved.")
    return redirect("frontdesk:policies")


urlpatterns: list[URLPattern] = [
    path("policies/", policy_list, name="policies"),
    path("policies/<int:pk>/", policy_edit, name="policy_edit"),
    path("appointments/<int:pk>/deposit", visit_deposit, name="visit_deposit"),
    path("appointments/<int:pk>/deposit/take", take, name="deposit_take"),
    path("appointments/<int:pk>/deposit/give-back", give_back, name="deposit_give_back"),
    path("fees/", fees, name="fees"),
    path("fees/<int:pk>/confirm", confirm, name="fee_confirm"),
    path("fees/<int:pk>/waive", waive, name="fee_waive"),
]


# The appointment panel's history, in the desk's words (frontdesk/appointments.py asks).
HISTORY_WORDS = {
    "billing.deposit_requested": "Deposit asked",
    "billing.deposit_taken": "Deposit taken",
    "billing.deposit_applied": "Deposit applied at checkout",
    "billing.deposit_refund_due": "Deposit to give back",
    "billing.deposit_refunded": "Deposit given back",
    "billing.deposit_forfeited": "Deposit kept under the cancellation policy",
    "billing.deposit_cancelled": "Deposit no longer due",
    "billing.fee_proposed": "Fee proposed for staff to decide",
    "billing.fee_confirmed": "Fee confirmed",
    "billing.fee_waived": "Fee waived",
}


def describe_event(action: str, data: dict[str, Any], currency: str) -> str | None:
    """A deposit or fee event of the appointment as one line, or None if it is not one."""
    words = HISTORY_WORDS.get(action)
    if words is None:
        return None
    cents = data.get("amount_cents")
    amount = f": {decimal_text(cents, currency)}" if type(cents) is int else ""
    reason = f" ({data['reason']})" if action == "billing.fee_waived" and data.get("reason") else ""
    return f"{words}{amount}{reason}"
