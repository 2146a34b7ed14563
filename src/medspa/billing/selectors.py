"""Reads of billing, always scoped to one organization."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from medspa.billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment
from medspa.clients.models import Client
from medspa.core.errors import Invalid
from medspa.core.models import Organization
from medspa.core.selectors import get_owned


def invoices_for(
    organization: Organization, *, client: Client | None = None, status: str | None = None
) -> QuerySet[Invoice]:
    """The organization's invoices, newest first; narrowed to a client or a status."""
    qs = Invoice.objects.filter(organization=organization).select_related("client", "location")
    if client is not None:
        qs = qs.filter(client=client)
    if status:
        if status not in InvoiceStatus.values:
            raise Invalid.on("status", f"Choose one of: {', '.join(InvoiceStatus.values)}.")
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def invoice_of(organization: Organization, pk: Any) -> Invoice:
    """One invoice of the organization, or 404."""
    return get_owned(
        Invoice.objects.select_related("organization", "location", "client"),
        organization=organization,
        pk=pk,
        field="invoice",
        label="invoice",
    )


def invoice_detail(organization: Organization, pk: Any) -> Invoice:
    """An invoice with its lines (and their providers) and payments, in a fixed few queries."""
    return get_owned(
        Invoice.objects.select_related("location", "client").prefetch_related(
            Prefetch(
                "lines",
                queryset=InvoiceLine.objects.select_related("provider").order_by("position"),
            ),
            Prefetch("payments", queryset=Payment.objects.order_by("received_at", "split_index")),
        ),
        organization=organization,
        pk=pk,
        field="invoice",
        label="invoice",
    )


def account_credit_available(client: Client) -> int:
    """The client's account credit in cents: granted by refunds, less what was spent."""
    from medspa.billing.refunds import credit_balance

    return max(credit_balance(client), 0)
