"""Random days of deposits: booked, paid, applied, cancelled in time or late, no-shows,
refunds and fees; after every step the books balance and `deposits_held` is exactly what the
deposits hold."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from medspa.billing import services
from medspa.billing.deposit_models import Deposit, DepositStatus, FeeStatus, ProposedFee
from medspa.billing.deposits import (
    deposit_for,
    held_total,
    refund_deposit,
    take_deposit,
)
from medspa.billing.fees import confirm_fee, waive_fee
from medspa.catalog.policies import set_booking_policy
from medspa.core.errors import DomainError
from medspa.core.models import Role
from medspa.ledger.selectors import account_balance, trial_balance
from medspa.scheduling.models import Appointment
from medspa.scheduling.services import cancel_appointment, change_status
from tests.conftest import Clinic, build_clinic
from tests.factories import ClientFactory

POLICIES = st.fixed_dictionaries(
    {
        "deposit_kind": st.sampled_from(["amount", "percent"]),
        "deposit_amount_cents": st.integers(min_value=1, max_value=90_000),
        "deposit_percent_bp": st.integers(min_value=1, max_value=10_000),
        "late_cancel_deposit": st.sampled_from(["forfeit", "refund"]),
        "no_show_deposit": st.sampled_from(["forfeit", "refund"]),
        "refund_to": st.sampled_from(["original", "account_credit"]),
        "late_cancel_fee_cents": st.integers(min_value=0, max_value=60_000),
        "no_show_fee_cents": st.integers(min_value=0, max_value=60_000),
    }
)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "book",
                "book_and_pay",
                "book_and_pay",
                "pay",
                "pay",
                "checkout",
                "cancel_in_time",
                "cancel_in_time",
                "cancel_late",
                "no_show",
                "refund",
                "confirm_fee",
                "waive_fee",
            ]
        ),
        st.integers(min_value=0, max_value=7),
        st.sampled_from(["cash", "cheque", "card_external"]),
    ),
    min_size=4,
    max_size=18,
)


def check_books(clinic: Clinic) -> None:
    org = clinic.organization
    tb = trial_balance(org)
    assert tb.balanced, (tb.debit_cents, tb.credit_cents)
    deposits = list(Deposit.objects.filter(organization=org))
    held = sum(d.held_cents for d in deposits)
    assert account_balance(org, "deposits_held") == held == held_total(org)
    assert all(d.held_cents >= 0 for d in deposits)
    kept = sum(d.forfeited_cents for d in deposits)
    charged = ProposedFee.objects.filter(
        organization=org, status__in=[FeeStatus.CHARGED, FeeStatus.INVOICED]
    ).aggregate(s=Sum("amount_cents"))["s"]
    assert account_balance(org, "fees") == kept + int(charged or 0)
    credit = sum(d.refunded_cents for d in deposits if d.refund_method == "account_credit")
    assert account_balance(org, "client_credit") == credit


def act(clinic: Clinic, visits: list[Appointment], step: str, pick: int, tender: str) -> bool:
    """Do the step to one of the day's visits; False when there was nothing to do."""
    desk, billing = clinic.users[Role.FRONT_DESK], clinic.users[Role.BILLING]
    if step in ("book", "book_and_pay"):
        if len(visits) >= 8:
            return False
        slot = len(visits)
        visits.append(
            clinic.book(
                9 + slot // 2,
                30 * (slot % 2),
                client=ClientFactory(organization=clinic.organization),
            )
        )
        if step == "book":
            return True
        step, pick = "pay", slot
    if not visits:
        return False
    visit = Appointment.objects.get(pk=visits[pick % len(visits)].pk)
    deposit = deposit_for(visit)
    if step == "pay":
        if deposit is None:
            return False
        take_deposit(
            deposit=deposit,
            tender=tender,
            amount_cents=deposit.amount_cents,
            idempotency_key=uuid.uuid4().hex,
            actor=desk,
        )
    elif step == "checkout":
        invoice, _ = services.build_invoice_from_chart(appointment=visit, actor=desk)
        if not invoice.is_draft:
            return False
        services.issue_invoice(invoice=invoice, actor=desk)
    elif step in ("cancel_in_time", "cancel_late"):
        hours = 48 if step == "cancel_in_time" else 1
        cancel_appointment(
            appointment=visit,
            actor=desk,
            reason="Client called",
            now=visit.start - timedelta(hours=hours),
        )
    elif step == "no_show":
        change_status(
            appointment=visit,
            actor=desk,
            status="no_show",
            now=visit.start + timedelta(minutes=15),
        )
    elif step == "refund":
        if deposit is None:
            return False
        who = desk if deposit.status == DepositStatus.REFUND_DUE else billing
        refund_deposit(deposit=deposit, actor=who, reason="Goodwill")
    elif step in ("confirm_fee", "waive_fee"):
        fee = ProposedFee.objects.filter(appointment=visit).first()
        if fee is None:
            return False
        if step == "confirm_fee":
            confirm_fee(fee=fee, actor=desk, method="invoice", idempotency_key=uuid.uuid4().hex)
        else:
            waive_fee(fee=fee, actor=desk, reason="First time")
    else:
        return False
    return True


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(policy=POLICIES, steps=STEPS)
def test_any_day_of_deposits_keeps_the_books_balanced_and_the_deposits_held_exact(
    db: None, policy: dict[str, object], steps: list[tuple[str, int, str]]
) -> None:
    clinic = build_clinic(f"Inv {uuid.uuid4().hex[:6]}")
    set_booking_policy(service=clinic.neurotoxin, actor=clinic.users[Role.MANAGER], **policy)
    visits: list[Appointment] = []
    for step, pick, tender in [("book", 0, "cash"), *steps]:
        # A refusal (a move the visit's state forbids) must change nothing: checked below.
        with contextlib.suppress(DomainError):
            if act(clinic, visits, step, pick, tender):
                event(f"done: {step}")  # --hypothesis-show-statistics: what the days did
        check_books(clinic)
