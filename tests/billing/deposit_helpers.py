"""Helpers of the deposit and fee tests: a policy on the neurotoxin, a booked visit, its deposit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from medspa.billing.deposit_models import Deposit
from medspa.billing.deposits import take_deposit
from medspa.catalog.policies import set_booking_policy
from medspa.catalog.policy_models import BookingPolicy
from medspa.core.models import Role
from medspa.ledger.selectors import account_balance, trial_balance
from medspa.scheduling.models import Appointment
from medspa.scheduling.services import cancel_appointment, change_status
from tests.conftest import Clinic


def deposit_policy(clinic: Clinic, **changes: Any) -> BookingPolicy:
    """The neurotoxin (450.00) asks 100.00 at booking; late cancel 50.00, no-show 150.00."""
    values: dict[str, Any] = {
        "deposit_kind": "amount",
        "deposit_amount_cents": 10000,
        "late_cancel_fee_cents": 5000,
        "no_show_fee_cents": 15000,
    }
    values.update(changes)
    return set_booking_policy(service=clinic.neurotoxin, actor=clinic.users[Role.MANAGER], **values)


def deposit_of_visit(visit: Appointment) -> Deposit:
    return Deposit.objects.get(appointment=visit)


def paid_deposit(
    clinic: Clinic, hour: int = 10, tender: str = "cash", minute: int = 0, **policy: Any
) -> Deposit:
    """A neurotoxin visit booked under the deposit policy, its deposit taken in cash."""
    deposit_policy(clinic, **policy)
    visit = clinic.book(hour, minute)
    deposit = deposit_of_visit(visit)
    return take_deposit(
        deposit=deposit,
        tender=tender,
        amount_cents=deposit.amount_cents,
        idempotency_key=uuid.uuid4().hex,
        actor=clinic.users[Role.FRONT_DESK],
        reference="slip 7" if tender != "cash" else "",
    ).deposit


def cancel(visit: Appointment, clinic: Clinic, *, hours_before: float) -> Appointment:
    """The client calls to cancel this many hours before the start."""
    return cancel_appointment(
        appointment=visit,
        actor=clinic.users[Role.FRONT_DESK],
        reason="Client called",
        now=visit.start - timedelta(hours=hours_before),
    )


def no_show(visit: Appointment, clinic: Clinic) -> Appointment:
    return change_status(
        appointment=visit,
        actor=clinic.users[Role.FRONT_DESK],
        status="no_show",
        now=visit.start + timedelta(minutes=20),
    )


def ledger(clinic: Clinic) -> dict[str, int]:
    tb = trial_balance(clinic.organization)
    assert tb.balanced, (tb.debit_cents, tb.credit_cents)
    return {
        key: account_balance(clinic.organization, key)
        for key in (
            "cash",
            "card_clearing",
            "deposits_held",
            "fees",
            "client_credit",
            "accounts_receivable",
        )
    }


def deposit_names(clinic: Clinic) -> dict[str, int]:
    """Ids the permission walk fills in: a visit whose deposit is due, a held deposit, a fee.

    At hours the walk leaves free (13:00, 13:30, 14:30)."""
    from medspa.billing.deposit_models import ProposedFee
    from tests.factories import ClientFactory

    deposit_policy(clinic)
    due = clinic.book(13, client=ClientFactory(organization=clinic.organization))
    held = paid_deposit(clinic, 13, minute=30)
    late = clinic.book(14, 30, client=ClientFactory(organization=clinic.organization))
    cancel(late, clinic, hours_before=1)
    return {
        "deposit_visit": due.pk,
        "held_deposit": held.pk,
        "fee": ProposedFee.objects.get(appointment=late).pk,
    }


def their_deposit_ids(theirs: Clinic) -> dict[str, int]:
    """Another organization's deposit and proposed fee, for the tenancy walk (13:00, 13:30)."""
    from medspa.billing.deposit_models import ProposedFee
    from tests.factories import ClientFactory

    deposit_policy(theirs, deposit_kind="amount")
    deposit = paid_deposit(theirs, 13)
    late = theirs.book(13, 30, client=ClientFactory(organization=theirs.organization))
    cancel(late, theirs, hours_before=1)
    return {"deposit": deposit.pk, "fee": ProposedFee.objects.get(appointment=late).pk}
