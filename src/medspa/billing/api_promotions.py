"""Promotion codes, codes on invoices, the referral programme and who referred a client.

Thin routes over billing.promotions and billing.referrals. A record is looked up in the
caller's organization before the role is checked: another organization's id answers 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import StrictBool, StrictInt

from medspa.billing import promotions, referrals
from medspa.billing.api import InvoiceOut, _caller, _detail, _invoice
from medspa.billing.promotion_models import PromotionCode, Referral, ReferralProgramme
from medspa.clients.models import Client
from medspa.core.permissions import require
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, Name, ShortText, staff

router = Router(tags=["promotions"])

MAX_PAGE = 500


class PromotionIn(Schema):
    code: Name
    description: ShortText = ""
    percent_bp: StrictInt | None = None
    amount_cents: StrictInt | None = None
    applies_to: Name = "all"
    tax_category: Name = ""
    valid_from: date | None = None
    valid_until: date | None = None
    minimum_spend_cents: StrictInt = 0
    max_redemptions: StrictInt | None = None
    once_per_client: StrictBool = True


class PromotionChangeIn(Schema):
    description: ShortText | None = None
    is_active: StrictBool | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    minimum_spend_cents: StrictInt | None = None
    max_redemptions: StrictInt | None = None
    once_per_client: StrictBool | None = None


class PromotionOut(Schema):
    id: int
    code: str
    description: str
    offer: str
    percent_bp: int | None
    amount_cents: int | None
    applies_to: str
    tax_category: str
    valid_from: date | None
    valid_until: date | None
    minimum_spend_cents: int
    max_redemptions: int | None
    once_per_client: bool
    is_active: bool
    used_count: int
    created_at: datetime


class CodeIn(Schema):
    code: Name


class ProgrammeIn(Schema):
    is_active: StrictBool
    referrer_credit_cents: StrictInt
    first_visit_percent_bp: StrictInt | None = None


class ProgrammeOut(Schema):
    is_active: bool
    referrer_credit_cents: int
    first_visit_percent_bp: int | None
    currency: str


class ReferrerIn(Schema):
    referrer: int


class ReferralOut(Schema):
    client: int
    referrer: int
    referrer_name: str
    recorded_at: datetime
    granted_cents: int
    granted_at: datetime | None


def _promotion_out(promotion: PromotionCode, currency: str) -> dict[str, Any]:
    fields = {
        name: getattr(promotion, name) for name in PromotionOut.model_fields if name != "offer"
    }
    return {**fields, "offer": promotions.describe(promotion, currency)}


def _programme_out(programme: ReferralProgramme, currency: str) -> dict[str, Any]:
    return {
        "is_active": programme.is_active,
        "referrer_credit_cents": programme.referrer_credit_cents,
        "first_visit_percent_bp": programme.first_visit_percent_bp,
        "currency": currency,
    }


def _referral_out(referral: Referral) -> dict[str, Any]:
    return {
        "client": referral.client_id,
        "referrer": referral.referrer_id,
        "referrer_name": str(referral.referrer),
        "recorded_at": referral.recorded_at,
        "granted_cents": referral.granted_cents,
        "granted_at": referral.granted_at,
    }


# --- codes --------------------------------------------------------------------------------


@router.get("/promotion-codes", response=ListOut[PromotionOut])
def list_promotion_codes(request: HttpRequest) -> dict[str, Any]:
    """The organization's promotion codes, active first (the desk sees them; managers change)."""
    who = staff(request, "billing.view")
    currency = who.organization.currency
    items = [
        _promotion_out(p, currency) for p in promotions.promotion_codes(who.organization)[:MAX_PAGE]
    ]
    return {"items": items, "count": len(items)}


@router.post("/promotion-codes", response={201: PromotionOut})
def create_promotion_code(request: HttpRequest, payload: PromotionIn) -> Status[dict[str, Any]]:
    """A new code: percent (basis points) or amount, what it covers, dates, limits."""
    who = staff(request, "promotions.manage")
    promotion = promotions.create_promotion_code(
        organization=who.organization, actor=who.user, **payload.model_dump()
    )
    return Status(201, _promotion_out(promotion, who.organization.currency))


@router.patch("/promotion-codes/{code_id}", response=PromotionOut)
def change_promotion_code(
    request: HttpRequest, code_id: int, payload: PromotionChangeIn
) -> dict[str, Any]:
    """Deactivate or reactivate a code, or change its dates, limits and description."""
    who = _caller(request)
    promotion = promotions.promotion_of(who.organization, code_id)
    require(who.user, "promotions.manage")
    changes = payload.model_dump(exclude_unset=True)
    promotion = promotions.update_promotion_code(promotion=promotion, actor=who.user, **changes)
    return _promotion_out(promotion, who.organization.currency)


@router.post("/invoices/{invoice_id}/promotion", response={201: InvoiceOut})
def apply_promotion_code(request: HttpRequest, invoice_id: int, payload: CodeIn) -> Status[Any]:
    """Apply a promotion code on a draft: a discount line naming the code, counted at once."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    promotions.apply_promotion_code(invoice=invoice, actor=who.user, code=payload.code)
    return Status(201, _detail(who, invoice))


@router.delete("/invoices/{invoice_id}/promotion/{line_id}", response=InvoiceOut)
def remove_promotion_code(request: HttpRequest, invoice_id: int, line_id: int) -> Any:
    """Take a code off a draft; its use is freed."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    promotions.remove_promotion(invoice=invoice, line_id=line_id, actor=who.user)
    return _detail(who, invoice)


@router.post("/invoices/{invoice_id}/referral-discount", response={201: InvoiceOut})
def add_first_visit_discount(request: HttpRequest, invoice_id: int) -> Status[Any]:
    """The referred client's first-visit discount, as the referral programme offers it."""
    who = _caller(request)
    invoice = _invoice(who, invoice_id, "billing.checkout")
    referrals.add_first_visit_discount(invoice=invoice, actor=who.user)
    return Status(201, _detail(who, invoice))


# --- referrals ----------------------------------------------------------------------------


@router.get("/referral-programme", response=ProgrammeOut)
def get_referral_programme(request: HttpRequest) -> dict[str, Any]:
    who = staff(request, "billing.view")
    programme = referrals.referral_programme(who.organization)
    return _programme_out(programme, who.organization.currency)


@router.put("/referral-programme", response=ProgrammeOut)
def set_referral_programme(request: HttpRequest, payload: ProgrammeIn) -> dict[str, Any]:
    """Turn the referral programme on or off; the referrer's credit in cents (0 for none)."""
    who = staff(request, "promotions.manage")
    programme = referrals.set_referral_programme(
        organization=who.organization, actor=who.user, **payload.model_dump()
    )
    return _programme_out(programme, who.organization.currency)


@router.put("/clients/{client_id}/referred-by", response={201: ReferralOut})
def set_referred_by(request: HttpRequest, client_id: int, payload: ReferrerIn) -> Status[Any]:
    """Record the client who referred this one (once; not themselves; no circle)."""
    who = _caller(request)
    client = get_owned(Client, organization=who.organization, pk=client_id, field="client")
    referrer = get_owned(
        Client, organization=who.organization, pk=payload.referrer, field="referrer"
    )
    require(who.user, "clients.update")
    referral = referrals.set_referrer(client=client, referrer=referrer, actor=who.user)
    return Status(201, _referral_out(referral))
