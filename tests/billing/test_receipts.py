"""Sending a receipt by e-mail: the PDF attached, after the commit, recorded with its outcome,
once per key, never to a client who declined e-mail about their account; the API route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client as HttpClient

from medspa.billing import receipts
from medspa.billing.receipt_models import ReceiptSending, SendingStatus
from medspa.clients.services import record_communication_consent
from medspa.core.errors import Conflict, Invalid
from medspa.core.models import AuditEvent, Role, User
from tests.billing.helpers import signed_visit
from tests.billing.refund_helpers import issued, paid
from tests.conftest import Clinic

Caller = Callable[[User], HttpClient]


def test_the_desk_sends_the_receipt_once_after_the_commit(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = paid(clinic)
    desk = clinic.users[Role.FRONT_DESK]

    with django_capture_on_commit_callbacks(execute=True):
        first = receipts.send_receipt(invoice=invoice, actor=desk, idempotency_key="tap-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = receipts.send_receipt(invoice=invoice, actor=desk, idempotency_key="tap-1")

    assert len(mail.outbox) == 1 and again.replayed and again.sending.pk == first.sending.pk
    message = mail.outbox[0]
    assert message.to == [invoice.client.email]
    assert f"receipt {invoice.display_number}" in message.subject
    name, pdf, kind = message.attachments[0]
    assert name == f"receipt-{invoice.number:06d}.pdf" and kind == "application/pdf"
    assert pdf.startswith(b"%PDF-")
    sent = ReceiptSending.objects.get()
    assert (sent.status, sent.requested_by, sent.document) == (SendingStatus.SENT, desk, "receipt")
    assert sent.sent_at is not None
    assert AuditEvent.objects.filter(action="billing.receipt_sent").count() == 1


def test_nothing_leaves_before_the_commit(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = paid(clinic)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        requested = receipts.send_receipt(invoice=invoice, actor=None, idempotency_key="k")

    assert requested.sending.status == SendingStatus.PENDING and mail.outbox == []
    assert len(pending) == 1


def test_a_failed_send_is_kept_with_its_reason_and_can_be_sent_again(
    clinic: Clinic, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = paid(clinic)
    settings.EMAIL_BACKEND = "tests.billing.test_receipts.RefusingBackend"

    with django_capture_on_commit_callbacks(execute=True):
        failed = receipts.send_receipt(invoice=invoice, actor=None, idempotency_key="k1")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        retried = receipts.send_receipt(invoice=invoice, actor=None, idempotency_key="k2")

    failed.sending.refresh_from_db()
    retried.sending.refresh_from_db()
    assert failed.sending.status == SendingStatus.FAILED
    assert "Mailbox unavailable" in failed.sending.failure
    assert retried.sending.status == SendingStatus.SENT and len(mail.outbox) == 1
    assert receipts.deliver(failed.sending.pk) is not None and len(mail.outbox) == 1


class RefusingBackend:
    def __init__(self, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise OSError("550 Mailbox unavailable")


def test_a_typed_address_and_an_unpaid_invoice_go_as_an_invoice(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = issued(clinic)

    with django_capture_on_commit_callbacks(execute=True):
        receipts.send_receipt(
            invoice=invoice, actor=None, idempotency_key="k", to_email="work@example.org"
        )

    assert mail.outbox[0].to == ["work@example.org"]
    assert mail.outbox[0].attachments[0][0] == f"invoice-{invoice.number:06d}.pdf"
    assert "Balance due: 450.00 USD" in mail.outbox[0].body


def test_refusals_send_nothing_and_record_nothing(clinic: Clinic) -> None:
    draft = signed_visit(clinic)
    invoice = paid(clinic, hour=13)
    record_communication_consent(
        organization=clinic.organization,
        actor=None,
        client=invoice.client,
        channel="email",
        purpose="transactional",
        granted=False,
        source="in person",
    )

    with pytest.raises(Conflict):
        receipts.send_receipt(invoice=draft, actor=None, idempotency_key="a")
    with pytest.raises(Invalid) as declined:
        receipts.send_receipt(invoice=invoice, actor=None, idempotency_key="b")
    with pytest.raises(Invalid) as malformed:
        receipts.send_receipt(invoice=invoice, actor=None, idempotency_key="c", to_email="nope")
    with pytest.raises(Invalid) as reserved:
        receipts.send_receipt(invoice=invoice, actor=None, idempotency_key="medspa-internal:x")

    assert declined.value.code == "email_declined"
    assert malformed.value.errors[0].field == "to_email"
    assert reserved.value.errors[0].field == "Idempotency-Key"
    assert ReceiptSending.objects.count() == 0 and mail.outbox == []


def test_the_send_route_needs_a_key_and_keeps_to_the_organization(
    clinic: Clinic,
    outsider: Clinic,
    api_as: Caller,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    invoice = paid(clinic)
    billing = api_as(clinic.users[Role.BILLING])
    url = f"/api/v1/invoices/{invoice.pk}/send"

    no_key = billing.post(url, {}, content_type="application/json")
    with django_capture_on_commit_callbacks(execute=True):
        sent = billing.post(url, {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s1")
        again = billing.post(url, {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s1")
    foreign = api_as(outsider.users[Role.OWNER]).post(
        url, {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s2"
    )
    provider = api_as(clinic.users[Role.PROVIDER]).post(
        url, {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s3"
    )

    assert no_key.status_code == 422
    assert sent.status_code == 201 and again.status_code == 200
    assert foreign.status_code == 404 and provider.status_code == 403
    assert len(mail.outbox) == 1
    with django_assert_max_num_queries(8):
        listed = billing.get(f"/api/v1/invoices/{invoice.pk}/sendings").json()
    assert [(s["to_email"], s["status"]) for s in listed["items"]] == [
        (invoice.client.email, "sent")
    ]
