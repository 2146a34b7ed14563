"""Money after checkout, on the invoice page: the PDF, "Send receipt" with who sent it where,
refunds (part or all, to a payment's tender or as account credit), credit notes, and the
client's account credit. Every write goes through billing's services.

Forms post with htmx: a refusal swaps the section back with the message next to its field
(422/409); success reloads the invoice page, whose totals and status have moved. Each form
carries a token used as its Idempotency-Key, so a double tap acts once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from medspa.billing import receipt_pdf, receipts, refunds
from medspa.billing.api_receipts import pdf_response
from medspa.billing.models import Invoice, InvoiceStatus, Payment, RefundMethod
from medspa.billing.receipt_models import ReceiptSending, SendingStatus
from medspa.core.errors import DomainError
from medspa.core.idempotency import run_idempotent
from medspa.core.permissions import can
from medspa.core.web import Staff
from medspa.frontdesk.checkout_pages import (
    REFERENCE_LABELS,
    _act,
    _amount,
    _invoice,
    _posted,
    _refusal,
    _tender_label,
)
from medspa.frontdesk.views import page_staff
from medspa.ledger.exports import decimal_text

Errors = dict[str, dict[str, str]]

# Service field -> form field, for messages next to the field.
REFUND_FIELDS = {
    "amount_cents": "amount",
    "payment": "payment",
    "method": "method",
    "reason": "reason",
    "reference": "reference",
}
ISSUED = frozenset(refunds.ISSUED)


@dataclass(frozen=True)
class PaymentChoice:
    payment: Payment
    label: str
    refundable: str
    refundable_cents: int


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _choices(invoice: Invoice, refunded_by_payment: dict[int, int]) -> list[PaymentChoice]:
    """The payments money can go back to, with what is left on each (no query: prefetched)."""
    out = []
    for p in invoice.payments.all():
        if p.kind == refunds.CREDIT_NOTE_KIND:
            continue
        left = p.amount_cents - refunded_by_payment.get(p.pk, 0)
        ref = f" · ref {p.reference}" if p.kind in REFERENCE_LABELS and p.reference else ""
        out.append(
            PaymentChoice(
                payment=p,
                label=f"{_tender_label(p.kind)} {decimal_text(p.amount_cents, invoice.currency)}"
                f"{ref}",
                refundable=decimal_text(left, invoice.currency),
                refundable_cents=left,
            )
        )
    return out


def _sending_rows(invoice: Invoice) -> list[dict[str, Any]]:
    rows = []
    for s in receipts.sendings_of(invoice):
        rows.append(
            {
                "sending": s,
                "who": str(s.requested_by) if s.requested_by else "",
                "failed": s.status == SendingStatus.FAILED,
                "sent": s.status == SendingStatus.SENT,
            }
        )
    return rows


def desk_money_context(
    who: Staff,
    invoice: Invoice,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """What the invoice page's PDF, sending and money-back sections show (about 7 queries)."""
    cur = invoice.currency
    values = values or {}
    issued = invoice.status in ISSUED
    given = list(refunds.refunds_of(invoice)) if issued else []
    notes = list(refunds.credit_notes_of(invoice)) if issued else []
    by_payment: dict[int, int] = {}
    for r in given:
        if r.payment_id is not None:
            by_payment[r.payment_id] = by_payment.get(r.payment_id, 0) + r.amount_cents
    paid = sum(p.amount_cents for p in invoice.payments.all() if p.kind != refunds.CREDIT_NOTE_KIND)
    refunded = sum(r.amount_cents for r in given)
    may_refund = can(who.user, "billing.refund") and issued
    credit = refunds.credit_balance(invoice.client) if issued else 0
    return {
        "desk": {
            "issued": issued,
            "may_send": can(who.user, "billing.send") and issued,
            "may_refund": may_refund,
            "sendings": _sending_rows(invoice) if issued else [],
            "send_key": values.get("send_key") or uuid.uuid4().hex,
            "send_to": values.get("to_email", invoice.client.email),
            "document": "receipt" if invoice.balance_cents == 0 else "invoice",
            "refunds": [
                {
                    "refund": r,
                    "to": "Account credit"
                    if r.tender == refunds.ACCOUNT_CREDIT
                    else _tender_label(r.tender),
                    "amount": decimal_text(r.amount_cents, cur),
                }
                for r in given
            ],
            "credit_notes": [
                {
                    "note": n,
                    "amount": decimal_text(n.amount_cents, cur),
                    "applied": decimal_text(n.applied_cents, cur),
                }
                for n in notes
            ],
            "choices": _choices(invoice, by_payment) if may_refund else [],
            "refundable": decimal_text(paid - refunded, cur),
            "refundable_cents": paid - refunded,
            "owing": invoice.status == InvoiceStatus.PARTIALLY_PAID,
            "credit": decimal_text(credit, cur),
            "credit_cents": credit,
            "refund_key": values.get("refund_key") or uuid.uuid4().hex,
            "note_key": values.get("note_key") or uuid.uuid4().hex,
            "errors": errors or {},
            "values": values,
            "notice": notice,
            "methods": RefundMethod.choices,
        }
    }


