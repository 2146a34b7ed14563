"""Stripe's signed webhook: verified before anything is read, each event processed once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient

from medspa.billing import stripe_gateway
from medspa.billing.card_models import StripeEvent
from medspa.billing.models import Payment
from medspa.billing.refunds import refund_invoice
from medspa.core.audit import AuditEvent
from medspa.core.models import Role
from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.billing.helpers import desk
from tests.billing.test_stripe import issued
from tests.conftest import Clinic

SECRET = "whsec_test_medspa"
URL = "/webhooks/stripe"


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeStripe]:
    server = shared_fake()
    server.reset()
    settings.MEDSPA_STRIPE_SECRET_KEY = "sk_test_medspa"
    settings.MEDSPA_STRIPE_API_BASE = server.url
    settings.MEDSPA_STRIPE_WEBHOOK_SECRET = SECRET
    yield server


def signed(payload: str, secret: str = SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header as Stripe documents it: HMAC-SHA256 of 't.payload'."""
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def deliver(event: dict[str, Any], signature: str | None = None) -> Any:
    payload = json.dumps(event)
    return HttpClient().post(
        URL,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature if signature is not None else signed(payload),
    )


def event(kind: str, obj: dict[str, Any], event_id: str = "evt_1") -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


def paid_by_card(clinic: Clinic) -> Payment:
    invoice = issued(clinic)
    return stripe_gateway.take_card_payment(
        invoice=invoice,
        amount_cents=invoice.total_cents,
        payment_method="pm_card_visa",
        idempotency_key="visit",
        actor=desk(clinic),
    ).payments[0]


def test_a_signed_payment_confirmation_is_matched_to_the_payment(
    clinic: Clinic, fake: FakeStripe
) -> None:
    payment = paid_by_card(clinic)
    intent = fake.objects[payment.reference]
    answer = deliver(event("payment_intent.succeeded", intent))
    assert answer.status_code == 200
    assert answer.json() == {"received": True, "duplicate": False, "outcome": "payment confirmed"}
    stored = StripeEvent.objects.get()
    assert (stored.organization, stored.object_id) == (clinic.organization, payment.reference)
    audit = AuditEvent.objects.filter(action="billing.stripe_event").get()
    assert audit.object_id == str(payment.invoice_id)


def test_a_duplicate_delivery_is_processed_once(clinic: Clinic, fake: FakeStripe) -> None:
    payment = paid_by_card(clinic)
    confirmed = event("payment_intent.succeeded", fake.objects[payment.reference])
    first, second = deliver(confirmed), deliver(confirmed)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="billing.stripe_event").count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=deadbeef",
        signed("something else"),
        signed("{}", secret="whsec_someone_else"),
    ],
)
def test_a_bad_signature_is_refused_and_changes_nothing(
    clinic: Clinic, fake: FakeStripe, signature: str
) -> None:
    payment = paid_by_card(clinic)
    answer = deliver(event("charge.refunded", {"payment_intent": payment.reference}), signature)
    assert answer.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="billing.stripe_event").exists()


def test_an_old_signature_is_refused(clinic: Clinic, fake: FakeStripe) -> None:
    """A recorded delivery replayed later than Stripe's tolerance (5 minutes) is refused."""
    body = event("payment_intent.succeeded", {"id": "pi_x"})
    answer = deliver(body, signed(json.dumps(body), at=int(time.time()) - 3600))
    assert answer.status_code == 400 and not StripeEvent.objects.exists()


def test_unknown_events_are_acknowledged(fake: FakeStripe, db: None) -> None:
    answer = deliver(event("customer.created", {"id": "cus_1"}, "evt_unknown"))
    assert answer.status_code == 200
    assert StripeEvent.objects.get().outcome == "acknowledged, not handled"


def test_a_failed_payment_is_noted_for_the_clinic(clinic: Clinic, fake: FakeStripe) -> None:
    intent = {
        "id": "pi_failed",
        "metadata": {"organization": str(clinic.organization.pk)},
        "last_payment_error": {"code": "card_declined"},
    }
    answer = deliver(event("payment_intent.payment_failed", intent))
    assert answer.json()["outcome"] == "payment failed: card_declined"
    assert StripeEvent.objects.get().organization == clinic.organization


def test_a_refund_made_in_stripe_is_flagged_until_it_is_in_the_books(
    clinic: Clinic, fake: FakeStripe
) -> None:
    payment = paid_by_card(clinic)
    charge = {"id": "ch_1", "payment_intent": payment.reference, "amount_refunded": 2000}
    flagged = deliver(event("charge.refunded", charge, "evt_a"))
    assert flagged.json()["outcome"] == "refunded at Stripe, not yet in the books"
    refund_invoice(
        invoice=payment.invoice,
        amount_cents=2000,
        method="original",
        reason="Refunded in Stripe's dashboard",
        idempotency_key="r",
        actor=clinic.users[Role.MANAGER],
        payment_id=payment.pk,
    )
    confirmed = deliver(event("charge.refunded", charge, "evt_b"))
    assert confirmed.json()["outcome"] == "refund confirmed"


def test_an_outsiders_events_never_land_on_the_clinic(
    clinic: Clinic, outsider: Clinic, fake: FakeStripe
) -> None:
    theirs = paid_by_card(outsider)
    deliver(event("payment_intent.succeeded", fake.objects[theirs.reference]))
    assert StripeEvent.objects.get().organization == outsider.organization
    assert not AuditEvent.objects.filter(
        organization=clinic.organization, action="billing.stripe_event"
    ).exists()


def test_without_a_webhook_secret_the_endpoint_is_not_there(
    fake: FakeStripe, settings: Any, db: None
) -> None:
    settings.MEDSPA_STRIPE_WEBHOOK_SECRET = ""
    answer = deliver(event("payment_intent.succeeded", {"id": "pi_x"}))
    assert answer.status_code == 404 and not StripeEvent.objects.exists()


def test_only_post_is_accepted(fake: FakeStripe, db: None) -> None:
    assert HttpClient().get(URL).status_code == 405
