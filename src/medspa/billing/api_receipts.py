"""Invoice and receipt PDFs, sending them by e-mail, and the clinic's identity printed on them.

As in billing/api.py, the record is looked up in the caller's organization before the role
is checked: another organization's id answers 404, one's own record 403 for a role that may
not act on it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import EmailStr

from medspa.billing import receipt_pdf, receipts
from medspa.billing.api import _caller, _invoice
from medspa.billing.receipt_models import ReceiptSending
from medspa.core.errors import Invalid
from medspa.core.identity import update_billing_identity, update_location_tax_number
from medspa.core.models import Location, Organization
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import IdempotencyKey, ListOut, staff

router = Router(tags=["billing"])


class SendIn(Schema):
    # Blank: the client's address on file.
    to_email: EmailStr | None = None


class SendingOut(Schema):
    id: int
    invoice: int
    to_email: str
    document: str
    status: str
    requested_at: datetime
    requested_by: str
    sent_at: datetime | None
    failure: str

    @staticmethod
    def resolve_invoice(obj: ReceiptSending) -> int:
        return obj.invoice_id

    @staticmethod
    def resolve_requested_by(obj: ReceiptSending) -> str:
        return str(obj.requested_by) if obj.requested_by_id and obj.requested_by else ""


class IdentityIn(Schema):
    legal_name: str | None = None
    tax_number_label: str | None = None
    tax_number: str | None = None


class IdentityOut(Schema):
    name: str
    legal_name: str
    tax_number_label: str
    tax_number: str


class LocationTaxIn(Schema):
    tax_number_label: str | None = None
    tax_number: str | None = None


class LocationTaxOut(Schema):
    id: int
    name: str
    tax_number_label: str
    tax_number: str


def pdf_response(document: receipt_pdf.Document, pdf: bytes, *, download: bool) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    how = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{how}; filename="{receipt_pdf.filename(document)}"'
    # Money and a client's name: never kept by a shared cache or the browser's back button.
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/invoices/{invoice_id}/pdf", response={200: None})
def invoice_pdf(request: HttpRequest, invoice_id: int, download: bool = False) -> HttpResponse:
    """The invoice as a PDF (a receipt once nothing is owed; a draft is marked DRAFT)."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.view")
    document, pdf = receipt_pdf.audited_pdf(
        who.organization, invoice.pk, actor=who.user, purpose="api"
    )
    return pdf_response(document, pdf, download=download)


@router.post("/invoices/{invoice_id}/send", response={201: SendingOut, 200: SendingOut})
def send_invoice(
    request: HttpRequest, invoice_id: int, payload: SendIn, idempotency_key: IdempotencyKey
) -> HttpResponse:
    """E-mail the PDF to the client (or `to_email`); send an Idempotency-Key.

    201 with the sending and its outcome (`sent`, or `failed` with the reason); a replay with
    the same key answers 200 with the first sending and sends nothing.
    """
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.send")
    if not idempotency_key:
        raise Invalid.on("Idempotency-Key", "Send an Idempotency-Key header: a retry sends once.")
    requested = receipts.send_receipt(
        invoice=invoice,
        actor=who.user,
        idempotency_key=idempotency_key,
        to_email=str(payload.to_email) if payload.to_email else None,
    )
    body = SendingOut.from_orm(requested.sending).model_dump(mode="json")
    return HttpResponse(
        json.dumps(body),
        status=200 if requested.replayed else 201,
        content_type="application/json",
    )


@router.get("/invoices/{invoice_id}/sendings", response=ListOut[SendingOut])
def list_sendings(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    """Who sent the invoice where and when, and whether it left, newest first."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.view")
    items = list(receipts.sendings_of(invoice))
    return {"items": items, "count": len(items)}


def _identity(org: Organization) -> dict[str, str]:
    return {
        "name": org.name,
        "legal_name": org.legal_name,
        "tax_number_label": org.tax_number_label,
        "tax_number": org.tax_number,
    }


@router.get("/organization/billing-identity", response=IdentityOut)
def get_identity(request: HttpRequest) -> dict[str, str]:
    """The legal name and tax number printed on invoices and receipts."""
    who = staff(request, "billing.view")
    return _identity(who.organization)


@router.patch("/organization/billing-identity", response=IdentityOut)
def change_identity(request: HttpRequest, payload: IdentityIn) -> dict[str, str]:
    """Change the legal name or tax number (owners and managers); the change is audited."""
    who = staff(request, "billing.identity")
    org = update_billing_identity(
        organization=who.organization, actor=who.user, changes=payload.model_dump()
    )
    return _identity(org)


@router.patch("/locations/{location_id}/billing-identity", response=LocationTaxOut)
def change_location_tax_number(
    request: HttpRequest, location_id: int, payload: LocationTaxIn
) -> Location:
    """A location's own tax registration, printed on its invoices beside the organization's."""
    who = _caller(request)
    location = get_owned(Location, organization=who.organization, pk=location_id, field="location")
    require(who.user, "billing.identity")
    return update_location_tax_number(
        location=location, actor=who.user, changes=payload.model_dump()
    )
