"""The daily close at the desk: a location's local day, the cash and cheques the drawer took and
paid out, what should be in it, the count entered, the difference and why; then the closed
record. Past closes listed below. The close itself is billing.close.close_day.

The form carries a token used as an Idempotency-Key, so a double tap closes once and the
second tap sees the same closed day instead of "already closed".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from medspa.billing import close
from medspa.billing.deposits import drawer_deposit_totals
from medspa.billing.models import DailyClose, Payment, Refund
from medspa.core.errors import DomainError
from medspa.core.idempotency import run_idempotent
from medspa.core.models import Location
from medspa.core.selectors import get_owned, locations_for
from medspa.core.web import Staff
from medspa.frontdesk.checkout_pages import _amount, _refusal, _tender_label
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text

PAST_CLOSES = 30
FIELDS = {"counted_cents": "counted", "explanation": "explanation", "date": "date"}


@dataclass(frozen=True)
class DrawerLine:
    label: str
    taken: str
    refunded: str


def _location(who: Staff, raw: str) -> Location:
    try:
        if raw:
            return get_owned(
                Location.objects.select_related("organization"),
                organization=who.organization,
                pk=raw,
                field="location",
            )
    except DomainError:
        raise Http404("No such location.") from None
    first = locations_for(who.organization).select_related("organization").order_by("pk").first()
    if first is None:
        raise Http404("This organization has no location yet.")
    return first


# No clinic closed a till before this; a far-past day would only overflow the day links.
EARLIEST_DAY = date(2000, 1, 1)


def _day(raw: str, location: Location) -> tuple[date, str]:
    today = close.local_today(location)
    if not raw:
        return today, ""
    try:
        wanted = date.fromisoformat(raw)
    except ValueError:
        return today, "Give a date, e.g. 2026-03-01."
    if wanted > today:
        return today, "A day is closed once it has begun: showing today."
    if wanted < EARLIEST_DAY:
        return today, "Give a day from 2000 on: showing today."
    return wanted, ""


def drawer_lines(location: Location, business_date: date) -> list[DrawerLine]:
    """Cash and cheques taken and refunded that local day, per tender, and deposits (four
    queries)."""
    start, end = close.day_window(location, business_date)
    kinds = close.drawer_kinds()
    cur = location.organization.currency
    taken = dict(
        Payment.objects.filter(
            organization_id=location.organization_id,
            invoice__location=location,
            kind__in=kinds,
            received_at__gte=start,
            received_at__lt=end,
        )
        .values("kind")
        .annotate(total=Sum("amount_cents"))
        .values_list("kind", "total")
    )
    given = dict(
        Refund.objects.filter(
            organization_id=location.organization_id,
            invoice__location=location,
            tender__in=kinds,
            refunded_at__gte=start,
            refunded_at__lt=end,
        )
        .values("tender")
        .annotate(total=Sum("amount_cents"))
        .values_list("tender", "total")
    )
    lines = [
        DrawerLine(
            label=_tender_label(kind),
            taken=decimal_text(int(taken.get(kind) or 0), cur),
            # Shown as money out of the drawer; a dash when nothing went back.
            refunded=f"\u2212{decimal_text(out, cur)}"
            if (out := int(given.get(kind) or 0))
            else "—",
        )
        for kind in kinds
    ]
    # Deposits paid in cash or by cheque sit in the same drawer: the lines add up to what
    # the close expects.
    deposits_in, deposits_out = drawer_deposit_totals(location, start, end)
    if deposits_in or deposits_out:
        lines.append(
            DrawerLine(
                label="Deposits (cash, cheques)",
                taken=decimal_text(deposits_in, cur),
                refunded=f"\u2212{decimal_text(deposits_out, cur)}" if deposits_out else "—",
            )
        )
    return lines


def day_link(location: Location, day: date) -> str:
    query = urlencode({"location": str(location.pk), "date": day.isoformat()})
    return f"{reverse('frontdesk:daily_close')}?{query}"


def _page(
    request: HttpRequest,
    who: Staff,
    location: Location,
    business_date: date,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    cur = location.organization.currency
    day = close.day_at_the_till(location, business_date)
    closed = day.close
    values = values or {}
    today = close.local_today(location)

    def link(d: date) -> str:
        return day_link(location, d)

    past = list(
        DailyClose.objects.filter(organization=who.organization, location=location)
        .select_related("closed_by")
        .order_by("-business_date")[:PAST_CLOSES]
    )
    context: dict[str, Any] = {
        "nav": "close",
        "location": location,
        "locations": list(locations_for(who.organization)),
        "day": business_date,
        "today": business_date == today,
        "previous": link(business_date - timedelta(days=1)),
        "next": link(business_date + timedelta(days=1)) if business_date < today else "",
        "currency": cur,
        "zone": location.time_zone,
        "lines": drawer_lines(location, business_date),
        "expected": decimal_text(day.expected_cents, cur),
        "closed": closed,
        "counted": decimal_text(closed.counted_cents, cur) if closed else "",
        "difference": decimal_text(closed.difference_cents, cur) if closed else "",
        "past": [
            {
                "close": c,
                "expected": decimal_text(c.expected_cents, cur),
                "counted": decimal_text(c.counted_cents, cur),
                "difference": decimal_text(c.difference_cents, cur),
                "link": link(c.business_date),
            }
            for c in past
        ],
        "errors": errors or {},
        "values": values,
        "close_key": values.get("close_key") or uuid.uuid4().hex,
    }
    template = (
        "frontdesk/close/_form.html"
        if getattr(request, "htmx", False) and request.method == "POST"
        else "frontdesk/close/page.html"
    )
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def daily_close(request: HttpRequest) -> HttpResponse:
    """The close of one location's local day: expected cash, the count, the difference."""
    who = page_staff(request, "billing.close")
    source = request.POST if request.method == "POST" else request.GET
    location = _location(who, source.get("location", "").strip())
    business_date, date_error = _day(source.get("date", "").strip(), location)
    if request.method == "GET":
        errors = {"date": date_error} if date_error else None
        return _page(request, who, location, business_date, errors=errors)
    given = {
        name: request.POST.get(name, "").strip()[:500]
        for name in ("counted", "explanation", "close_key")
    }
    if date_error:
        return _page(
            request,
            who,
            location,
            business_date,
            errors={"date": date_error},
            values=given,
            status=422,
        )
    counted = _amount(given["counted"], location.organization.currency)
    if counted is None:
        errors = {"counted": "Give the amount counted in the till, e.g. 412.50."}
        return _page(request, who, location, business_date, errors=errors, values=given, status=422)

    def act() -> tuple[int, dict[str, Any]]:
        done = close.close_day(
            location=location,
            business_date=business_date,
            counted_cents=counted,
            explanation=given["explanation"],
            actor=who.user,
        )
        return 201, {"difference_cents": done.difference_cents}

    try:
        run_idempotent(
            organization=who.organization,
            key=given["close_key"] or uuid.uuid4().hex,
            scope=f"page-daily-close:{location.pk}:{business_date.isoformat()}",
            payload={"counted": counted, "explanation": given["explanation"]},
            action=act,
        )
    except DomainError as refusal:
        errors = _refusal(refusal, FIELDS)
        return _page(request, who, location, business_date, errors=errors, values=given, status=422)
    messages.success(
        request, f"{location.name} closed for {business_date:%A, %B} {business_date.day}."
    )
    url = day_link(location, business_date)
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


urlpatterns: list[URLPattern] = [
    path("close/", daily_close, name="daily_close"),
]
