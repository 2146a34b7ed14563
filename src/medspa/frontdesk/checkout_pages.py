"""Checkout at the desk: the invoices list, the checkout page of one invoice (price, retail,
discount, tip, issue, split-tender payment, void), the printable receipt, and the visit's
invoice line on the appointment panel. Every write goes through billing.services.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medspa.billing import services
from medspa.billing.models import PAYABLE, Invoice, InvoiceLine, InvoiceStatus, LineKind
from medspa.billing.referrals import first_visit_discount_offer
from medspa.billing.selectors import (
    account_credit_available,
    invoice_detail,
    invoice_of,
    invoices_for,
)
from medspa.billing.tenders import tender_named
from medspa.catalog.models import Product, ProductCategory
from medspa.clients.models import Client
from medspa.core.errors import DomainError, Invalid
from medspa.core.permissions import can
from medspa.core.selectors import get_owned
from medspa.core.web import Staff
from medspa.frontdesk import card_pages
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text, minor_units
from medspa.scheduling.models import Appointment, Resource, ResourceKind

PAGE_SIZE = 50
# The tenders the desk takes in one form, in the order shown: the terminal first (most visits).
DESK_TENDERS = ("card_external", "cash", "cheque")
ACCOUNT_CREDIT = "account_credit"


def desk_tenders(credit_cents: int) -> tuple[str, ...]:
    """The form's tenders: account credit too when the client has some to spend."""
    return (*DESK_TENDERS, ACCOUNT_CREDIT) if credit_cents > 0 else DESK_TENDERS


REFERENCE_LABELS = {"card_external": "Terminal reference", "cheque": "Cheque number"}
_AMOUNT = re.compile(r"^\d{1,9}(?:\.\d{1,2})?$")
_PERCENT = re.compile(r"^\d{1,3}(?:\.\d{1,2})?$")

Errors = dict[str, dict[str, str]]


# --- reading the form ---------------------------------------------------------------------


def _amount(raw: str, currency: str) -> int | None:
    """A typed amount ("12.5", "12.50", "1,200") in minor units; None if it is not one."""
    text = raw.strip().replace(",", "").lstrip("$")
    if not _AMOUNT.match(text):
        return None
    digits: int = minor_units(currency)
    whole, _, part = text.partition(".")
    if len(part) > digits:
        return None
    fraction = int(part.ljust(digits, "0")) if digits else 0
    scale = int(10**digits)  # int ** int is typed Any (a negative power is a float)
    return int(whole) * scale + fraction


def _percent_bp(raw: str) -> int | None:
    """A typed percent ("10", "12.5") in basis points; None if it is not one."""
    text = raw.strip().rstrip("%").strip()
    if not _PERCENT.match(text):
        return None
    return int(Decimal(text) * 100)


def _refusal(refusal: DomainError, fields: dict[str, str]) -> dict[str, str]:
    """A service's refusal as messages next to the form's fields ("all" when none fits)."""
    found: dict[str, str] = {}
    for item in refusal.errors:
        parts = item.field.split(".")
        # The most precise match first: "tenders.1.amount_cents", then "tenders.1", "tenders".
        prefixes = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
        name = next((fields[p] for p in prefixes if p in fields), "all")
        found.setdefault(name, item.reason)
    if not found:
        found["all"] = refusal.detail
    return found


def _quantity_text(quantity: Decimal) -> str:
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tender_label(kind: str) -> str:
    tender = tender_named(kind)
    return tender.label if tender is not None else kind


