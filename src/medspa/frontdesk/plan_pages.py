"""Payment plans at the desk: the invoice page's "Payment plan" section (make one, see its
instalments and every charge attempt, cancel it) and the failed-payment follow-ups page
billing staff work through. Every write goes through billing.plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from medspa.billing import plan_math, plans
from medspa.billing.card_models import CardOnFile
from medspa.billing.models import PAYABLE, Invoice
from medspa.billing.plan_models import (
    FollowUpResolution,
    FollowUpStatus,
    Instalment,
    InstalmentStatus,
    PaymentFollowUp,
    PaymentPlan,
    PlanCadence,
    PlanStatus,
)
from medspa.core.errors import DomainError, Invalid
from medspa.core.permissions import can
from medspa.core.web import Staff
from medspa.frontdesk.checkout_pages import _act, _checkout_page, _posted, _refusal
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text

MAX_DATES = plans.MAX_INSTALMENTS


# --- the invoice page's section -----------------------------------------------------------


@dataclass(frozen=True)
class InstalmentRow:
    instalment: Instalment
    amount: str
    planned: str
    label: str
    detail: str
    tone: str  # "ok", "due", "warn", "muted"


def _row(
    instalment: Instalment, invoice: Invoice, now: datetime, today: date, left: int | None
) -> InstalmentRow:
    currency = invoice.currency
    zone = invoice.location.zone
    status = instalment.status
    amount = instalment.amount_cents if left is None else left
    if status == InstalmentStatus.SCHEDULED and amount == 0:
        status = InstalmentStatus.COVERED  # what the worker's next pass will store
    tries = list(instalment.tries.all())
    detail = ""
    tone = "muted"
    if status == InstalmentStatus.PAID:
        label, tone = "Paid ✓", "ok"
        if instalment.paid_at:
            detail = f"Charged {instalment.paid_at.astimezone(zone):%b %-d, %-I:%M %p}"
    elif status == InstalmentStatus.SCHEDULED and instalment.declines:
        label, tone = "Retry scheduled", "warn"
        when = instalment.next_attempt_at.astimezone(zone)
        detail = (
            f"Declined ({instalment.declines}): {instalment.last_error} Next try {when:%b %-d}."
        )
    elif status == InstalmentStatus.SCHEDULED and instalment.next_attempt_at <= now:
        label, tone = "Due now", "due"
        detail = (
            "Charged to the card on the worker's next pass, usually within a minute. "
            "Refresh to see it paid."
        )
        if instalment.last_error:
            detail = f"{instalment.last_error} Trying again shortly."
    elif status == InstalmentStatus.SCHEDULED:
        label = "Today" if instalment.due_date == today else "Scheduled"
    elif status == InstalmentStatus.CHARGING:
        label, tone, detail = "Charging…", "due", "The card is being charged now."
    elif status == InstalmentStatus.COVERED:
        label, tone = "Covered", "ok"
        detail = "Settled by a payment taken at the desk."
    elif status == InstalmentStatus.FAILED:
        label, tone = "Failed", "warn"
        detail = f"Declined {instalment.declines} times: {instalment.last_error}"
    else:
        label = "Cancelled"
    if tries and status not in (InstalmentStatus.SCHEDULED, InstalmentStatus.FAILED):
        declined = sum(1 for t in tries if t.outcome == "declined")
        if declined and status == InstalmentStatus.PAID:
            detail += f" after {declined} declined attempt{'s' if declined > 1 else ''}"
    return InstalmentRow(
        instalment=instalment,
        amount=decimal_text(amount, currency),
        planned=decimal_text(instalment.planned_cents, currency),
        label=label,
        detail=detail.strip(),
        tone=tone,
    )


def _left_to_charge(plan: PaymentPlan, rows: list[Instalment], invoice: Invoice) -> dict[int, int]:
    """An active plan's scheduled instalments as they stand once a payment taken at the desk
    is counted (the worker stores the same on its next pass): the desk sees it at once."""
    if plan.status != PlanStatus.ACTIVE:
        return {}
    owed = invoice.balance_cents if invoice.status in PAYABLE else 0
    in_flight = sum(i.amount_cents for i in rows if i.status == InstalmentStatus.CHARGING)
    scheduled = [i for i in rows if i.status == InstalmentStatus.SCHEDULED]
    left = plan_math.cover([i.amount_cents for i in scheduled], max(owed - in_flight, 0))
    return {i.pk: amount for i, amount in zip(scheduled, left, strict=True)}


def plan_context(
    who: Staff, invoice: Invoice, *, errors: dict[str, Any], values: dict[str, str]
) -> dict[str, Any]:
    """What the invoice page's "Payment plan" section shows (three queries with a plan)."""
    if invoice.is_draft:
        return {"plan_section": None}
    now = timezone.now()
    today = plans.local_today(invoice, now)
    plan: PaymentPlan | None = plans.plan_for_invoice(invoice)
    may_checkout = can(who.user, "billing.checkout")
    active = plan is not None and plan.status == PlanStatus.ACTIVE
    may_make = (
        may_checkout
        and not active
        and invoice.status in PAYABLE
        and invoice.balance_cents > 0
        and not (plan is not None and plan.status == PlanStatus.FAILED)
    )
    if plan is None and not may_make:
        return {"plan_section": None}  # a paid invoice that never had a plan: nothing to say
    cards: list[CardOnFile] = list(plans.consented_cards(invoice)) if may_make else []
    section: dict[str, Any] = {
        "plan": plan,
        "active": active,
        "may_cancel": active and may_checkout,
        "may_make": may_make,
        "may_follow_up": can(who.user, "billing.follow_ups"),
        "cards": cards,
        "today": today.isoformat(),
        "cadences": PlanCadence.choices,
        "max": plans.MAX_INSTALMENTS,
        "errors": errors.get("plan", {}),
        "cancel_errors": errors.get("plan_cancel", {}),
        "values": values,
        "balance": decimal_text(invoice.balance_cents, invoice.currency),
    }
    if plan is not None:
        rows = list(plan.instalments.all())
        left = _left_to_charge(plan, rows, invoice)
        section["rows"] = [_row(i, invoice, now, today, left.get(i.pk)) for i in rows]
        section["total"] = decimal_text(plan.total_cents, invoice.currency)
    return {"plan_section": section}


