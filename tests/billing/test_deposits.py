"""Deposits at booking: asked by the service's policy, taken at the desk, applied at checkout,
given back or kept when the visit is cancelled, and fees proposed to staff, never charged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from medspa.billing import services
from medspa.billing.deposit_models import Deposit, DepositStatus, FeeStatus, ProposedFee
from medspa.billing.deposits import (
    held_total,
    late_after,
    refund_deposit,
    take_deposit,
)
from medspa.billing.fees import confirm_fee, waive_fee
from medspa.billing.models import InvoiceStatus, Payment
from medspa.billing.refunds import credit_balance
from medspa.catalog.policies import policy_for, set_booking_policy
from medspa.core.audit import AuditEvent
from medspa.core.errors import Conflict, Forbidden, Invalid
from medspa.core.models import Role
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import reschedule_appointment
from tests.billing.deposit_helpers import (
    cancel,
    deposit_of_visit,
    deposit_policy,
    ledger,
    no_show,
    paid_deposit,
)
from tests.conftest import Clinic


def key() -> str:
    return uuid.uuid4().hex


# --- the policy ---------------------------------------------------------------------------


def test_a_service_without_a_policy_asks_no_deposit_and_charges_no_fee(clinic: Clinic) -> None:
    policy = policy_for(clinic.facial)
    assert (policy.deposit_kind, policy.cancel_window_hours) == ("none", 24)
    assert policy.late_cancel_fee_cents == policy.no_show_fee_cents == 0
    visit = clinic.book(10, wanted=[Wanted(clinic.facial)])
    assert not Deposit.objects.filter(appointment=visit).exists()


def test_only_managers_set_a_policy_and_bad_values_change_nothing(clinic: Clinic) -> None:
    with pytest.raises(Forbidden):
        set_booking_policy(
            service=clinic.neurotoxin, actor=clinic.users[Role.FRONT_DESK], no_show_fee_cents=1
        )
    manager = clinic.users[Role.MANAGER]
    for bad in (
        {"deposit_kind": "percent", "deposit_percent_bp": 10_001},
        {"deposit_kind": "amount", "deposit_amount_cents": 0},
        {"late_cancel_fee_cents": -1},
        {"no_show_fee_cents": 12.5},
        {"cancel_window_hours": 10_000},
        {"refund_to": "gift_card"},
    ):
        with pytest.raises(Invalid):
            set_booking_policy(service=clinic.neurotoxin, actor=manager, **bad)
    assert policy_for(clinic.neurotoxin).pk is None


def test_a_percent_deposit_is_of_the_booked_price(clinic: Clinic) -> None:
    deposit_policy(clinic, deposit_kind="percent", deposit_percent_bp=2500)
    visit = clinic.book(10)
    deposit = deposit_of_visit(visit)
    assert (deposit.amount_cents, deposit.status) == (11250, DepositStatus.DUE)


def test_two_services_ask_for_both_deposits(clinic: Clinic) -> None:
    deposit_policy(clinic)
    set_booking_policy(
        service=clinic.facial,
        actor=clinic.users[Role.MANAGER],
        deposit_kind="percent",
        deposit_percent_bp=1000,
    )
    visit = clinic.book(10, wanted=[Wanted(clinic.neurotoxin), Wanted(clinic.facial)])
    assert deposit_of_visit(visit).amount_cents == 10000 + 2000


# --- taking it ----------------------------------------------------------------------------


def test_the_desk_takes_the_deposit_in_cash_and_the_books_hold_it(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic)
    assert (deposit.status, deposit.held_cents, deposit.tender) == ("held", 10000, "cash")
    assert ledger(clinic)["cash"] == 10000
    assert ledger(clinic)["deposits_held"] == 10000 == held_total(clinic.organization)


def test_a_replayed_deposit_payment_takes_it_once(clinic: Clinic) -> None:
    deposit_policy(clinic)
    deposit = deposit_of_visit(clinic.book(10))
    desk = clinic.users[Role.FRONT_DESK]
    first = take_deposit(
        deposit=deposit, tender="cash", amount_cents=10000, idempotency_key="d-1", actor=desk
    )
    again = take_deposit(
        deposit=deposit, tender="cash", amount_cents=10000, idempotency_key="d-1", actor=desk
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert ledger(clinic)["deposits_held"] == 10000


@pytest.mark.parametrize(
    ("amount", "tender", "field"),
    [(9999, "cash", "amount_cents"), (10001, "cash", "amount_cents"), (10000, "gift", "tender")],
)
def test_any_other_amount_or_tender_is_refused_and_changes_nothing(
    clinic: Clinic, amount: int, tender: str, field: str
) -> None:
    deposit_policy(clinic)
    deposit = deposit_of_visit(clinic.book(10))
    events = AuditEvent.objects.count()
    with pytest.raises(Invalid) as refused:
        take_deposit(
            deposit=deposit,
            tender=tender,
            amount_cents=amount,
            idempotency_key=key(),
            actor=clinic.users[Role.FRONT_DESK],
        )
    assert refused.value.errors[0].field == field
    deposit.refresh_from_db()
    assert (deposit.status, deposit.paid_cents) == ("due", 0)
    assert AuditEvent.objects.count() == events


def test_a_deposit_is_paid_once_and_never_for_a_cancelled_visit(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic)
    desk = clinic.users[Role.FRONT_DESK]
    with pytest.raises(Conflict) as twice:
        take_deposit(
            deposit=deposit, tender="cash", amount_cents=10000, idempotency_key=key(), actor=desk
        )
    assert twice.value.code == "deposit_already_paid"
    visit = clinic.book(13)
    cancel(visit, clinic, hours_before=48)
    with pytest.raises(Conflict) as cancelled:
        take_deposit(
            deposit=deposit_of_visit(visit),
            tender="cash",
            amount_cents=10000,
            idempotency_key=key(),
            actor=desk,
        )
    assert cancelled.value.code == "visit_not_open"
    assert deposit_of_visit(visit).status == DepositStatus.CANCELLED


def test_a_provider_may_not_take_a_deposit(clinic: Clinic) -> None:
    deposit_policy(clinic)
    deposit = deposit_of_visit(clinic.book(10))
    with pytest.raises(Forbidden):
        take_deposit(
            deposit=deposit,
            tender="cash",
            amount_cents=10000,
            idempotency_key=key(),
            actor=clinic.users[Role.PROVIDER],
        )


# --- checkout -----------------------------------------------------------------------------


def test_the_deposit_is_applied_when_the_visit_is_invoiced(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic)
    invoice, _ = services.build_invoice_from_chart(appointment=deposit.appointment, actor=None)
    issued = services.issue_invoice(invoice=invoice, actor=clinic.users[Role.FRONT_DESK])
    assert (issued.paid_cents, issued.balance_cents) == (10000, 35000)
    assert issued.status == InvoiceStatus.PARTIALLY_PAID
    payment = Payment.objects.get(invoice=issued)
    assert (payment.kind, payment.amount_cents) == ("deposit", 10000)
    deposit.refresh_from_db()
    assert (deposit.status, deposit.applied_cents, deposit.held_cents) == ("applied", 10000, 0)
    books = ledger(clinic)
    assert books["deposits_held"] == 0
    assert books["accounts_receivable"] == 35000


def test_a_deposit_larger_than_the_invoice_leaves_the_rest_held_until_refunded(
    clinic: Clinic,
) -> None:
    deposit = paid_deposit(clinic, deposit_amount_cents=50000)
    invoice, _ = services.build_invoice_from_chart(appointment=deposit.appointment, actor=None)
    issued = services.issue_invoice(invoice=invoice, actor=None)
    assert issued.status == InvoiceStatus.PAID
    deposit.refresh_from_db()
    assert (deposit.status, deposit.applied_cents, deposit.held_cents) == ("held", 45000, 5000)
    assert ledger(clinic)["deposits_held"] == 5000
    with pytest.raises(Forbidden):
        refund_deposit(deposit=deposit, actor=clinic.users[Role.FRONT_DESK], reason="Rest")
    refund_deposit(deposit=deposit, actor=clinic.users[Role.BILLING], reason="The rest")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held_cents, deposit.refunded_cents) == ("refunded", 0, 5000)
    books = ledger(clinic)
    assert (books["deposits_held"], books["cash"]) == (0, 45000)
    with pytest.raises(Conflict):
        refund_deposit(deposit=deposit, actor=clinic.users[Role.BILLING], reason="Again")


# --- cancellations and no-shows ----------------------------------------------------------


def test_a_timely_cancellation_gives_a_cash_deposit_back_when_the_desk_hands_it_over(
    clinic: Clinic,
) -> None:
    deposit = paid_deposit(clinic)
    cancel(deposit.appointment, clinic, hours_before=30)
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.REFUND_DUE
    assert ledger(clinic)["deposits_held"] == 10000  # still in the drawer until handed back
    refund_deposit(deposit=deposit, actor=clinic.users[Role.FRONT_DESK])
    deposit.refresh_from_db()
    assert (deposit.status, deposit.refunded_cents) == ("refunded", 10000)
    assert (ledger(clinic)["deposits_held"], ledger(clinic)["cash"]) == (0, 0)
    assert not ProposedFee.objects.exists()


def test_a_timely_cancellation_gives_account_credit_at_once_when_the_policy_says_so(
    clinic: Clinic,
) -> None:
    deposit = paid_deposit(clinic, refund_to="account_credit")
    cancel(deposit.appointment, clinic, hours_before=30)
    deposit.refresh_from_db()
    assert (deposit.status, deposit.refund_method) == ("refunded", "account_credit")
    books = ledger(clinic)
    assert (books["deposits_held"], books["client_credit"], books["cash"]) == (0, 10000, 10000)
    assert credit_balance(deposit.client) == 10000


def test_a_late_cancellation_keeps_the_deposit_and_proposes_the_rest_of_the_fee(
    clinic: Clinic,
) -> None:
    deposit = paid_deposit(clinic, late_cancel_fee_cents=15000)
    cancel(deposit.appointment, clinic, hours_before=3)
    deposit.refresh_from_db()
    assert (deposit.status, deposit.forfeited_cents) == ("forfeited", 10000)
    fee = ProposedFee.objects.get(appointment=deposit.appointment)
    assert (fee.kind, fee.policy_fee_cents, fee.forfeited_cents, fee.amount_cents) == (
        "late_cancel",
        15000,
        10000,
        5000,
    )
    assert fee.status == FeeStatus.PROPOSED  # never charged without a person
    books = ledger(clinic)
    assert (books["deposits_held"], books["fees"], books["accounts_receivable"]) == (0, 10000, 0)


def test_a_fee_no_larger_than_the_deposit_kept_is_not_proposed(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic)  # late-cancel fee 50.00 < deposit 100.00
    cancel(deposit.appointment, clinic, hours_before=1)
    assert not ProposedFee.objects.exists()


def test_a_no_show_keeps_the_deposit_and_proposes_the_no_show_fee(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic)
    no_show(deposit.appointment, clinic)
    fee = ProposedFee.objects.get()
    assert (fee.kind, fee.amount_cents) == ("no_show", 5000)
    assert ledger(clinic)["fees"] == 10000


def test_a_late_cancellation_without_a_deposit_proposes_the_whole_fee(clinic: Clinic) -> None:
    deposit_policy(clinic, deposit_kind="none")
    visit = clinic.book(10)
    cancel(visit, clinic, hours_before=2)
    assert ProposedFee.objects.get(appointment=visit).amount_cents == 5000
    assert ledger(clinic)["fees"] == 0


def test_a_policy_may_give_the_deposit_back_even_on_a_late_cancellation(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic, late_cancel_deposit="refund", refund_to="account_credit")
    cancel(deposit.appointment, clinic, hours_before=2)
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.REFUNDED
    assert ProposedFee.objects.get().amount_cents == 5000


def test_a_reschedule_keeps_the_deposit_held(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic)
    reschedule_appointment(
        appointment=deposit.appointment, actor=clinic.users[Role.FRONT_DESK], start=clinic.at(15)
    )
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held_cents) == ("held", 10000)
    assert ledger(clinic)["fees"] == 0 and not ProposedFee.objects.exists()


def test_the_window_is_counted_on_the_clinic_wall_clock_across_a_dst_change() -> None:
    boston = ZoneInfo("America/New_York")
    # Sunday 10:00 after the autumn change (2:00 that night): 24 hours before is Saturday
    # 10:00 on the clinic's clock, which was 25 real hours earlier.
    start = datetime(2026, 11, 1, 10, tzinfo=boston)
    deadline = late_after(start, boston, 24)
    local = deadline.astimezone(boston)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-10-31", 10, 0)
    assert start.astimezone(UTC) - deadline.astimezone(UTC) == timedelta(hours=25)
    assert deadline.astimezone(UTC) == datetime(2026, 10, 31, 14, tzinfo=UTC)


# --- deciding the fee ---------------------------------------------------------------------


def _late_fee(clinic: Clinic) -> ProposedFee:
    deposit_policy(clinic, deposit_kind="none")
    cancel(clinic.book(10), clinic, hours_before=2)
    return ProposedFee.objects.get()


def test_a_confirmed_fee_becomes_an_invoice_to_collect(clinic: Clinic) -> None:
    fee = _late_fee(clinic)
    desk = clinic.users[Role.FRONT_DESK]
    confirmed = confirm_fee(fee=fee, actor=desk, method="invoice", idempotency_key="f-1")
    again = confirm_fee(fee=fee, actor=desk, method="invoice", idempotency_key="f-1")
    assert again.invoice_id == confirmed.invoice_id
    assert confirmed.status == FeeStatus.INVOICED and confirmed.decided_by == desk
    invoice = confirmed.invoice
    assert invoice is not None
    assert (invoice.status, invoice.total_cents) == ("open", 5000)
    assert invoice.lines.get().kind == "fee"
    books = ledger(clinic)
    assert (books["accounts_receivable"], books["fees"]) == (5000, 5000)
    with pytest.raises(Conflict):
        waive_fee(fee=fee, actor=desk, reason="Changed my mind")


def test_a_waived_fee_needs_a_reason_and_moves_no_money(clinic: Clinic) -> None:
    fee = _late_fee(clinic)
    desk = clinic.users[Role.FRONT_DESK]
    with pytest.raises(Invalid):
        waive_fee(fee=fee, actor=desk, reason="  ")
    waived = waive_fee(fee=fee, actor=desk, reason="First time; family emergency")
    assert (waived.status, waived.waive_reason) == ("waived", "First time; family emergency")
    assert ledger(clinic)["fees"] == 0
    assert AuditEvent.objects.filter(action="billing.fee_waived").count() == 1


def test_charging_a_fee_to_a_card_needs_stripe(clinic: Clinic) -> None:
    fee = _late_fee(clinic)
    with pytest.raises(Conflict) as refused:
        confirm_fee(
            fee=fee, actor=clinic.users[Role.FRONT_DESK], method="card", idempotency_key=key()
        )
    assert refused.value.code == "stripe_not_configured"
    fee.refresh_from_db()
    assert fee.status == FeeStatus.PROPOSED and fee.invoice is None


def test_a_provider_may_not_decide_a_fee(clinic: Clinic) -> None:
    fee = _late_fee(clinic)
    with pytest.raises(Forbidden):
        waive_fee(fee=fee, actor=clinic.users[Role.PROVIDER], reason="Nice client")


def test_the_outsider_s_deposits_are_not_counted(clinic: Clinic, outsider: Clinic) -> None:
    paid_deposit(outsider)
    deposit_policy(clinic)
    clinic.book(10)
    assert held_total(clinic.organization) == 0
    assert held_total(outsider.organization) == 10000


def test_cash_deposits_are_counted_in_the_day_s_till(clinic: Clinic) -> None:
    from medspa.billing.close import expected_cash, local_today

    today = local_today(clinic.location)
    deposit = paid_deposit(clinic)
    paid_deposit(clinic, 13, tender="card_external")  # on the terminal: not in the drawer
    assert expected_cash(clinic.location, today) == 10000
    cancel(deposit.appointment, clinic, hours_before=30)
    refund_deposit(deposit=deposit, actor=clinic.users[Role.FRONT_DESK])
    assert expected_cash(clinic.location, today) == 0


def test_a_deposit_given_back_as_credit_pays_a_later_invoice(clinic: Clinic) -> None:
    deposit = paid_deposit(clinic, refund_to="account_credit")
    cancel(deposit.appointment, clinic, hours_before=30)
    later, _ = services.build_invoice_from_chart(
        appointment=clinic.book(13, client=deposit.client), actor=None
    )
    issued = services.issue_invoice(invoice=later, actor=None)
    taken = services.record_payment(
        invoice=issued,
        tenders=[
            services.TenderIn("account_credit", 10000),
            services.TenderIn("cash", 35000),
        ],
        idempotency_key=key(),
        actor=None,
    )
    assert taken.invoice.status == InvoiceStatus.PAID
    assert credit_balance(deposit.client) == 0
    assert ledger(clinic)["client_credit"] == 0


def test_a_visit_checked_out_without_its_deposit_no_longer_asks_for_it(clinic: Clinic) -> None:
    deposit_policy(clinic)
    visit = clinic.book(10)
    invoice, _ = services.build_invoice_from_chart(appointment=visit, actor=None)
    issued = services.issue_invoice(invoice=invoice, actor=None)
    assert (issued.paid_cents, issued.status) == (0, InvoiceStatus.OPEN)
    assert deposit_of_visit(visit).status == DepositStatus.CANCELLED
    assert ledger(clinic)["deposits_held"] == 0


def test_a_cancellation_is_judged_by_the_terms_the_visit_was_booked_under(
    clinic: Clinic,
) -> None:
    deposit = paid_deposit(clinic, late_cancel_fee_cents=15000)
    # The manager raises the fee and shortens the window after the client booked.
    deposit_policy(clinic, late_cancel_fee_cents=40000, cancel_window_hours=2)
    cancel(deposit.appointment, clinic, hours_before=3)  # late under the 24 h booked
    fee = ProposedFee.objects.get()
    assert (fee.policy_fee_cents, fee.amount_cents) == (15000, 5000)


def test_a_visit_booked_before_any_policy_is_never_charged_a_fee(clinic: Clinic) -> None:
    early = clinic.book(10)
    deposit_policy(clinic, deposit_kind="none")
    later = clinic.book(13)
    cancel(early, clinic, hours_before=2)
    cancel(later, clinic, hours_before=2)
    assert [f.appointment_id for f in ProposedFee.objects.all()] == [later.pk]