def _percent_text(bp: int | None) -> str:
    if bp is None:
        return ""
    whole, part = divmod(bp, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "%"


# --- shown on the page --------------------------------------------------------------------


@dataclass(frozen=True)
class LineRow:
    line: InvoiceLine
    quantity: str
    unit_price: str
    amount: str
    provider: str
    removable: bool
    percent: str


def _rows(invoice: Invoice, currency: str) -> list[LineRow]:
    return [
        LineRow(
            line=line,
            quantity=_quantity_text(line.quantity),
            unit_price=decimal_text(line.unit_price_cents, currency),
            amount=decimal_text(line.amount_cents, currency),
            provider=line.provider.name if line.provider else "",
            # Lines from the chart are what was done; only what the desk added comes off.
            removable=line.kind not in (LineKind.SERVICE, LineKind.PRODUCT),
            percent=_percent_text(line.discount_percent_bp),
        )
        for line in invoice.lines.all()
    ]


def _invoice(who: Staff, pk: int) -> Invoice:
    try:
        return invoice_detail(who.organization, pk)
    except DomainError:
        raise Http404("No such invoice.") from None


def _checkout_page(
    request: HttpRequest,
    who: Staff,
    invoice: Invoice,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    if "lines" not in getattr(invoice, "_prefetched_objects_cache", {}):
        # A form's refusal: the action read the bare invoice; the page needs it whole.
        invoice = _invoice(who, invoice.pk)
    currency = invoice.currency
    may_checkout = can(who.user, "billing.checkout")
    draft = invoice.is_draft
    payable = invoice.status in PAYABLE
    pay_errors = (errors or {}).get("pay", {})
    # The client's account credit (refunds, referrals, deposits given back) is a tender when
    # there is some to spend.
    credit = account_credit_available(invoice.client) if payable and may_checkout else 0
    payments = list(invoice.payments.all())
    visit = (
        Appointment.objects.filter(organization=who.organization, pk=invoice.appointment_id)
        .only("id", "start")
        .first()
        if invoice.appointment_id
        else None
    )
    values = values or {}
    key = values.get("idempotency_key") or uuid.uuid4().hex
    context: dict[str, Any] = {
        "nav": "invoices",
        "invoice": invoice,
        "visit": visit,
        "zone": invoice.location.time_zone,
        "currency": currency,
        "rows": _rows(invoice, currency),
        "m": {
            name: decimal_text(getattr(invoice, f"{name}_cents"), currency)
            for name in ("subtotal", "discount", "tax", "tip", "total", "paid", "balance")
        },
        "payments": [
            {
                "payment": p,
                "label": _tender_label(p.kind),
                "amount": decimal_text(p.amount_cents, currency),
                # What the desk typed (terminal or cheque); not the manual gateway's own id.
                "reference": p.reference if p.kind in REFERENCE_LABELS else "",
            }
            for p in payments
        ],
        "draft": draft,
        "payable": payable,
        "paid": invoice.status == InvoiceStatus.PAID,
        "may_checkout": may_checkout,
        "may_void": can(who.user, "billing.void")
        and invoice.status != InvoiceStatus.VOID
        and not payments,
        "errors": errors or {},
        "values": values,
        "idempotency_key": key,
        "tenders": [
            {
                "kind": kind,
                "label": tender.label if (tender := tender_named(kind)) else kind,
                "reference_label": REFERENCE_LABELS.get(kind, ""),
                # The whole balance on the terminal by default: one tap for most visits.
                "amount": values.get(
                    f"amount_{kind}",
                    decimal_text(invoice.balance_cents, currency) if i == 0 else "",
                ),
                "reference": values.get(f"reference_{kind}", ""),
                "error": pay_errors.get(f"amount_{kind}", ""),
                "reference_error": pay_errors.get(f"reference_{kind}", ""),
                # Account credit shows what the client has to spend.
                "available": decimal_text(credit, currency) if kind == ACCOUNT_CREDIT else "",
            }
            for i, kind in enumerate(desk_tenders(credit))
        ],
    }
    context.update(card_pages.tender_context(who, invoice, values))
    if draft and may_checkout:
        context["products"] = list(
            Product.objects.filter(
                organization=who.organization, is_active=True, category=ProductCategory.RETAIL
            )
            .order_by("name")
            .only("id", "name", "price_cents", "unit")
        )
        context["providers"] = list(
            Resource.objects.filter(
                organization=who.organization, kind=ResourceKind.PROVIDER, is_active=True
            )
            .order_by("name")
            .only("id", "name")
        )
        context["tip_provider"] = values.get("provider") or next(
            (str(r.line.provider_id) for r in context["rows"] if r.line.provider_id), ""
        )
        offer = first_visit_discount_offer(invoice)  # a referred client's first visit
        context["referral_offer"] = _percent_text(offer[1]).rstrip("%") if offer else ""
    from medspa.frontdesk.plan_pages import plan_context  # it builds on this module

    context.update(plan_context(who, invoice, errors=errors or {}, values=values))
    # The PDF, "Send receipt", refunds and credit notes (frontdesk/refund_pages.py).
    from medspa.frontdesk.refund_pages import desk_money_context

    context.update(desk_money_context(who, invoice, errors=errors, values=values))
    return render(request, "frontdesk/checkout/page.html", context, status=status)


def _back(invoice: Invoice, anchor: str = "") -> HttpResponse:
    url = reverse("frontdesk:checkout", args=[invoice.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


def _act(request: HttpRequest, pk: int, action: str = "billing.checkout") -> tuple[Staff, Invoice]:
    """The invoice a form posts to, in the caller's organization, and a role that may act."""
    who = page_staff(request, "billing.view")
    # One query: the services lock and read what they need; a refusal re-reads the page.
    try:
        invoice = invoice_of(who.organization, pk)
    except DomainError:
        raise Http404("No such invoice.") from None
    if not can(who.user, action):
        raise Http404("No such invoice.")
    return who, invoice


def _posted(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "").strip()[:300] for name in names}


# --- the list -----------------------------------------------------------------------------


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    """Today's and unpaid invoices first, then the rest newest first; by status or client."""
    who = page_staff(request, "billing.view")
    status = request.GET.get("status", "")
    if status not in InvoiceStatus.values:
        status = ""
    client: Client | None = None
    wanted = request.GET.get("client", "")
    if wanted:
        try:
            client = get_owned(Client, organization=who.organization, pk=wanted, field="client")
        except DomainError:
            raise Http404("No such client.") from None
    query = request.GET.get("q", "").strip()[:100]
    today = datetime.combine(timezone.localdate(), time.min, tzinfo=timezone.get_current_timezone())
    found = invoices_for(who.organization, client=client, status=status or None)
    if query:
        for word in query.split()[:4]:
            found = found.filter(
                Q(client__first_name__icontains=word) | Q(client__last_name__icontains=word)
            )
    found = found.annotate(
        first=Case(
            When(
                Q(status__in=[InvoiceStatus.DRAFT, *PAYABLE]) | Q(created_at__gte=today),
                then=Value(0),
            ),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("first", "-created_at", "-id")
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
    page = max(page, 1)
    shown = list(found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    currency = who.organization.currency
    echo: dict[str, str | int] = {
        k: v for k, v in {"status": status, "q": query, "client": wanted}.items() if v
    }
    base = reverse("frontdesk:invoices")
    context = {
        "nav": "invoices",
        "currency": currency,
        "status": status,
        "statuses": InvoiceStatus.choices,
        "q": query,
        "client": client,
        "rows": [
            {
                "invoice": inv,
                "today": inv.created_at >= today,
                "total": decimal_text(inv.total_cents, currency),
                "balance": decimal_text(inv.balance_cents, currency),
            }
            for inv in shown[:PAGE_SIZE]
        ],
        "older": f"{base}?{urlencode({**echo, 'page': page + 1})}"
        if len(shown) > PAGE_SIZE
        else "",
        "newer": f"{base}?{urlencode({**echo, 'page': page - 1})}" if page > 1 else "",
    }
    return render(request, "frontdesk/checkout/list.html", context)


# --- the checkout page and its forms ------------------------------------------------------


@login_required
@require_GET
def checkout(request: HttpRequest, pk: int) -> HttpResponse:
    who = page_staff(request, "billing.view")
    return _checkout_page(request, who, _invoice(who, pk))


@login_required
@require_POST
def set_price(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    given = _posted(request, "price")
    cents = _amount(given["price"], invoice.currency)
    try:
        if cents is None:
            raise _field("unit_price_cents", "Give the price, e.g. 12.50.")
        line = services.line_of(invoice, line_id)
        services.set_line_price(invoice=invoice, line=line, actor=who.user, unit_price_cents=cents)
    except DomainError as refusal:
        errors = {
            "price": {**_refusal(refusal, {"unit_price_cents": "price"}), "line": str(line_id)}
        }
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, "Price set.")
    return _back(invoice, "lines")


@login_required
@require_POST
def add_item(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    given = _posted(request, "product", "description", "quantity", "price")
    try:
        product = None
        if given["product"]:
            product = get_owned(
                Product, organization=who.organization, pk=given["product"], field="product"
            )
        price: int | None = None
        if given["price"]:
            price = _amount(given["price"], invoice.currency)
            if price is None:
                raise _field("unit_price_cents", "Give the price, e.g. 24.00.")
        elif product is None:
            raise _field("product", "Pick a product, or describe the item and give its price.")
        services.add_line(
            invoice=invoice,
            actor=who.user,
            product=product,
            description=given["description"] or None,
            quantity=given["quantity"] or "1",
            unit_price_cents=price,
        )
    except DomainError as refusal:
        errors = {
            "item": _refusal(
                refusal,
                {
                    "product": "product",
                    "description": "description",
                    "quantity": "quantity",
                    "unit_price_cents": "price",
                },
            )
        }
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, "Item added.")
    return _back(invoice, "lines")


@login_required
@require_POST
def add_discount(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    given = _posted(request, "discount_kind", "discount_value", "reason")
    by_percent = given["discount_kind"] != "amount"
    try:
        if by_percent:
            bp = _percent_bp(given["discount_value"])
            if bp is None:
                raise _field("percent_bp", "Give a percent, e.g. 10 or 12.5.")
            services.add_discount(
                invoice=invoice, actor=who.user, reason=given["reason"], percent_bp=bp
            )
        else:
            cents = _amount(given["discount_value"], invoice.currency)
            if cents is None:
                raise _field("amount_cents", "Give an amount, e.g. 25.00.")
            services.add_discount(
                invoice=invoice, actor=who.user, reason=given["reason"], amount_cents=cents
            )
    except DomainError as refusal:
        fields = {"reason": "reason", "percent_bp": "value", "amount_cents": "value"}
        errors = {"discount": _refusal(refusal, fields)}
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, "Discount added.")
    return _back(invoice, "lines")


@login_required
@require_POST
def add_tip(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    given = _posted(request, "provider", "tip")
    try:
        provider = get_owned(
            Resource.objects.filter(kind=ResourceKind.PROVIDER),
            organization=who.organization,
            pk=given["provider"],
            field="provider",
            label="provider",
        )
        cents = _amount(given["tip"], invoice.currency)
        if cents is None:
            raise _field("amount_cents", "Give the tip, e.g. 20.00.")
        services.add_tip(invoice=invoice, actor=who.user, provider=provider, amount_cents=cents)
    except DomainError as refusal:
        errors = {"tip": _refusal(refusal, {"provider": "provider", "amount_cents": "tip"})}
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, f"Tip added for {provider.name}.")
    return _back(invoice, "lines")


@login_required
@require_POST
def remove_line(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    try:
        line = services.line_of(invoice, line_id)
        if line.kind in (LineKind.SERVICE, LineKind.PRODUCT):
            raise _field("line", "What was done stays; correct the chart instead.")
        services.remove_line(invoice=invoice, line=line, actor=who.user)
    except DomainError as refusal:
        errors = {"lines": _refusal(refusal, {})}
        return _checkout_page(request, who, invoice, errors=errors, status=422)
    messages.success(request, "Line removed.")
    return _back(invoice, "lines")


@login_required
@require_POST
def issue(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk)
    try:
        issued = services.issue_invoice(invoice=invoice, actor=who.user)
    except DomainError as refusal:
        errors = {"issue": _refusal(refusal, {})}
        return _checkout_page(request, who, invoice, errors=errors, status=422)
    messages.success(request, f"Invoice {issued.display_number} issued.")
    return _back(issued, "payment")


@login_required
@require_POST
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    """One payment over the tenders filled in; the form's key makes a double tap pay once."""
    who, invoice = _act(request, pk)
    names = ["idempotency_key"]
    posted_kinds = desk_tenders(1)  # credit is checked by the payment itself, under lock
    for kind in posted_kinds:
        names += [f"amount_{kind}", f"reference_{kind}"]
    given = _posted(request, *names, *card_pages.CARD_FIELDS)
    errors: dict[str, str] = {}
    tenders: list[services.TenderIn] = []
    rows: list[str] = []
    for kind in posted_kinds:
        raw = given[f"amount_{kind}"]
        if not raw or raw in ("0", "0.00"):
            continue
        cents = _amount(raw, invoice.currency)
        if cents is None:
            errors[f"amount_{kind}"] = "Give an amount, e.g. 120.00."
            continue
        tenders.append(services.TenderIn(kind, cents, given[f"reference_{kind}"]))
        rows.append(kind)
    on_file = card_pages.posted_tender(who, invoice, given, _amount, errors)
    if on_file is not None:
        tenders.append(on_file)
        rows.append(on_file.kind)
    if not tenders and not errors:
        errors["all"] = "Fill in what the client pays with: card, cash or cheque."
    if not errors:
        fields = {f"tenders.{i}": f"amount_{kind}" for i, kind in enumerate(rows)}
        fields.update(
            {f"tenders.{i}.reference": f"reference_{kind}" for i, kind in enumerate(rows)}
        )
        try:
            taken = services.record_payment(
                invoice=invoice,
                tenders=tenders,
                idempotency_key=given["idempotency_key"],
                actor=who.user,
            )
        except DomainError as refusal:
            found = _refusal(refusal, {**fields, "tenders": "all"})
            errors.update(found)
            if refusal.code == "payment_declined":
                # Stripe's reason in full; nothing was taken, so another try is a new payment.
                errors["all"] = refusal.detail
                given["idempotency_key"] = ""
        else:
            paid = taken.invoice.status == InvoiceStatus.PAID
            notice = "Paid ✓" if paid else "Payment taken."
            messages.success(request, notice if not taken.replayed else "Already taken. " + notice)
            return _back(invoice, "payment")
    return _checkout_page(request, who, invoice, errors={"pay": errors}, values=given, status=422)


@login_required
@require_POST
def void(request: HttpRequest, pk: int) -> HttpResponse:
    who, invoice = _act(request, pk, "billing.void")
    given = _posted(request, "void_reason", "confirm")
    try:
        if given["confirm"] != "yes":
            raise _field("confirm", "Tick the box to confirm.")
        voided = services.void_invoice(invoice=invoice, actor=who.user, reason=given["void_reason"])
    except DomainError as refusal:
        errors = {"void": _refusal(refusal, {"reason": "reason", "confirm": "confirm"})}
        return _checkout_page(request, who, invoice, errors=errors, values=given, status=422)
    messages.success(request, f"Invoice {voided.display_number} is void.")
    return _back(voided)


def _field(field: str, reason: str) -> DomainError:
    return Invalid.on(field, reason)


# --- receipt ------------------------------------------------------------------------------


@login_required
@require_GET
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable receipt: one page, the clinic's details, the lines, tax, tip, payments."""
    who = page_staff(request, "billing.view")
    invoice = _invoice(who, pk)
    if invoice.is_draft:
        raise Http404("A draft has no receipt yet: issue it first.")
    currency = invoice.currency
    rows = _rows(invoice, currency)
    context = {
        "invoice": invoice,
        "organization": who.organization,
        "location": invoice.location,
        "zone": invoice.location.time_zone,
        "currency": currency,
        "charges": [r for r in rows if r.line.kind not in (LineKind.DISCOUNT, LineKind.TIP)],
        "discounts": [r for r in rows if r.line.kind == LineKind.DISCOUNT],
        "tips": [r for r in rows if r.line.kind == LineKind.TIP],
        "m": {
            name: decimal_text(getattr(invoice, f"{name}_cents"), currency)
            for name in ("subtotal", "discount", "tax", "tip", "total", "paid", "balance")
        },
        "payments": [
            {
                "payment": p,
                "label": _tender_label(p.kind),
                "amount": decimal_text(p.amount_cents, currency),
                # What the desk typed (terminal or cheque); not the manual gateway's own id.
                "reference": p.reference if p.kind in REFERENCE_LABELS else "",
            }
            for p in invoice.payments.all()
        ],
    }
    return render(request, "frontdesk/checkout/receipt.html", context)


# --- from the visit -----------------------------------------------------------------------


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


def _live_invoice(appointment: Appointment) -> Invoice | None:
    return (
        Invoice.objects.filter(organization_id=appointment.organization_id, appointment=appointment)
        .exclude(status=InvoiceStatus.VOID)
        .only("id", "status", "number", "total_cents", "paid_cents", "currency")
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_checkout(request: HttpRequest, pk: int) -> HttpResponse:
    """The visit's invoice; a POST builds the draft from the signed chart when there is none."""
    who = page_staff(request, "billing.view")
    appointment = _visit(who, pk)
    existing = _live_invoice(appointment)
    if existing is not None:
        return redirect("frontdesk:checkout", existing.pk)
    if request.method == "POST":
        if not can(who.user, "billing.checkout"):
            raise Http404("No such appointment.")
        try:
            invoice, _ = services.build_invoice_from_chart(appointment=appointment, actor=who.user)
        except DomainError as refusal:
            return render(
                request,
                "frontdesk/checkout/start.html",
                {"appointment": appointment, "error": refusal.detail, "nav": "invoices"},
                status=409,
            )
        return redirect("frontdesk:checkout", invoice.pk)
    return render(
        request,
        "frontdesk/checkout/start.html",
        {
            "appointment": appointment,
            "nav": "invoices",
            "may_checkout": can(who.user, "billing.checkout"),
        },
    )


@login_required
@require_GET
def visit_section(request: HttpRequest, pk: int) -> HttpResponse:
    """The appointment panel's invoice line: its status and the way to check out."""
    who = page_staff(request, "schedule.view")
    if not can(who.user, "billing.view"):
        return HttpResponse("")
    appointment = _visit(who, pk)
    invoice = _live_invoice(appointment)
    context = {
        "appointment": appointment,
        "invoice": invoice,
        "balance": decimal_text(invoice.balance_cents, invoice.currency) if invoice else "",
        "may_checkout": can(who.user, "billing.checkout"),
    }
    return render(request, "frontdesk/checkout/_visit.html", context)


urlpatterns: list[URLPattern] = [
    path("invoices/", invoice_list, name="invoices"),
    path("invoices/<int:pk>/", checkout, name="checkout"),
    path("invoices/<int:pk>/lines/<int:line_id>/price", set_price, name="checkout_price"),
    path("invoices/<int:pk>/lines/<int:line_id>/remove", remove_line, name="checkout_remove"),
    path("invoices/<int:pk>/items", add_item, name="checkout_item"),
    path("invoices/<int:pk>/discount", add_discount, name="checkout_discount"),
    path("invoices/<int:pk>/tip", add_tip, name="checkout_tip"),
    path("invoices/<int:pk>/issue", issue, name="checkout_issue"),
    path("invoices/<int:pk>/pay", pay, name="checkout_pay"),
    path("invoices/<int:pk>/void", void, name="checkout_void"),
    path("invoices/<int:pk>/receipt", receipt, name="receipt"),
    path("appointments/<int:pk>/checkout", visit_checkout, name="visit_checkout"),
    path("appointments/<int:pk>/invoice", visit_section, name="visit_invoice"),
]
