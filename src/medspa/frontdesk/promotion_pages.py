"""Promotion codes and referrals at the desk: the managers' codes page with the referral
programme, the code field on the checkout page, and "Referred by" on the client's record.
Every write goes through billing.promotions or billing.referrals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medspa.billing import promotions, referrals
from medspa.billing.models import TaxCategory
from medspa.billing.promotion_models import PromotionAppliesTo, PromotionCode
from medspa.clients.models import Client
from medspa.clients.selectors import search_clients
from medspa.core.errors import DomainError, Invalid
from medspa.core.permissions import can
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk.checkout_pages import (
    _act,
    _amount,
    _back,
    _checkout_page,
    _percent_bp,
    _posted,
    _refusal,
)
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text

SEARCH_LIMIT = 8
CODE_FIELDS = (
    "code",
    "description",
    "kind",
    "value",
    "applies_to",
    "tax_category",
    "valid_from",
    "valid_until",
    "minimum_spend",
    "max_redemptions",
    "once_per_client",
)
# The service's field names -> the form's.
FORM_FIELDS = {
    "code": "code",
    "description": "description",
    "percent_bp": "value",
    "amount_cents": "value",
    "applies_to": "applies_to",
    "tax_category": "tax_category",
    "valid_from": "valid_from",
    "valid_until": "valid_until",
    "minimum_spend_cents": "minimum_spend",
    "max_redemptions": "max_redemptions",
}


def _date(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid.on(field, "Give a date, e.g. 2026-06-30.") from None


def _whole(raw: str, field: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise Invalid.on(field, "Give a whole number, e.g. 100.")
    return int(raw)


def _money(raw: str, currency: str, field: str) -> int | None:
    if not raw:
        return None
    cents = _amount(raw, currency)
    if cents is None:
        raise Invalid.on(field, "Give an amount, e.g. 100.00.")
    return cents


# --- the managers' page -------------------------------------------------------------------


def _rows(codes: list[PromotionCode], currency: str) -> list[dict[str, Any]]:
    return [
        {
            "promotion": p,
            "offer": promotions.describe(p, currency),
            "minimum": decimal_text(p.minimum_spend_cents, currency)
            if p.minimum_spend_cents
            else "",
        }
        for p in codes
    ]


def _page(
    request: HttpRequest,
    who: Staff,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    currency = who.organization.currency
    programme = referrals.referral_programme(who.organization)
    context = {
        "nav": "promotions",
        "currency": currency,
        "rows": _rows(list(promotions.promotion_codes(who.organization)[:500]), currency),
        "today": promotions.local_today(who.organization),
        "applies_to": PromotionAppliesTo.choices,
        "categories": TaxCategory.choices,
        "errors": errors or {},
        "values": values or {"kind": "percent", "applies_to": "all", "once_per_client": "yes"},
        "programme": programme,
        "programme_credit": decimal_text(programme.referrer_credit_cents, currency),
        "programme_percent": _percent(programme.first_visit_percent_bp),
    }
    return render(request, "frontdesk/promotions/list.html", context, status=status)


def _percent(bp: int | None) -> str:
    if bp is None:
        return ""
    whole, part = divmod(bp, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".")


@login_required
@require_http_methods(["GET", "POST"])
def promotion_list(request: HttpRequest) -> HttpResponse:
    """The codes (active first) with their uses, a form for a new one, the referral programme."""
    who = page_staff(request, "promotions.manage")
    if request.method == "GET":
        return _page(request, who)
    given = _posted(request, *CODE_FIELDS)
    currency = who.organization.currency
    try:
        percent = amount = None
        if given["kind"] == "amount":
            amount = _money(given["value"], currency, "amount_cents")
            if amount is None:
                raise Invalid.on("amount_cents", "Give the amount off, e.g. 25.00.")
        else:
            percent = _percent_bp(given["value"])
            if percent is None:
                raise Invalid.on("percent_bp", "Give the percent off, e.g. 15.")
        promotion = promotions.create_promotion_code(
            organization=who.organization,
            actor=who.user,
            code=given["code"],
            description=given["description"],
            percent_bp=percent,
            amount_cents=amount,
            applies_to=given["applies_to"] or "all",
            tax_category=given["tax_category"] if given["applies_to"] == "category" else "",
            valid_from=_date(given["valid_from"], "valid_from"),
            valid_until=_date(given["valid_until"], "valid_until"),
            minimum_spend_cents=_money(given["minimum_spend"], currency, "minimum_spend_cents"),
            max_redemptions=_whole(given["max_redemptions"], "max_redemptions"),
            once_per_client=given["once_per_client"] == "yes",
        )
    except DomainError as refusal:
        errors = {"code": _refusal(refusal, FORM_FIELDS)}
        return _page(request, who, errors=errors, values=given, status=422)
    messages.success(request, f"Code {promotion.code} created.")
    return redirect("frontdesk:promotions")


@login_required
@require_POST
def promotion_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate a code (it is refused from now on; invoices that carry it keep it) or reopen."""
    who = page_staff(request, "promotions.manage")
    try:
        promotion = promotions.promotion_of(who.organization, pk)
    except DomainError:
        raise Http404("No such code.") from None
    active = request.POST.get("active") == "yes"
    promotions.update_promotion_code(promotion=promotion, actor=who.user, is_active=active)
    messages.success(request, f"{promotion.code} is {'active' if active else 'deactivated'}.")
    return redirect("frontdesk:promotions")


