"""Sending an invoice or receipt by e-mail, with its PDF attached, and the record of each sending.

A receipt is a transactional message (about the client's own account), like visit links and
aftercare: it goes to the address on file or to one the desk types, unless the client's latest
decision refuses e-mail about their visits and account; then they get a printout until staff
record their consent again. Marketing consent plays no part.

The sending is recorded first, then handed to the mail server once that record commits, and
never inside a transaction: a slow mail server holds no lock, and a failure is kept on the
row ("Not sent: …") for the desk to see and send again. A form token or Idempotency-Key names
each request, so a double click or a retried call sends once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from medspa.billing.models import Invoice, InvoiceStatus
from medspa.billing.receipt_models import ReceiptSending, SendingStatus
from medspa.billing.receipt_pdf import Document, audited_pdf, filename
from medspa.billing.services import _event, _text, client_key
from medspa.clients.models import Channel, Client, Purpose
from medspa.clients.selectors import current_consents
from medspa.core.errors import Conflict, FieldError, Invalid
from medspa.core.models import User
from medspa.ledger.exports import decimal_text

log = logging.getLogger(__name__)

SENDINGS_SHOWN = 20


@dataclass(frozen=True)
class SendRequested:
    sending: ReceiptSending
    replayed: bool


def sendings_of(invoice: Invoice, limit: int = SENDINGS_SHOWN) -> QuerySet[ReceiptSending]:
    """The invoice's sendings, newest first (the invoice was looked up in its organization)."""
    return (
        ReceiptSending.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")[:limit]
    )


def _address(invoice: Invoice, typed: str | None) -> str:
    address = _text(typed, "to_email", required=False, limit=254) or invoice.client.email.strip()
    if not address:
        raise Invalid.on("to_email", "This client has no e-mail address on file: type one.")
    try:
        validate_email(address)
    except ValidationError:
        raise Invalid.on("to_email", "Give an e-mail address, e.g. name@example.com.") from None
    return address


def _declined(client: Client) -> bool:
    """Whether the client's latest decision refuses e-mail about their visits and account.

    With no decision, the transactional default holds (clients.selectors.current_consents):
    assumed for an address on file, and an address the client gives the desk now counts as
    given, so a receipt may go to it.
    """
    return any(
        state.source != "default" and not state.granted
        for state in current_consents(client)
        if (state.channel, state.purpose) == (Channel.EMAIL, Purpose.TRANSACTIONAL)
    )


def send_receipt(
    *,
    invoice: Invoice,
    actor: User | None,
    idempotency_key: str,
    to_email: str | None = None,
    now: datetime | None = None,
) -> SendRequested:
    """E-mail the invoice's PDF (a receipt once paid) to the client or to the address typed.

    Recorded in one transaction; the e-mail leaves once that commits (see `deliver`). The
    same key again returns the first sending and sends nothing; the key with another invoice
    or address is refused. Refused too: a draft or void invoice, no or a malformed address,
    a client who declined e-mail about their visits and account.
    """
    now = now or timezone.now()
    key = client_key(idempotency_key)
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        state = "is a draft: issue it first" if invoice.is_draft else "is void"
        raise Conflict(
            f"Invoice {invoice.display_number} {state}; nothing was sent.",
            [FieldError("to_email", "Only an issued invoice is sent.")],
            code="invoice_not_sendable",
        )
    address = _address(invoice, to_email)
    if _declined(invoice.client):
        raise Invalid.on(
            "to_email",
            "The client declined e-mail about their visits and account: print the receipt, or "
            "record their consent to e-mail on their record first.",
            code="email_declined",
        )
    with transaction.atomic():
        earlier = ReceiptSending.objects.filter(
            organization_id=invoice.organization_id, idempotency_key=key
        ).first()
        if earlier is not None:
            if earlier.invoice_id != invoice.pk or earlier.to_email != address:
                raise Invalid.on(
                    "Idempotency-Key",
                    "This key was already used to send something else.",
                    code="idempotency_key_reused",
                )
            return SendRequested(earlier, replayed=True)
        try:
            with transaction.atomic():
                sending = ReceiptSending.objects.create(
                    organization_id=invoice.organization_id,
                    invoice=invoice,
                    to_email=address,
                    document="receipt" if invoice.balance_cents == 0 else "invoice",
                    requested_at=now,
                    requested_by=actor,
                    idempotency_key=key,
                )
        except IntegrityError:  # the same key at the same moment: the other request sends
            raise Conflict(
                "This receipt is being sent; look again in a moment.",
                [FieldError("Idempotency-Key", "Retry in a moment.")],
                code="idempotency_in_progress",
            ) from None
        _event(
            invoice,
            actor,
            "receipt_send_requested",
            sending=sending.pk,
            to=address,
            document=sending.document,
        )
        sending_id = sending.pk
        # After the commit: the mail server is never talked to inside a transaction.
        transaction.on_commit(lambda: deliver(sending_id))
    sending.refresh_from_db()
    return SendRequested(sending, replayed=False)


def _message(document: Document, to: str) -> EmailMessage:
    invoice, clinic = document.invoice, document.organization.name
    client = invoice.client
    name = client.preferred_name or client.first_name
    cur = invoice.currency
    word = "receipt" if document.kind == "receipt" else "invoice"
    owed = (
        f"Balance due: {decimal_text(invoice.balance_cents, cur)} {cur}.\n\n"
        if invoice.balance_cents
        else "Nothing is owed: thank you for your payment.\n\n"
    )
    body = (
        f"Hello {name},\n\n"
        f"Your {word} {invoice.display_number} from {clinic} ({invoice.location.name}) is "
        "attached as a PDF.\n\n"
        f"Total: {decimal_text(invoice.total_cents, cur)} {cur}. {owed}"
        "If anything on it looks wrong, reply to this e-mail or call us.\n\n"
        f"{clinic}\n"
    )
    message = EmailMessage(
        subject=f"Your {word} {invoice.display_number} from {clinic}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    return message


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"The mail server did not take it: {text}"[:300]


def deliver(sending_id: int) -> ReceiptSending | None:
    """Hand one recorded sending to the mail server and record the outcome; never raises.

    Claimed with a conditional update, so a sending is delivered at most once however often
    this runs. Called after the request's commit; safe for a worker to call too.
    """
    claimed = ReceiptSending.objects.filter(pk=sending_id, status=SendingStatus.PENDING).update(
        status=SendingStatus.SENDING
    )
    sending = (
        ReceiptSending.objects.select_related("organization", "requested_by")
        .filter(pk=sending_id)
        .first()
    )
    if not claimed or sending is None:
        return sending
    failure = ""
    try:
        document, pdf = audited_pdf(
            sending.organization, sending.invoice_id, actor=sending.requested_by, purpose="email"
        )
        message = _message(document, sending.to_email)
        message.attach(filename(document), pdf, "application/pdf")
        message.send(fail_silently=False)
    except Exception as error:  # any mail backend failure: SMTP, DNS, socket, timeout
        log.warning("Receipt sending %s not sent: %s", sending_id, error)
        failure = _reason(error)
    with transaction.atomic():
        sending.status = SendingStatus.FAILED if failure else SendingStatus.SENT
        sending.failure = failure
        sending.sent_at = None if failure else timezone.now()
        sending.save(update_fields=["status", "failure", "sent_at"])
        invoice = Invoice.objects.select_related("organization").get(pk=sending.invoice_id)
        _event(
            invoice,
            sending.requested_by,
            "receipt_not_sent" if failure else "receipt_sent",
            sending=sending.pk,
            to=sending.to_email,
            failure=failure,
        )
    return sending
