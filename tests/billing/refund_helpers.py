"""Helpers of the refund, credit-note and daily-close tests: issued and paid invoices."""

from __future__ import annotations

import uuid
from datetime import datetime

from medspa.billing import services
from medspa.billing.models import Invoice
from medspa.billing.services import TenderIn
from medspa.clients.models import Client
from medspa.ledger.selectors import account_balance, trial_balance
from tests.conftest import Clinic


def issued(
    clinic: Clinic, hour: int = 10, client: Client | None = None, minute: int = 0
) -> Invoice:
    """A booked neurotoxin visit's invoice (450.00, no tax), issued."""
    invoice, _ = services.build_invoice_from_chart(
        appointment=clinic.book(hour, minute, client=client), actor=None
    )
    return services.issue_invoice(invoice=invoice, actor=None)


def paid(
    clinic: Clinic,
    *tenders: tuple[str, int],
    hour: int = 10,
    client: Client | None = None,
    now: datetime | None = None,
    minute: int = 0,
) -> Invoice:
    """An issued invoice paid with the tenders given (kind, cents); all of it in cash if none."""
    invoice = issued(clinic, hour, client, minute)
    services.record_payment(
        invoice=invoice,
        tenders=[TenderIn(k, c, reference="slip 1") for k, c in tenders or [("cash", 45000)]],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
        now=now,
    )
    invoice.refresh_from_db()
    return invoice


def books(clinic: Clinic) -> dict[str, int]:
    """The balances that refunds move; asserts the trial balance balances first."""
    tb = trial_balance(clinic.organization)
    assert tb.balanced, (tb.debit_cents, tb.credit_cents)
    return {
        key: account_balance(clinic.organization, key)
        for key in (
            "cash",
            "card_clearing",
            "accounts_receivable",
            "client_credit",
            "refunds",
            "cash_over_short",
        )
    }


def refund_names(clinic: Clinic) -> dict[str, int]:
    """Ids the permission walk fills in: an invoice paid in cash, at a time the walk leaves free."""
    return {"paid_invoice": paid(clinic, hour=16, minute=30).pk}
