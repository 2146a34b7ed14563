"""Promotion codes: managers create and end them; the desk applies one on a draft invoice.

A code applied on a draft becomes a discount line (through the same arithmetic as any
discount: a percent of what it covers or an amount, spread to the cent over the lines it
covers, never below zero) and one redemption, counted at once against the code's limit with
the code's row locked, so two desks can never both take the last use. Removing the line or
voiding the invoice frees the redemption. See docs/decisions/0010.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from medspa.billing import money
from medspa.billing.models import CHARGE_KINDS, Invoice, InvoiceLine, LineKind, TaxCategory
from medspa.billing.promotion_models import (
    PromotionAppliesTo,
    PromotionCode,
    PromotionRedemption,
    RedemptionStatus,
    line_in_scope,
)
from medspa.billing.services import (
    MAX_LINE_CENTS,
    _event,
    _locked_draft,
    _next_position,
    _recalculate,
    _text,
)
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from medspa.core.models import Organization, User
from medspa.ledger.selectors import books_zone

# What a promotion's discount line names as its source (its id is the code's).
PROMOTION_SOURCE = "promotion_code"
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")
MAX_REDEMPTIONS = 1_000_000


def normalise_code(value: str | None) -> str:
    """A code as stored and compared: trimmed, upper-case; letters, digits, - and _."""
    text = (value or "").strip().upper()
    if not text:
        raise Invalid.on("code", "Enter the promotion code.")
    if not _CODE.match(text):
        raise Invalid.on("code", "A code is 2 to 40 letters, digits, '-' or '_', e.g. WELCOME10.")
    return text


def local_today(organization: Organization, now: datetime | None = None) -> date:
    """Today in the organization's zone (the books' zone), where a code's dates are read."""
    return (now or timezone.now()).astimezone(books_zone(organization)).date()


def promotion_codes(organization: Organization) -> QuerySet[PromotionCode]:
    """The organization's codes, active first, then by code."""
    return PromotionCode.objects.filter(organization=organization).order_by(
        "-is_active", "code", "id"
    )