def _dates(raw: str) -> list[date]:
    """One date a line (or separated by commas), as YYYY-MM-DD."""
    parts = [p.strip() for p in raw.replace(",", "\n").splitlines() if p.strip()]
    if len(parts) > MAX_DATES:
        raise Invalid.on("dates", f"Give at most {MAX_DATES} dates.")
    try:
        return [date.fromisoformat(p) for p in parts]
    except ValueError:
        raise Invalid.on("dates", "Give each date as YYYY-MM-DD, one a line.") from None


@login_required
@require_POST
def make_plan(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    given = _posted(request, "card", "cadence", "count", "first_date", "dates", "note")
    given["dates"] = request.POST.get("dates", "")[:600]
    try:
        card = (
            plans.consented_cards(invoice).filter(pk=int(given["card"])).first()
            if given["card"].isdigit()
            else None
        )
        cadence = given["cadence"] or PlanCadence.MONTHLY
        count: int | None = None
        first: date | None = None
        dates: list[date] | None = None
        if cadence == PlanCadence.DATES:
            dates = _dates(given["dates"])
        else:
            if not given["count"].isdigit():
                raise Invalid.on("count", "Give the number of instalments, 2 to 24.")
            count = int(given["count"])
            try:
                first = date.fromisoformat(given["first_date"]) if given["first_date"] else None
            except ValueError:
                raise Invalid.on("first_date", "Give the date as YYYY-MM-DD.") from None
        plan = plans.create_plan(
            invoice=invoice,
            card=card,
            actor=who.user,
            cadence=cadence,
            count=count,
            first_date=first,
            dates=dates,
            note=given["note"],
        )
    except DomainError as refusal:
        fields = {f: f for f in ("card", "cadence", "count", "first_date", "dates", "note")}
        errors = {"plan": _refusal(refusal, fields)}
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    first_row = plan.instalments.order_by("number").first()
    notice = f"Payment plan made: {plan.instalment_count} instalments on the {plan.card}."
    if first_row is not None and first_row.next_attempt_at <= timezone.now():
        notice += " The first is due today and is charged within a minute."
    messages.success(request, notice)
    return redirect(f"{reverse('frontdesk:checkout', args=[invoice.pk])}#plan")


@login_required
@require_POST
def cancel_plan(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "billing.view")
    try:
        plan = plans.plan_of(who.organization, pk)
    except DomainError:
        raise Http404("No such plan.") from None
    who, invoice = _act(request, plan.invoice_id)
    given = _posted(request, "cancel_reason")
    try:
        plans.cancel_plan(plan=plan, actor=who.user, reason=given["cancel_reason"])
    except DomainError as refusal:
        errors = {"plan_cancel": _refusal(refusal, {"reason": "reason"})}
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, "Payment plan cancelled: nothing more will be charged.")
    return redirect(f"{reverse('frontdesk:checkout', args=[invoice.pk])}#plan")


