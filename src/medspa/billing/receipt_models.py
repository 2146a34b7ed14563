"""Each e-mail of an invoice or receipt: to whom, by whom, when, and whether it left."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from medspa.billing.models import Invoice
from medspa.core.models import Organization


class SendingStatus(models.TextChoices):
    # Recorded; the e-mail is handed to the mail server once the record commits.
    PENDING = "pending", "Queued"
    # Claimed by the one delivery that talks to the mail server.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not sent"


class ReceiptSending(models.Model):
    """One e-mail of an invoice's PDF (a receipt once paid) to one address."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="sendings")
    to_email = models.EmailField(max_length=254)
    # "receipt" or "invoice": what the PDF was called when it went.
    document = models.CharField(max_length=10)
    status = models.CharField(
        max_length=10, choices=SendingStatus.choices, default=SendingStatus.PENDING
    )
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why the mail server refused, as staff can read it (never the whole traceback).
    failure = models.CharField(max_length=300, blank=True)
    # The form's token or the API's Idempotency-Key: a double click sends once.
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                name="receiptsending_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["invoice", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.document} {self.invoice_id} to {self.to_email}: {self.status}"