def promotion_of(organization: Organization, pk: Any) -> PromotionCode:
    """One code of the organization, or 404."""
    try:
        return PromotionCode.objects.get(organization=organization, pk=int(pk))
    except (PromotionCode.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such promotion code.", [FieldError("code", "Not found.")]) from None


def describe(promotion: PromotionCode, currency: str) -> str:
    """What the code gives, in words: "10% off services only", "25.00 USD off"."""
    if promotion.percent_bp is not None:
        whole, part = divmod(promotion.percent_bp, 100)
        amount = f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "%"
    else:
        amount = money.format_cents(promotion.amount_cents or 0, currency)
    scope = {
        PromotionAppliesTo.ALL: "",
        PromotionAppliesTo.SERVICES: " services",
        PromotionAppliesTo.RETAIL: " retail",
    }.get(PromotionAppliesTo(promotion.applies_to))
    if scope is None:
        scope = f" {TaxCategory(promotion.tax_category).label.lower()}"
    return f"{amount} off{scope}"


# --- checks -------------------------------------------------------------------------------


def _positive(value: Any, field: str, *, limit: int, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if type(value) is not int or not 0 < value <= limit:
        raise Invalid.on(field, f"Give a whole number from 1 to {limit}.")
    return value


def _terms(
    *,
    percent_bp: Any,
    amount_cents: Any,
    applies_to: Any,
    tax_category: Any,
) -> tuple[int | None, int | None, str, str]:
    if (percent_bp is None) == (amount_cents is None):
        raise Invalid.on("percent_bp", "Give either a percent or an amount, not both.")
    if percent_bp is not None:
        _positive(percent_bp, "percent_bp", limit=money.BASIS_POINTS)
    else:
        _positive(amount_cents, "amount_cents", limit=MAX_LINE_CENTS)
    if applies_to not in PromotionAppliesTo.values:
        raise Invalid.on("applies_to", f"Choose one of: {', '.join(PromotionAppliesTo.values)}.")
    category = (tax_category or "").strip()
    if applies_to == PromotionAppliesTo.CATEGORY:
        if category not in TaxCategory.values:
            raise Invalid.on("tax_category", f"Choose one of: {', '.join(TaxCategory.values)}.")
    elif category:
        raise Invalid.on("tax_category", "A tax category goes with 'One tax category' only.")
    return percent_bp, amount_cents, str(applies_to), category


def _dates(valid_from: date | None, valid_until: date | None) -> None:
    if valid_from and valid_until and valid_until < valid_from:
        raise Invalid.on("valid_until", "The last day comes on or after the first day.")


def _minimum(value: Any) -> int:
    if value is None:
        return 0
    if type(value) is not int or not 0 <= value <= MAX_LINE_CENTS:
        raise Invalid.on("minimum_spend_cents", "Give the minimum spend in whole cents, or 0.")
    return value


def _promotion_event(
    promotion: PromotionCode, actor: User | None, action: str, **data: Any
) -> None:
    record_event(
        organization=promotion.organization,
        actor=actor,
        action=f"billing.{action}",
        object_type="promotion_code",
        object_id=promotion.pk,
        data={"code": promotion.code, **data},
    )


# --- managing codes -----------------------------------------------------------------------


def create_promotion_code(
    *,
    organization: Organization,
    actor: User | None,
    code: str,
    description: str = "",
    percent_bp: int | None = None,
    amount_cents: int | None = None,
    applies_to: str = PromotionAppliesTo.ALL,
    tax_category: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    minimum_spend_cents: int | None = 0,
    max_redemptions: int | None = None,
    once_per_client: bool = True,
) -> PromotionCode:
    """A new code, unique in the organization whatever its case; active at once."""
    text = normalise_code(code)
    about = _text(description, "description", required=False, limit=200)
    percent, amount, scope, category = _terms(
        percent_bp=percent_bp,
        amount_cents=amount_cents,
        applies_to=applies_to,
        tax_category=tax_category,
    )
    _dates(valid_from, valid_until)
    limit = _positive(max_redemptions, "max_redemptions", limit=MAX_REDEMPTIONS)
    minimum = _minimum(minimum_spend_cents)
    with transaction.atomic():
        if PromotionCode.objects.filter(organization=organization, code=text).exists():
            raise Conflict(
                f"There is already a code {text}.",
                [FieldError("code", f"{text} exists: deactivate it or choose another code.")],
                code="promotion_code_taken",
            )
        try:
            with transaction.atomic():
                promotion = PromotionCode.objects.create(
                    organization=organization,
                    code=text,
                    description=about,
                    percent_bp=percent,
                    amount_cents=amount,
                    applies_to=scope,
                    tax_category=category,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    minimum_spend_cents=minimum,
                    max_redemptions=limit,
                    once_per_client=bool(once_per_client),
                    created_by=actor,
                )
        except IntegrityError:  # the same code created at the same moment
            raise Conflict(
                f"There is already a code {text}.",
                [FieldError("code", f"{text} exists.")],
                code="promotion_code_taken",
            ) from None
        _promotion_event(
            promotion,
            actor,
            "promotion_created",
            percent_bp=percent,
            amount_cents=amount,
            applies_to=scope,
            tax_category=category,
            valid_from=valid_from.isoformat() if valid_from else None,
            valid_until=valid_until.isoformat() if valid_until else None,
            minimum_spend_cents=minimum,
            max_redemptions=limit,
            once_per_client=bool(once_per_client),
        )
    return promotion


# What a manager may change once a code exists. What it gives (percent or amount, scope) is
# fixed: invoices already carry it, so a different offer is a new code.
CHANGEABLE = (
    "description",
    "is_active",
    "valid_from",
    "valid_until",
    "minimum_spend_cents",
    "max_redemptions",
    "once_per_client",
)


def update_promotion_code(
    *, promotion: PromotionCode, actor: User | None, **changes: Any
) -> PromotionCode:
    """Deactivate or reactivate a code, or change its dates, limits and description."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise Invalid.on(sorted(unknown)[0], "This cannot change; create a new code instead.")
    with transaction.atomic():
        current = PromotionCode.objects.select_for_update(of=("self",)).get(pk=promotion.pk)
        if "description" in changes:
            changes["description"] = _text(
                changes["description"], "description", required=False, limit=200
            )
        if "is_active" in changes and type(changes["is_active"]) is not bool:
            raise Invalid.on("is_active", "Give true or false.")
        if "once_per_client" in changes and type(changes["once_per_client"]) is not bool:
            raise Invalid.on("once_per_client", "Give true or false.")
        if "minimum_spend_cents" in changes:
            changes["minimum_spend_cents"] = _minimum(changes["minimum_spend_cents"])
        if "max_redemptions" in changes:
            limit = _positive(changes["max_redemptions"], "max_redemptions", limit=MAX_REDEMPTIONS)
            if limit is not None and limit < current.used_count:
                raise Invalid.on(
                    "max_redemptions",
                    f"{current.code} is already used {current.used_count} times; "
                    "the limit cannot be lower.",
                )
        _dates(
            changes.get("valid_from", current.valid_from),
            changes.get("valid_until", current.valid_until),
        )
        was = {name: getattr(current, name) for name in changes}
        for name, value in changes.items():
            setattr(current, name, value)
        current.save(update_fields=list(changes) or None)
        _promotion_event(
            current,
            actor,
            "promotion_changed",
            changes={
                name: [str(was[name]), str(value)]
                for name, value in changes.items()
                if was[name] != value
            },
        )
    return current


# --- on an invoice ------------------------------------------------------------------------


def _refuse(reason: str, code: str) -> DomainError:
    return Invalid.on("code", reason, code=code)


def apply_promotion_code(
    *, invoice: Invoice, actor: User | None, code: str, now: datetime | None = None
) -> InvoiceLine:
    """Put a code's discount on a draft, counting one redemption; refused with the reason.

    Refused, with nothing changed: an unknown or inactive code, one not yet valid or expired
    (dates in the organization's zone), one used up, one this client already used (when
    once per client), a spend below its minimum on what it covers, nothing it covers.
    """
    text = normalise_code(code)
    with transaction.atomic():
        current = _locked_draft(invoice)
        organization = current.organization
        # The code's row is locked (after the invoice's, always in this order) so its count
        # and the client's earlier uses are read and written by one desk at a time.
        promotion = (
            PromotionCode.objects.select_for_update(of=("self",))
            .filter(organization_id=current.organization_id, code=text)
            .first()
        )
        if promotion is None:
            raise _refuse(f"There is no promotion code {text}.", "promotion_unknown")
        if not promotion.is_active:
            raise _refuse(f"{text} is no longer offered.", "promotion_inactive")
        today = local_today(organization, now)
        if promotion.valid_from and today < promotion.valid_from:
            raise _refuse(
                f"{text} is valid from {promotion.valid_from:%B} {promotion.valid_from.day}, "
                f"{promotion.valid_from.year}.",
                "promotion_not_yet_valid",
            )
        if promotion.valid_until and today > promotion.valid_until:
            raise _refuse(
                f"{text} expired on {promotion.valid_until:%B} {promotion.valid_until.day}, "
                f"{promotion.valid_until.year}.",
                "promotion_expired",
            )
        live = PromotionRedemption.objects.filter(
            promotion=promotion, status=RedemptionStatus.APPLIED
        )
        if live.filter(invoice=current).exists():
            raise _refuse(f"{text} is already on this invoice.", "promotion_on_invoice")
        if promotion.max_redemptions is not None and promotion.used_count >= (
            promotion.max_redemptions
        ):
            raise _refuse(f"{text} has been used up.", "promotion_used_up")
        if promotion.once_per_client and live.filter(client_id=current.client_id).exists():
            raise _refuse(
                f"{current.client} has already used {text}; it is once per client.",
                "promotion_used_by_client",
            )
        charges = [
            line
            for line in InvoiceLine.objects.filter(invoice=current)
            if line.kind in CHARGE_KINDS
        ]
        covered = [
            line for line in charges if line_in_scope(promotion.scope, line.kind, line.tax_category)
        ]
        spend = sum(line.amount_cents for line in covered)
        what = describe(promotion, current.currency)
        if spend == 0:
            raise _refuse(
                f"Nothing on this invoice is covered by {text} ({what}).", "promotion_not_covered"
            )
        if spend < promotion.minimum_spend_cents:
            raise _refuse(
                f"{text} needs a spend of at least "
                f"{money.format_cents(promotion.minimum_spend_cents, current.currency)} on what "
                f"it covers; this invoice has {money.format_cents(spend, current.currency)}.",
                "promotion_below_minimum",
            )
        if spend - sum(line.discount_cents for line in covered) <= 0:
            raise _refuse(
                "Nothing is left to discount on what the code covers.", "promotion_nothing_left"
            )
        line = InvoiceLine.objects.create(
            organization_id=current.organization_id,
            invoice=current,
            position=_next_position(current),
            kind=LineKind.DISCOUNT,
            description=f"Promotion {text}: {what}"[:200],
            reason=f"Promotion code {text}",
            discount_percent_bp=promotion.percent_bp,
            # An amount larger than what it covers takes only what is there (never below 0).
            unit_price_cents=promotion.amount_cents or 0,
            amount_cents=-(promotion.amount_cents or 0),
            discount_scope=promotion.scope,
            source_type=PROMOTION_SOURCE,
            source_id=promotion.pk,
        )
        redemption = PromotionRedemption.objects.create(
            organization_id=current.organization_id,
            promotion=promotion,
            invoice=current,
            client_id=current.client_id,
            line_id=line.pk,
            applied_by=actor,
            applied_at=now or timezone.now(),
        )
        PromotionCode.objects.filter(pk=promotion.pk).update(used_count=F("used_count") + 1)
        _recalculate(current)
        line.refresh_from_db()
        _event(
            current,
            actor,
            "promotion_applied",
            code=text,
            promotion=promotion.pk,
            redemption=redemption.pk,
            line=line.pk,
            amount_cents=-line.amount_cents,
        )
    return line


def release_redemptions(*, invoice: Invoice, why: str, line_id: int | None = None) -> list[str]:
    """Free the invoice's applied codes (or the one on a line): the codes' uses come back.

    Called by billing.services in the transaction that removes the line or voids the
    invoice, with the invoice's row locked; returns the codes freed for its audit event.
    """
    found = PromotionRedemption.objects.filter(
        invoice_id=invoice.pk, status=RedemptionStatus.APPLIED
    ).select_related("promotion")
    if line_id is not None:
        found = found.filter(line_id=line_id)
    freed: list[str] = []
    for redemption in found.order_by("promotion_id"):
        # The update takes the code's row lock, after the invoice's: the order apply uses.
        PromotionCode.objects.filter(pk=redemption.promotion_id).update(
            used_count=F("used_count") - 1
        )
        redemption.status = RedemptionStatus.RELEASED
        redemption.released_at = timezone.now()
        redemption.released_why = why[:100]
        redemption.save(update_fields=["status", "released_at", "released_why"])
        freed.append(redemption.promotion.code)
    return freed


def remove_promotion(*, invoice: Invoice, line_id: Any, actor: User | None) -> None:
    """Take a code's discount off a draft (the line's removal frees its redemption)."""
    from medspa.billing.services import line_of, remove_line

    line = line_of(invoice, line_id)
    if line.source_type != PROMOTION_SOURCE:
        raise NotFound(
            f"Line {line_id} is not a promotion code.", [FieldError("line", "Not a code.")]
        )
    remove_line(invoice=invoice, line=line, actor=actor)


def promotions_on(invoice: Invoice) -> list[PromotionRedemption]:
    """The codes applied on an invoice and still counted."""
    return list(
        PromotionRedemption.objects.filter(
            invoice_id=invoice.pk, status=RedemptionStatus.APPLIED
        ).select_related("promotion")
    )


def check_before_issue(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Refuse to issue while a code's minimum spend is no longer met, or the code covers
    nothing any more (lines were removed): issuing would spend a client's once-only code on
    no discount."""
    applied = [line for line in lines if line.source_type == PROMOTION_SOURCE]
    if not applied:
        return
    codes = PromotionCode.objects.in_bulk([line.source_id for line in applied])
    charges = [line for line in lines if line.kind in CHARGE_KINDS]
    for line in applied:
        promotion = codes.get(line.source_id or 0)
        if promotion is None:
            continue
        if line.amount_cents == 0:
            raise Invalid.on(
                "lines",
                f"{promotion.code} takes nothing off this invoice any more: remove the code "
                "(the client keeps it for another visit) before issuing.",
                code="promotion_takes_nothing",
            )
        if not promotion.minimum_spend_cents:
            continue
        spend = sum(
            c.amount_cents
            for c in charges
            if line_in_scope(line.discount_scope, c.kind, c.tax_category)
        )
        if spend < promotion.minimum_spend_cents:
            raise Invalid.on(
                "lines",
                f"{promotion.code} needs a spend of at least "
                f"{money.format_cents(promotion.minimum_spend_cents, invoice.currency)}; "
                "remove the code or add to the invoice before issuing it.",
                code="promotion_below_minimum",
            )
