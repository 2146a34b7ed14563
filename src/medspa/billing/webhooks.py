"""Stripe's webhook: signed events about payments, each processed once.

Payments are taken synchronously (the desk waits for the card), so events confirm what is
already in the books or flag what is not: a refund made in Stripe's dashboard is reported
for staff to record with a reason, never booked silently. The signature is checked before
anything is read; a bad one is a 400 and changes nothing. Unknown event types are
acknowledged (Stripe would otherwise retry them for days) and kept as seen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from medspa.billing import stripe_gateway  # noqa: F401  (registers the gateway and card tender)
from medspa.billing.card_models import StripeEvent
from medspa.billing.models import Payment, Refund
from medspa.core.audit import record_event
from medspa.core.models import Organization

Outcome = tuple[str, Payment | None, Organization | None, dict[str, Any]]


def _organization(obj: dict[str, Any], payment: Payment | None) -> Organization | None:
    if payment is not None:
        return payment.organization
    # Our intents carry the organization in their metadata (see stripe_gateway.authorize).
    org_id = str((obj.get("metadata") or {}).get("organization", ""))
    return Organization.objects.filter(pk=int(org_id)).first() if org_id.isdigit() else None


def _payment(intent_id: str | None) -> Payment | None:
    if not intent_id:
        return None
    return (
        Payment.objects.select_related("organization", "invoice")
        .filter(gateway="stripe", reference=intent_id)
        .first()
    )


def _deposit_organization(intent_id: str | None) -> Organization | None:
    """The clinic whose deposit this PaymentIntent paid (billing/deposits.py), if any."""
    from medspa.billing.deposit_models import Deposit

    found = (
        Deposit.objects.select_related("organization")
        .filter(gateway="stripe", reference=intent_id)
        .first()
        if intent_id
        else None
    )
    return found.organization if found is not None else None


def _payment_succeeded(obj: dict[str, Any]) -> Outcome:
    payment = _payment(obj.get("id"))
    deposit_of = _deposit_organization(obj.get("id")) if payment is None else None
    if deposit_of is not None:
        return "deposit confirmed", None, deposit_of, {}
    if payment is None:
        # Paid at Stripe but not in our books (the desk's request failed after the charge).
        return "paid at Stripe, no payment recorded", None, _organization(obj, None), {}
    return "payment confirmed", payment, payment.organization, {}


def _payment_failed(obj: dict[str, Any]) -> Outcome:
    payment = _payment(obj.get("id"))
    error = obj.get("last_payment_error") or {}
    reason = str(error.get("code") or error.get("decline_code") or "failed")
    return f"payment failed: {reason}"[:200], payment, _organization(obj, payment), {}


def _charge_refunded(obj: dict[str, Any]) -> Outcome:
    payment = _payment(obj.get("payment_intent"))
    at_stripe = int(obj.get("amount_refunded") or 0)
    if payment is None:
        from medspa.billing.deposit_models import Deposit

        intent = obj.get("payment_intent")
        deposit = (
            Deposit.objects.select_related("organization")
            .filter(gateway="stripe", reference=intent)
            .first()
            if intent
            else None
        )
        if deposit is not None:
            # A refund made in Stripe's dashboard (or whose commit was lost) leaves the deposit
            # held in our books: applied at checkout it would pay with money given back.
            if at_stripe > deposit.refunded_cents:
                return (
                    "deposit refunded at Stripe, not yet in the books",
                    None,
                    deposit.organization,
                    {
                        "deposit": deposit.pk,
                        "refunded_at_stripe_cents": at_stripe,
                        "refunded_in_books_cents": deposit.refunded_cents,
                    },
                )
            return "deposit refund confirmed", None, deposit.organization, {}
        return "refund of an unknown payment", None, _organization(obj, None), {}
    in_books = Refund.objects.filter(payment=payment).aggregate(s=Sum("amount_cents"))["s"] or 0
    if at_stripe > in_books:
        return (
            "refunded at Stripe, not yet in the books",
            payment,
            payment.organization,
            {"refunded_at_stripe_cents": at_stripe, "refunded_in_books_cents": in_books},
        )
    return "refund confirmed", payment, payment.organization, {}


HANDLERS: dict[str, Callable[[dict[str, Any]], Outcome]] = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _charge_refunded,
}


def process_event(event: dict[str, Any]) -> tuple[StripeEvent, bool]:
    """Handle one verified event; answers (the event, whether it was new). Replays do nothing."""
    event_id, kind = str(event["id"]), str(event.get("type", ""))
    obj: dict[str, Any] = (event.get("data") or {}).get("object") or {}
    seen = StripeEvent.objects.filter(event_id=event_id).first()
    if seen is not None:
        return seen, False
    handler = HANDLERS.get(kind)
    try:
        with transaction.atomic():
            if handler is None:
                return StripeEvent.objects.create(
                    event_id=event_id, type=kind[:100], outcome="acknowledged, not handled"
                ), True
            outcome, payment, organization, data = handler(obj)
            stored = StripeEvent.objects.create(
                event_id=event_id,
                type=kind,
                organization=organization,
                object_id=str(obj.get("id", ""))[:100],
                outcome=outcome,
            )
            if organization is not None:
                record_event(
                    organization=organization,
                    actor=None,
                    action="billing.stripe_event",
                    object_type="invoice" if payment is not None else "stripe_event",
                    object_id=payment.invoice_id if payment is not None else stored.pk,
                    data={"event": event_id, "type": kind, "outcome": outcome, **data},
                )
            return stored, True
    except IntegrityError:
        # The same event delivered twice at once: the other delivery processed it.
        return StripeEvent.objects.get(event_id=event_id), False


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    secret = getattr(settings, "MEDSPA_STRIPE_WEBHOOK_SECRET", "")
    if not secret:
        return JsonResponse({"detail": "Stripe webhooks are not set up."}, status=404)
    try:
        stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature", ""), secret
        )
        event = json.loads(request.body)
    except (ValueError, stripe.SignatureVerificationError):
        return JsonResponse({"detail": "The Stripe signature does not match."}, status=400)
    if not isinstance(event, dict) or not event.get("id"):
        return JsonResponse({"detail": "Not a Stripe event."}, status=400)
    stored, new = process_event(event)
    return JsonResponse({"received": True, "duplicate": not new, "outcome": stored.outcome})