# --- the follow-ups page ------------------------------------------------------------------


def _follow_ups_page(
    request: HttpRequest,
    who: Staff,
    *,
    status: str,
    errors: dict[str, str] | None = None,
    failed_id: int | None = None,
    values: dict[str, str] | None = None,
    code: int = 200,
) -> HttpResponse:
    currency = who.organization.currency
    found = list(plans.follow_ups_for(who.organization, status=status)[:200])
    cards: dict[int, list[CardOnFile]] = {}
    if status == FollowUpStatus.OPEN and found:
        for card in CardOnFile.objects.filter(
            organization=who.organization,
            client_id__in={f.client_id for f in found},
            is_active=True,
        ).exclude(consent_text=""):
            cards.setdefault(card.client_id, []).append(card)
    rows = [
        {
            "follow_up": f,
            "amount": decimal_text(f.amount_cents, currency),
            "cards": [c for c in cards.get(f.client_id, []) if c.pk != f.plan.card_id],
            "errors": errors if failed_id == f.pk else {},
            "values": values if failed_id == f.pk else {},
        }
        for f in found
    ]
    context = {
        "nav": "follow_ups",
        "status": status,
        "rows": rows,
        "currency": currency,
        "resolutions": FollowUpResolution.choices,
    }
    return render(request, "frontdesk/plans/follow_ups.html", context, status=code)


@login_required
@require_GET
def follow_ups(request: HttpRequest) -> HttpResponse:
    """Failed payment plans, the longest waiting first; or those already resolved."""
    who = page_staff(request, "billing.follow_ups")
    status = request.GET.get("status", FollowUpStatus.OPEN)
    if status not in FollowUpStatus.values:
        status = FollowUpStatus.OPEN
    return _follow_ups_page(request, who, status=status)


@login_required
@require_POST
def resolve_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "billing.follow_ups")
    try:
        follow_up: PaymentFollowUp = plans.follow_up_of(who.organization, pk)
    except DomainError:
        raise Http404("No such follow-up.") from None
    given = _posted(request, "resolution", "note", "card")
    try:
        card = None
        if given["resolution"] == FollowUpResolution.NEW_CARD:
            card = (
                plans.consented_cards(follow_up.invoice).filter(pk=int(given["card"])).first()
                if given["card"].isdigit()
                else None
            )
        plans.resolve_follow_up(
            follow_up=follow_up,
            actor=who.user,
            resolution=given["resolution"],
            note=given["note"],
            card=card,
        )
    except DomainError as refusal:
        found = _refusal(refusal, {"resolution": "resolution", "note": "note", "card": "card"})
        return _follow_ups_page(
            request,
            who,
            status=FollowUpStatus.OPEN,
            errors=found,
            failed_id=follow_up.pk,
            values=given,
            code=422,
        )
    label = FollowUpResolution(given["resolution"]).label.lower()
    messages.success(
        request, f"{follow_up.client} · invoice {follow_up.invoice.display_number}: {label}."
    )
    return redirect("frontdesk:follow_ups")


urlpatterns: list[URLPattern] = [
    path("invoices/<int:pk>/plan", make_plan, name="checkout_plan"),
    path("plans/<int:pk>/cancel", cancel_plan, name="plan_cancel"),
    path("payment-follow-ups/", follow_ups, name="follow_ups"),
    path("payment-follow-ups/<int:pk>/resolve", resolve_follow_up, name="follow_up_resolve"),
]