@login_required
@require_POST
def referral_programme(request: HttpRequest) -> HttpResponse:
    who = page_staff(request, "promotions.manage")
    given = _posted(request, "active", "credit", "first_visit")
    try:
        credit = _money(given["credit"], who.organization.currency, "referrer_credit_cents") or 0
        percent = None
        if given["first_visit"]:
            percent = _percent_bp(given["first_visit"])
            if percent is None:
                raise Invalid.on("first_visit_percent_bp", "Give a percent, e.g. 10.")
        referrals.set_referral_programme(
            organization=who.organization,
            actor=who.user,
            is_active=given["active"] == "yes",
            referrer_credit_cents=credit,
            first_visit_percent_bp=percent,
        )
    except DomainError as refusal:
        fields = {
            "referrer_credit_cents": "credit",
            "first_visit_percent_bp": "first_visit",
            "is_active": "active",
        }
        errors = {"programme": _refusal(refusal, fields)}
        return _page(request, who, errors=errors, status=422)
    messages.success(request, "Referral programme saved.")
    return redirect(reverse("frontdesk:promotions") + "#referrals")


# --- on the checkout page -----------------------------------------------------------------


@login_required
@require_POST
def apply_code(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    given = _posted(request, "code")
    try:
        line = promotions.apply_promotion_code(invoice=invoice, actor=who.user, code=given["code"])
    except DomainError as refusal:
        errors = {"promotion": _refusal(refusal, {"code": "code"})}
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, f"{line.description} applied.")
    return _back(invoice, "lines")


@login_required
@require_POST
def first_visit_discount(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    try:
        referrals.add_first_visit_discount(invoice=invoice, actor=who.user)
    except DomainError as refusal:
        errors = {"promotion": _refusal(refusal, {})}
        return _checkout_page(request, who, invoice, errors=errors, status=422)
    messages.success(request, "Referral discount applied.")
    return _back(invoice, "lines")


# --- "Referred by" on the client's record -------------------------------------------------


def _client(who: Staff, client_id: int) -> Client:
    try:
        return get_owned(Client, organization=who.organization, pk=client_id, field="client")
    except DomainError:
        raise Http404("No such client.") from None


def _referral_section(
    request: HttpRequest, who: Staff, client: Client, *, error: str = "", status: int = 200
) -> HttpResponse:
    currency = who.organization.currency
    made = referrals.referrals_made(client)
    context = {
        "client": client,
        "referral": referrals.referral_of(client),
        "made": [
            {**r, "granted": decimal_text(r["granted_cents"], currency) if r["granted_at"] else ""}
            for r in made
        ],
        "may_set": can(who.user, "clients.update") and client.is_active,
        "error": error,
        "currency": currency,
    }
    return render(request, "frontdesk/promotions/_referral.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def client_referral(request: HttpRequest, client_id: int) -> HttpResponse:
    """The record's "Referred by" section (htmx); a POST records the referrer, once."""
    who = page_staff(request, "clients.view")
    client = _client(who, client_id)
    if request.method == "POST":
        if not can(who.user, "clients.update"):
            raise Http404("No such client.")
        try:
            referrer = get_owned(
                Client,
                organization=who.organization,
                pk=request.POST.get("referrer", ""),
                field="referrer",
                label="client",
            )
            referrals.set_referrer(client=client, referrer=referrer, actor=who.user)
        except DomainError as refusal:
            return _referral_section(request, who, client, error=refusal.detail, status=422)
        if not request.headers.get("HX-Request"):
            messages.success(request, f"Referred by {referrer.full_name}.")
            return redirect("frontdesk:client", client_id=client.pk)
    return _referral_section(request, who, client)


@login_required
@require_GET
def referrer_search(request: HttpRequest, client_id: int) -> HttpResponse:
    """Clients matching the typed text, each a button that records them as the referrer."""
    who = page_staff(request, "clients.update")
    client = _client(who, client_id)
    text = request.GET.get("q", "").strip()[:100]
    found = (
        list(search_clients(who.organization, text).exclude(pk=client.pk)[:SEARCH_LIMIT])
        if len(text) >= 2
        else []
    )
    context = {"client": client, "found": found, "q": text}
    return render(request, "frontdesk/promotions/_referrer_results.html", context)


urlpatterns: list[URLPattern] = [
    path("promotions/", promotion_list, name="promotions"),
    path("promotions/<int:pk>/active", promotion_active, name="promotion_active"),
    path("promotions/referrals", referral_programme, name="referral_programme"),
    path("invoices/<int:pk>/promotion", apply_code, name="checkout_promotion"),
    path("invoices/<int:pk>/referral-discount", first_visit_discount, name="checkout_referral"),
    path("clients/<int:client_id>/referral", client_referral, name="client_referral"),
    path("clients/<int:client_id>/referral/search", referrer_search, name="referrer_search"),
]