def _section(
    request: HttpRequest,
    who: Staff,
    invoice: Invoice,
    template: str,
    *,
    status: int = 200,
    **kwargs: Any,
) -> HttpResponse:
    context = {
        "invoice": invoice,
        "currency": invoice.currency,
        "zone": invoice.location.time_zone,
        **desk_money_context(who, invoice, **kwargs),
    }
    return render(request, template, context, status=status)


def _done(
    request: HttpRequest, who: Staff, invoice: Invoice, notice: str, anchor: str
) -> HttpResponse:
    """Success: the invoice page again (its totals, status and lists all moved).

    With htmx, the page's <main> is swapped in place and scrolled to the section: a redirect
    to the same page with only a #fragment would not reload it.
    """
    messages.success(request, notice)
    if _is_htmx(request):
        from medspa.frontdesk.checkout_pages import _checkout_page

        response = _checkout_page(request, who, _invoice(who, invoice.pk))
        response["HX-Retarget"] = "main"
        response["HX-Reselect"] = "main"
        response["HX-Reswap"] = f"outerHTML show:#{anchor}:top"
        return response
    return redirect(f"{reverse('frontdesk:checkout', args=[invoice.pk])}#{anchor}")


def _refused(
    request: HttpRequest,
    who: Staff,
    invoice: Invoice,
    form: str,
    errors: dict[str, str],
    given: Any,
) -> HttpResponse:
    """A refusal: the money-back section with the messages next to the fields (the whole
    page without htmx), changing nothing."""
    if _is_htmx(request):
        return _section(
            request,
            who,
            invoice,
            "frontdesk/checkout/_money_back.html",
            status=422,
            errors={form: errors},
            values=given,
        )
    from medspa.frontdesk.checkout_pages import _checkout_page

    return _checkout_page(request, who, invoice, errors={form: errors}, values=given, status=422)


# --- the PDF --------------------------------------------------------------------------------


@login_required
@require_GET
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice or receipt as a PDF in the browser (to print or save); audited."""
    who = page_staff(request, "billing.view")
    invoice = _invoice(who, pk)
    document, pdf = receipt_pdf.audited_pdf(
        who.organization, invoice.pk, actor=who.user, purpose="page"
    )
    return pdf_response(document, pdf, download=request.GET.get("download") == "1")


# --- send receipt ----------------------------------------------------------------------------


@login_required
@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """E-mail the PDF; the section comes back with "Sent to … at …" or why it was not."""
    who, invoice = _act(request, pk, "billing.send")
    given = _posted(request, "to_email", "send_key")
    errors: dict[str, str] = {}
    notice = ""
    try:
        requested = receipts.send_receipt(
            invoice=invoice,
            actor=who.user,
            idempotency_key=given["send_key"],
            to_email=given["to_email"] or None,
        )
    except DomainError as refusal:
        errors = _refusal(refusal, {"to_email": "to_email"})
    else:
        sending: ReceiptSending = requested.sending
        sending.refresh_from_db()
        if sending.status == SendingStatus.SENT:
            notice = f"Sent to {sending.to_email}."
        elif sending.status == SendingStatus.FAILED:
            errors = {"all": f"Not sent to {sending.to_email}: {sending.failure}"}
        else:
            notice = f"Sending to {sending.to_email}…"
        # The next tap is a new request: a fresh token (a failure may be sent again).
        given = {"to_email": given["to_email"]}
    status = 422 if errors and not notice and "all" not in errors else 200
    if not _is_htmx(request):
        if errors:
            messages.error(request, errors.get("to_email") or errors.get("all", ""))
        else:
            messages.success(request, notice)
        return redirect(f"{reverse('frontdesk:checkout', args=[invoice.pk])}#receipt-send")
    return _section(
        request,
        who,
        invoice,
        "frontdesk/checkout/_receipt_send.html",
        status=status,
        errors={"send": errors},
        values=given,
        notice=notice,
    )


# --- refunds and credit notes ----------------------------------------------------------------


def _payment_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


@login_required
@require_POST
def refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Give back part or all of a payment, to its tender or as account credit."""
    who, invoice = _act(request, pk, "billing.refund")
    given = _posted(request, "refund_key", "payment", "method", "amount", "reason", "reference")
    given["form"] = "refund"
    cents = _amount(given["amount"], invoice.currency)
    if cents is None or cents == 0:
        errors = {"amount": "Give the amount to give back, e.g. 50.00."}
        return _refused(request, who, invoice, "refund", errors, given)
    try:
        taken = refunds.refund_invoice(
            invoice=invoice,
            amount_cents=cents,
            method=given["method"] or RefundMethod.ORIGINAL,
            payment_id=_payment_id(given["payment"]),
            reason=given["reason"],
            reference=given["reference"],
            idempotency_key=given["refund_key"],
            actor=who.user,
        )
    except DomainError as refusal:
        errors = _refusal(refusal, REFUND_FIELDS)
        return _refused(request, who, invoice, "refund", errors, given)
    r = taken.refund
    how = (
        "as account credit"
        if r.tender == refunds.ACCOUNT_CREDIT
        else "to " + _tender_label(r.tender).lower()
    )
    amount = decimal_text(r.amount_cents, invoice.currency)
    notice = f"Refunded {amount} {how}." if not taken.replayed else f"Already refunded: {amount}."
    return _done(request, who, invoice, notice, "money-back")


@login_required
@require_POST
def credit_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct an issued invoice by an amount with its reason; the invoice stays as issued."""
    who, invoice = _act(request, pk, "billing.refund")
    given = _posted(request, "note_key", "payment", "method", "amount", "reason", "reference")
    given["form"] = "note"
    cents = _amount(given["amount"], invoice.currency)
    if cents is None or cents == 0:
        errors = {"amount": "Give the amount to credit, e.g. 25.00."}
        return _refused(request, who, invoice, "note", errors, given)

    def act() -> tuple[int, dict[str, Any]]:
        note = refunds.issue_credit_note(
            invoice=invoice,
            amount_cents=cents,
            reason=given["reason"],
            method=given["method"] or None,
            payment_id=_payment_id(given["payment"]),
            reference=given["reference"],
            actor=who.user,
        )
        return 201, {"number": note.display_number, "amount_cents": note.amount_cents}

    try:
        _, body = run_idempotent(
            organization=who.organization,
            key=given["note_key"] or uuid.uuid4().hex,
            scope=f"page-credit-note:{invoice.pk}",
            payload={k: v for k, v in given.items() if k != "note_key"},
            action=act,
        )
    except DomainError as refusal:
        errors = _refusal(refusal, REFUND_FIELDS)
        return _refused(request, who, invoice, "note", errors, given)
    amount = decimal_text(int(body["amount_cents"]), invoice.currency)
    return _done(
        request, who, invoice, f"Credit note {body['number']} issued: {amount}.", "money-back"
    )


urlpatterns: list[URLPattern] = [
    path("invoices/<int:pk>/pdf", invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/send", send, name="invoice_send"),
    path("invoices/<int:pk>/refund", refund, name="invoice_refund"),
    path("invoices/<int:pk>/credit-note", credit_note, name="invoice_credit_note"),
]
