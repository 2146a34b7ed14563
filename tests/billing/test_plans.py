"""Payment plans: instalments the worker charges on their dates, retries, follow-ups."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from medspa.billing import plan_math, plans, services, stripe_gateway
from medspa.billing.card_models import CardOnFile
from medspa.billing.models import Invoice, InvoiceStatus, Payment
from medspa.billing.plan_models import (
    Instalment,
    InstalmentAttempt,
    InstalmentStatus,
    PaymentFollowUp,
    PaymentPlan,
    PlanStatus,
)
from medspa.billing.services import INTERNAL_KEY_PREFIX, TenderIn
from medspa.core.audit import AuditEvent
from medspa.core.errors import Conflict, DomainError, Invalid
from medspa.core.models import Role
from medspa.ledger.selectors import account_balance, trial_balance
from tests.billing.fake_stripe import FakeStripe, shared_fake
from tests.billing.helpers import balanced, desk
from tests.billing.plan_helpers import (
    CONSENT,
    ScriptedGateway,
    card_on_file,
    owing,
    scripted_gateway,
    today,
)
from tests.conftest import Clinic
from tests.factories import ClientFactory


@pytest.fixture
def gateway() -> Iterator[ScriptedGateway]:
    yield from scripted_gateway()


def monthly(clinic: Clinic, invoice: Invoice, now: datetime, count: int = 3) -> PaymentPlan:
    """A monthly plan whose first instalment is due today."""
    return plans.create_plan(
        invoice=invoice,
        card=card_on_file(clinic),
        actor=desk(clinic),
        cadence="monthly",
        count=count,
        first_date=today(invoice, now),
        now=now,
    )


def instalments(plan: PaymentPlan) -> list[Instalment]:
    return list(Instalment.objects.filter(plan=plan).order_by("number"))


def pay_at_desk(invoice: Invoice, cents: int) -> None:
    services.record_payment(
        invoice=invoice,
        tenders=[TenderIn("cash", cents)],
        idempotency_key=uuid.uuid4().hex,
        actor=None,
    )


# --- the plan's dates and amounts ---------------------------------------------------------


def test_a_monthly_plan_keeps_the_day_and_the_shorter_months_last_day() -> None:
    assert plan_math.schedule(date(2027, 1, 31), 4, "monthly") == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert plan_math.schedule(date(2027, 12, 30), 2, "weekly") == [
        date(2027, 12, 30),
        date(2028, 1, 6),
    ]


@hsettings(max_examples=200)
@given(
    balance=st.integers(min_value=1, max_value=2**31 - 1),
    count=st.integers(min_value=2, max_value=24),
    paid_outside=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_instalments_always_sum_to_the_balance_and_shrink_to_what_is_owed(
    balance: int, count: int, paid_outside: int
) -> None:
    amounts = plan_math.split(balance, count)
    assert sum(amounts) == balance and all(type(a) is int for a in amounts)
    assert max(amounts) - min(amounts) <= 1
    owed = max(balance - paid_outside, 0)
    left = plan_math.cover(amounts, owed)
    assert sum(left) == owed
    assert all(0 <= x <= a for x, a in zip(left, amounts, strict=True))
    # The earliest instalments are settled first: once one is left whole, all later ones are.
    whole = [x == a for x, a in zip(left, amounts, strict=True)]
    assert whole == sorted(whole)


def test_the_desk_makes_a_plan_on_an_issued_invoice(clinic: Clinic, gateway: Any) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)
    rows = instalments(plan)
    assert [i.amount_cents for i in rows] == [15000, 15000, 15000]
    assert rows[0].due_date == today(invoice, now)
    assert rows[0].next_attempt_at <= now  # due today: the worker's next pass charges it
    assert plan.total_cents == invoice.balance_cents == 45000
    event = AuditEvent.objects.filter(action="billing.plan_created").get()
    assert event.actor == desk(clinic) and len(event.data["instalments"]) == 3


def test_explicit_dates_split_an_uneven_balance_to_the_cent(clinic: Clinic, gateway: Any) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    pay_at_desk(invoice, 1)  # 449.99 left
    start = today(invoice, now)
    plan = plans.create_plan(
        invoice=invoice,
        card=card_on_file(clinic),
        actor=desk(clinic),
        cadence="dates",
        dates=[start + timedelta(days=d) for d in (3, 10, 40)],
        now=now,
    )
    assert [i.amount_cents for i in instalments(plan)] == [15000, 15000, 14999]


# --- refusals change nothing --------------------------------------------------------------


def _nothing_written(before: tuple[int, int, int]) -> None:
    after = (PaymentPlan.objects.count(), Instalment.objects.count(), AuditEvent.objects.count())
    assert after == before


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"count": 1}, "count"),
        ({"count": 25}, "count"),
        ({"count": "3"}, "count"),
        ({"cadence": "daily"}, "cadence"),
        ({"first_date": None}, "first_date"),
        ({"days_from_today": -1}, "first_date"),
        ({"days_from_today": 1200}, "first_date"),
        ({"cadence": "dates", "count": None, "dates": "backwards"}, "dates"),
        ({"note": "x" * 301}, "note"),
    ],
)
def test_bad_plans_are_refused_and_change_nothing(
    clinic: Clinic, gateway: Any, change: dict[str, Any], error: str
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    card = card_on_file(clinic)
    start = today(invoice, now) + timedelta(days=change.pop("days_from_today", 0))
    asked: dict[str, Any] = {"cadence": "monthly", "count": 3, "first_date": start, **change}
    if asked.get("dates") == "backwards":
        asked["dates"] = [start + timedelta(days=9), start + timedelta(days=2)]
    before = (PaymentPlan.objects.count(), Instalment.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Invalid) as refused:
        plans.create_plan(invoice=invoice, card=card, actor=desk(clinic), now=now, **asked)
    assert refused.value.errors[0].field == error
    _nothing_written(before)


def test_a_plan_needs_a_consented_active_card_of_the_invoices_client(
    clinic: Clinic, outsider: Clinic, gateway: Any
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    someone_else = card_on_file(clinic, client=ClientFactory(organization=clinic.organization))
    removed = card_on_file(clinic)
    removed.is_active = False
    removed.save()
    before = (PaymentPlan.objects.count(), Instalment.objects.count(), AuditEvent.objects.count())
    for card in (None, someone_else, removed, card_on_file(outsider)):
        with pytest.raises(Invalid) as refused:
            plans.create_plan(
                invoice=invoice,
                card=card,
                actor=desk(clinic),
                cadence="weekly",
                count=2,
                first_date=today(invoice, now),
                now=now,
            )
        assert refused.value.errors[0].field == "card"
    _nothing_written(before)


@pytest.mark.parametrize("state", ["draft", "void", "paid"])
def test_no_plan_on_a_draft_void_or_paid_invoice(clinic: Clinic, gateway: Any, state: str) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    if state == "draft":
        Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.DRAFT)
    elif state == "void":
        services.void_invoice(invoice=invoice, actor=None, reason="Booked twice")
    else:
        pay_at_desk(invoice, 45000)
    before = (PaymentPlan.objects.count(), Instalment.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Conflict) as refused:
        monthly(clinic, invoice, now)
    assert refused.value.code == "invoice_not_payable"
    _nothing_written(before)


def test_one_active_plan_per_invoice(clinic: Clinic, gateway: Any) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    monthly(clinic, invoice, now)
    with pytest.raises(Conflict) as refused:
        monthly(clinic, invoice, now)
    assert refused.value.code == "plan_exists"
    assert PaymentPlan.objects.count() == 1


def test_no_plan_while_card_payments_are_the_terminal(clinic: Clinic, settings: Any) -> None:
    settings.MEDSPA_STRIPE_SECRET_KEY = ""
    now = timezone.now()
    invoice = owing(clinic)
    with pytest.raises(Conflict) as refused:
        monthly(clinic, invoice, now)
    assert refused.value.code == "stripe_not_configured"
    assert not PaymentPlan.objects.exists()


# --- the worker charges what is due -------------------------------------------------------


def test_an_instalment_due_today_is_charged_once_even_when_the_job_runs_twice(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)

    first = plans.charge_due_instalments(now=now)
    again = plans.charge_due_instalments(now=now + timedelta(minutes=1))

    assert len(first.paid) == 1 and again.paid == []
    assert len(gateway.calls) == 1 and gateway.calls[0].off_session
    assert gateway.calls[0].payment_method == plan.card.stripe_payment_method_id
    one, two, three = instalments(plan)
    assert one.status == InstalmentStatus.PAID and two.status == three.status == "scheduled"
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.kind, payment.gateway, payment.amount_cents) == (
        "card_on_file",
        "stripe",
        15000,
    )
    assert payment.idempotency_key == plans.attempt_key(one, 1)
    assert payment.idempotency_key.startswith(INTERNAL_KEY_PREFIX)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID and invoice.balance_cents == 30000
    assert len(balanced(invoice)) == 2  # the sale, and one entry for the instalment
    assert account_balance(clinic.organization, "card_clearing") == 15000
    assert trial_balance(clinic.organization).balanced


def test_two_workers_at_once_charge_an_instalment_once(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    """The first worker has claimed the instalment and is at Stripe when the second looks."""
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)
    one = instalments(plan)[0]
    claim = plans._claim(one.pk, now)
    assert claim is not None

    other = plans.charge_due_instalments(now=now)
    assert plans._claim(one.pk, now) is None

    assert other.paid == [] and gateway.calls == []
    result = plans._charge(claim, gateway)
    assert isinstance(result, plans.GatewayResult)
    plans._record_paid(claim, result, now)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert len(gateway.charged) == 1


def test_a_worker_killed_after_the_charge_does_not_charge_twice_on_retry(
    clinic: Clinic, gateway: ScriptedGateway, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # the process dies between Stripe's answer and our commit

    monkeypatch.setattr(plans, "_record_paid", killed)
    with pytest.raises(KeyboardInterrupt):
        plans.charge_instalment(instalments(plan)[0].pk, now=now, gateway=gateway)
    monkeypatch.undo()
    assert instalments(plan)[0].status == InstalmentStatus.CHARGING
    assert not Payment.objects.filter(invoice=invoice).exists()

    # Within the lease nobody touches it; after it, the same attempt is taken up again.
    assert plans.charge_due_instalments(now=now + timedelta(minutes=5)).paid == []
    lease = settings.MEDSPA_PLAN_CLAIM_LEASE_MINUTES
    retried = plans.charge_due_instalments(now=now + timedelta(minutes=lease + 1))

    assert len(retried.paid) == 1
    assert [c.key for c in gateway.calls] == [gateway.calls[0].key] * 2
    assert len(gateway.charged) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert instalments(plan)[0].status == InstalmentStatus.PAID
    assert trial_balance(clinic.organization).balanced


def test_stripe_unreachable_retries_the_same_attempt_later(
    clinic: Clinic, gateway: ScriptedGateway, settings: Any
) -> None:
    now = timezone.now()
    plan = monthly(clinic, owing(clinic), now)
    gateway.unreachable = 1
    run = plans.charge_due_instalments(now=now)
    one = instalments(plan)[0]
    # Stripe may have taken it: still in flight, never back among the scheduled ones.
    assert run.unreachable == [one.pk] and one.status == "charging" and one.attempt_open
    assert "could not be reached" in one.last_error
    wait = settings.MEDSPA_PLAN_UNREACHABLE_RETRY_MINUTES
    assert plans.charge_due_instalments(now=now + timedelta(minutes=wait - 1)).paid == []
    assert plans.charge_due_instalments(now=now + timedelta(minutes=wait)).paid == [one.pk]
    assert gateway.calls[0].key == gateway.calls[1].key  # the same attempt, the same key
    assert instalments(plan)[0].declines == 0


def test_declines_retry_on_schedule_then_open_one_follow_up(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)
    gateway.declines.add(plan.card.stripe_payment_method_id)

    plans.charge_due_instalments(now=now)
    one = instalments(plan)[0]
    assert one.status == "scheduled" and one.declines == 1
    assert one.next_attempt_at == now + timedelta(days=1)
    assert "insufficient funds" in one.last_error
    assert plans.charge_due_instalments(now=now + timedelta(hours=23)).declined == []
    plans.charge_due_instalments(now=now + timedelta(days=1))
    assert instalments(plan)[0].next_attempt_at == now + timedelta(days=4)
    assert plans.charge_due_instalments(now=now + timedelta(days=3)).declined == []
    last = plans.charge_due_instalments(now=now + timedelta(days=4))

    assert last.failed_plans == [plan.pk]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED and "declined 3 times" in plan.end_reason
    follow_up = PaymentFollowUp.objects.get()
    assert (follow_up.amount_cents, follow_up.status) == (45000, "open")
    assert "insufficient funds" in follow_up.reason
    tries = InstalmentAttempt.objects.filter(instalment=instalments(plan)[0])
    assert [t.outcome for t in tries] == ["declined"] * 3
    assert len({t.idempotency_key for t in tries}) == 3  # a new key each attempt
    # Nothing more is charged, and running again opens no second follow-up.
    plans.charge_due_instalments(now=now + timedelta(days=40))
    assert len(gateway.calls) == 3 and PaymentFollowUp.objects.count() == 1
    assert not Payment.objects.filter(invoice=invoice).exists()
    assert AuditEvent.objects.filter(action="billing.instalment_declined").count() == 3
    assert AuditEvent.objects.filter(action="billing.plan_failed").count() == 1


def test_the_retry_delays_are_a_setting(
    clinic: Clinic, gateway: ScriptedGateway, settings: Any
) -> None:
    settings.MEDSPA_PLAN_RETRY_DAYS = [2]
    now = timezone.now()
    plan = monthly(clinic, owing(clinic), now)
    gateway.declines.add(plan.card.stripe_payment_method_id)
    plans.charge_due_instalments(now=now)
    assert instalments(plan)[0].next_attempt_at == now + timedelta(days=2)
    assert plans.charge_due_instalments(now=now + timedelta(days=2)).failed_plans == [plan.pk]


# --- money paid outside the plan, cancelling ----------------------------------------------


def test_a_payment_at_the_desk_covers_the_next_instalments_first(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)
    plans.charge_due_instalments(now=now)  # 150.00 by card
    pay_at_desk(invoice, 20000)  # 200.00 cash: the next instalment and 50.00 of the third

    plans.settle_plans(now=now)
    assert [(i.status, i.amount_cents) for i in instalments(plan)] == [
        ("paid", 15000),
        ("covered", 0),
        ("scheduled", 10000),
    ]
    third_month = instalments(plan)[2].next_attempt_at
    plans.charge_due_instalments(now=third_month)
    assert gateway.calls[-1].amount_cents == 10000
    plan.refresh_from_db()
    invoice.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED and invoice.status == InvoiceStatus.PAID
    assert trial_balance(clinic.organization).balanced


def test_paid_in_full_at_the_desk_completes_the_plan(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)
    pay_at_desk(invoice, 45000)
    run = plans.charge_due_instalments(now=now)
    assert run.settled == 1 and run.paid == [] and gateway.calls == []
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert {i.status for i in instalments(plan)} == {"covered"}


def test_money_taken_at_the_desk_during_the_charge_is_refunded_not_booked_twice(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now, count=2)
    charge = gateway.authorize

    def while_at_stripe(request: Any) -> Any:
        pay_at_desk(invoice, 45000)  # the client pays it all in cash meanwhile
        return charge(request)

    gateway.authorize = while_at_stripe  # type: ignore[method-assign]
    plans.charge_instalment(instalments(plan)[0].pk, now=now, gateway=gateway)

    (captured,) = gateway.charged
    assert gateway.refunds == [(captured.reference, 22500, f"{gateway.calls[0].key}:excess")]
    invoice.refresh_from_db()
    assert invoice.paid_cents == 45000 and trial_balance(clinic.organization).balanced
    assert not Payment.objects.filter(invoice=invoice, kind="card_on_file").exists()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED


def test_cancelling_a_plan_stops_its_charges(clinic: Clinic, gateway: ScriptedGateway) -> None:
    now = timezone.now()
    plan = monthly(clinic, owing(clinic), now)
    plans.cancel_plan(plan=plan, actor=desk(clinic), reason="Client will pay at the next visit")
    assert plans.charge_due_instalments(now=now + timedelta(days=90)).paid == []
    assert gateway.calls == []
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED and plan.ended_by == desk(clinic)
    assert {i.status for i in instalments(plan)} == {"cancelled"}
    with pytest.raises(Conflict):
        plans.cancel_plan(plan=plan, actor=desk(clinic), reason="again")
    with pytest.raises(Invalid):
        plans.cancel_plan(plan=monthly(clinic, plan.invoice, now), actor=None, reason=" ")


def test_a_voided_invoice_cancels_its_plan(clinic: Clinic, gateway: ScriptedGateway) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now + timedelta(days=1))
    services.void_invoice(invoice=invoice, actor=None, reason="Wrong client")
    plans.charge_due_instalments(now=now + timedelta(days=2))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED and gateway.calls == []


# --- follow-ups ---------------------------------------------------------------------------


def failed_plan(clinic: Clinic, gateway: ScriptedGateway, now: datetime) -> PaymentFollowUp:
    plan = monthly(clinic, owing(clinic), now)
    gateway.declines.add(plan.card.stripe_payment_method_id)
    for days in (0, 1, 4):
        plans.charge_due_instalments(now=now + timedelta(days=days))
    return PaymentFollowUp.objects.get(plan=plan)


def test_resolved_as_paid_only_once_nothing_is_owed(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    follow_up = failed_plan(clinic, gateway, now)
    billing = clinic.users[Role.BILLING]
    with pytest.raises(Conflict) as refused:
        plans.resolve_follow_up(follow_up=follow_up, actor=billing, resolution="paid")
    assert refused.value.code == "balance_owed"
    pay_at_desk(follow_up.invoice, 45000)
    done = plans.resolve_follow_up(
        follow_up=follow_up, actor=billing, resolution="paid", note="Paid cash on the phone"
    )
    assert (done.status, done.resolution, done.resolved_by) == ("resolved", "paid", billing)
    assert AuditEvent.objects.filter(action="billing.follow_up_resolved").count() == 1
    with pytest.raises(Conflict):
        plans.resolve_follow_up(follow_up=follow_up, actor=billing, resolution="paid")


def test_a_new_card_takes_the_plan_up_again(clinic: Clinic, gateway: ScriptedGateway) -> None:
    now = timezone.now()
    follow_up = failed_plan(clinic, gateway, now)
    new_card = card_on_file(clinic, pm="pm_card_mastercard")
    plans.resolve_follow_up(
        follow_up=follow_up,
        actor=clinic.users[Role.MANAGER],
        resolution="new_card",
        card=new_card,
        now=now + timedelta(days=5),
    )
    plan = PaymentPlan.objects.get()
    assert plan.status == PlanStatus.ACTIVE and plan.card == new_card
    run = plans.charge_due_instalments(now=now + timedelta(days=5))
    assert len(run.paid) == 1
    assert gateway.calls[-1].payment_method == new_card.stripe_payment_method_id
    assert len({c.key for c in gateway.calls}) == 4  # never an old attempt's key again


def test_written_off_with_a_reason_is_a_credit_note(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    follow_up = failed_plan(clinic, gateway, now)
    manager = clinic.users[Role.MANAGER]
    with pytest.raises(Invalid):
        plans.resolve_follow_up(follow_up=follow_up, actor=manager, resolution="written_off")
    plans.resolve_follow_up(
        follow_up=follow_up,
        actor=manager,
        resolution="written_off",
        note="Client moved abroad; not worth collecting",
    )
    invoice = follow_up.invoice
    invoice.refresh_from_db()
    assert invoice.balance_cents == 0 and invoice.status == InvoiceStatus.PAID
    note = invoice.credit_notes.get()
    assert note.amount_cents == 45000 and note.reason.startswith("Written off: Client moved")
    assert trial_balance(clinic.organization).balanced
    assert {i.status for i in instalments(follow_up.plan)} <= {"failed", "cancelled"}


def test_no_new_plan_while_the_failed_one_is_followed_up(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    follow_up = failed_plan(clinic, gateway, timezone.now())
    with pytest.raises(Conflict) as refused:
        monthly(clinic, follow_up.invoice, timezone.now())
    assert refused.value.code == "follow_up_open"
    assert PaymentPlan.objects.count() == 1


def test_a_bad_resolution_changes_nothing(clinic: Clinic, gateway: ScriptedGateway) -> None:
    now = timezone.now()
    follow_up = failed_plan(clinic, gateway, now)
    events = AuditEvent.objects.count()
    for asked in ({"resolution": "forgiven"}, {"resolution": "new_card"}):
        with pytest.raises(DomainError):
            plans.resolve_follow_up(follow_up=follow_up, actor=None, **asked)
    follow_up.refresh_from_db()
    assert follow_up.status == "open" and AuditEvent.objects.count() == events


def test_follow_ups_are_the_organizations_own(
    clinic: Clinic, outsider: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    theirs = failed_plan(outsider, gateway, now)
    assert not plans.follow_ups_for(clinic.organization).exists()
    with pytest.raises(DomainError) as refused:
        plans.follow_up_of(clinic.organization, theirs.pk)
    assert refused.value.status == 404


# --- the worker command -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes connections between polls
def test_medspa_worker_once_charges_what_is_due_outside_any_transaction(
    gateway: ScriptedGateway,
) -> None:
    from io import StringIO

    from django.core.management import call_command

    from tests.conftest import build_clinic

    clinic = build_clinic("Lumen")
    now = timezone.now()
    invoice = owing(clinic)
    monthly(clinic, invoice, now)

    call_command("worker", "--once", stdout=StringIO())

    (call,) = gateway.calls
    assert call.in_transaction is False  # never a lock held across the network
    invoice.refresh_from_db()
    assert invoice.paid_cents == 15000


# --- against the fake Stripe server -------------------------------------------------------


@pytest.fixture
def stripe_fake(settings: Any) -> Iterator[FakeStripe]:
    """Stripe switched on, pointed at the local fake, which starts empty."""
    server = shared_fake()
    server.reset()
    settings.MEDSPA_STRIPE_SECRET_KEY = "sk_test_medspa"
    settings.MEDSPA_STRIPE_API_BASE = server.url
    yield server


def saved_card(clinic: Clinic, test_card: str = "pm_card_visa") -> CardOnFile:
    """The client enters a card into Stripe's form at the desk and agrees to keep it."""
    setup = stripe_gateway.start_card_setup(client=clinic.client, actor=desk(clinic))
    stripe_gateway.stripe_client().v1.setup_intents.confirm(
        setup.setup_intent_id, {"payment_method": test_card}
    )
    return stripe_gateway.save_card_on_file(
        client=clinic.client,
        setup_intent_id=setup.setup_intent_id,
        consent_text=CONSENT,
        actor=desk(clinic),
    )


def stripe_plan(clinic: Clinic, card: CardOnFile, now: datetime) -> PaymentPlan:
    invoice = owing(clinic)
    return plans.create_plan(
        invoice=invoice,
        card=card,
        actor=desk(clinic),
        cadence="weekly",
        count=2,
        first_date=today(invoice, now),
        now=now,
    )


def test_stripe_charges_the_card_on_file_once_for_an_instalment_due_today(
    clinic: Clinic, stripe_fake: FakeStripe
) -> None:
    now = timezone.now()
    card = saved_card(clinic)
    plan = stripe_plan(clinic, card, now)
    plans.charge_due_instalments(now=now)
    plans.charge_due_instalments(now=now + timedelta(minutes=1))

    (charge,) = stripe_fake.posts_to("/v1/payment_intents")
    assert charge.params["off_session"] == "true" and charge.params["amount"] == "22500"
    assert charge.params["payment_method"] == card.stripe_payment_method_id
    assert charge.params["customer"] == card.stripe_customer_id
    payment = Payment.objects.get(invoice=plan.invoice)
    assert stripe_fake.objects[payment.reference]["status"] == "succeeded"
    assert trial_balance(clinic.organization).balanced


def test_stripe_answers_a_retried_attempt_from_its_store_never_charging_twice(
    clinic: Clinic, stripe_fake: FakeStripe, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    now = timezone.now()
    plan = stripe_plan(clinic, saved_card(clinic), now)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plans, "_record_paid", killed)
    with pytest.raises(KeyboardInterrupt):
        plans.charge_due_instalments(now=now)
    monkeypatch.undo()
    lease = settings.MEDSPA_PLAN_CLAIM_LEASE_MINUTES
    plans.charge_due_instalments(now=now + timedelta(minutes=lease + 1))

    asked = [r for r in stripe_fake.requests if r.path == "/v1/payment_intents"]
    assert len(asked) == 2 and asked[1].replayed
    assert len(stripe_fake.posts_to("/v1/payment_intents")) == 1  # one charge at Stripe
    payment = Payment.objects.get(invoice=plan.invoice)
    assert payment.reference == next(
        o["id"] for o in stripe_fake.objects.values() if o["object"] == "payment_intent"
    )


def test_a_card_stripe_declines_is_retried_under_a_new_key(
    clinic: Clinic, stripe_fake: FakeStripe
) -> None:
    now = timezone.now()
    card = card_on_file(clinic, pm="pm_card_chargeDeclined")
    CardOnFile.objects.filter(pk=card.pk).update(
        stripe_payment_method_id="pm_card_chargeDeclined", stripe_customer_id=""
    )
    card.refresh_from_db()
    plan = stripe_plan(clinic, card, now)
    plans.charge_due_instalments(now=now)
    plans.charge_due_instalments(now=now + timedelta(days=1))

    one = instalments(plan)[0]
    assert one.declines == 2 and "declined" in one.last_error
    keys = [r.idempotency_key for r in stripe_fake.posts_to("/v1/payment_intents")]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert not Payment.objects.filter(invoice=plan.invoice).exists()


@pytest.mark.django_db(transaction=True)  # real concurrent transactions, one per thread
def test_two_workers_running_at_the_same_moment_charge_once(gateway: ScriptedGateway) -> None:
    import threading
    import time

    from django.db import connection

    from tests.conftest import build_clinic

    clinic = build_clinic("Lumen")
    now = timezone.now()
    invoice = owing(clinic)
    monthly(clinic, invoice, now)
    slow = gateway.authorize

    def at_stripe(request: Any) -> Any:
        time.sleep(0.3)  # long enough for the other worker to look meanwhile
        return slow(request)

    gateway.authorize = at_stripe  # type: ignore[method-assign]
    start = threading.Barrier(2)
    runs: list[plans.RunSummary] = []

    def worker() -> None:
        try:
            start.wait()
            runs.append(plans.charge_due_instalments(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(len(r.paid) for r in runs) == [0, 1]
    assert len(gateway.calls) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert trial_balance(clinic.organization).balanced


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("desk"), st.integers(min_value=1, max_value=20000)),
        st.tuples(st.just("worker"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("card"), st.booleans()),
    ),
    min_size=1,
    max_size=10,
)


@hsettings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_any_mix_of_instalments_desk_payments_and_declines_keeps_plan_and_books_right(
    db: None, gateway: ScriptedGateway, actions: list[tuple[str, Any]]
) -> None:
    from tests.conftest import build_clinic

    clinic = build_clinic("Lumen")
    start = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, start, count=4)
    card = plan.card.stripe_payment_method_id
    # The gateway outlives one example, and earlier examples' plans are charged too.
    gateway.calls.clear()
    days = 0
    for kind, value in actions:
        if kind == "desk":
            invoice.refresh_from_db()
            if invoice.balance_cents:
                pay_at_desk(invoice, min(value, invoice.balance_cents))
        elif kind == "card":
            (gateway.declines.add if value else gateway.declines.discard)(card)
        else:
            days += value
            plans.charge_due_instalments(now=start + timedelta(days=days))
            invoice.refresh_from_db()
            plan.refresh_from_db()
            open_cents = sum(
                i.amount_cents for i in instalments(plan) if i.status in ("scheduled", "charging")
            )
            if plan.status == PlanStatus.ACTIVE:
                assert open_cents == invoice.balance_cents
            if plan.status == PlanStatus.COMPLETED:
                assert invoice.balance_cents == 0
        paid = sum(Payment.objects.filter(invoice=invoice).values_list("amount_cents", flat=True))
        invoice.refresh_from_db()
        assert paid == invoice.paid_cents <= invoice.total_cents
        assert trial_balance(clinic.organization).balanced
    # Every cent the card was charged is booked once, and nothing else is booked as card.
    ours = [gateway.answers[k] for k in {c.key for c in gateway.calls if c.payment_method == card}]
    by_card = sum(
        Payment.objects.filter(invoice=invoice, kind="card_on_file").values_list(
            "amount_cents", flat=True
        )
    )
    assert by_card == sum(a.amount_cents for a in ours if a.status == "captured"), (
        list(gateway.answers.items()),
        list(
            Payment.objects.filter(invoice=invoice).values_list("idempotency_key", "amount_cents")
        ),
        actions,
    )


def test_a_card_taken_off_file_is_never_charged_and_a_person_follows_up(
    clinic: Clinic, gateway: ScriptedGateway
) -> None:
    now = timezone.now()
    plan = monthly(clinic, owing(clinic), now)
    stripe_gateway.remove_card_on_file(card=plan.card, actor=desk(clinic))

    plans.charge_due_instalments(now=now)

    assert gateway.calls == []
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED and "removed from file" in plan.end_reason
    assert PaymentFollowUp.objects.get(plan=plan).status == "open"
    assert instalments(plan)[0].status == InstalmentStatus.FAILED


@pytest.mark.parametrize("meanwhile", ["desk pays it all", "the plan is cancelled"])
def test_a_charge_of_unknown_outcome_is_booked_or_given_back_whatever_happens_meanwhile(
    clinic: Clinic, gateway: ScriptedGateway, settings: Any, meanwhile: str
) -> None:
    now = timezone.now()
    invoice = owing(clinic)
    plan = monthly(clinic, invoice, now)
    # Stripe took the money but its answer never arrived.
    gateway.unreachable = 1
    gateway.charge_before_failing = True
    plans.charge_due_instalments(now=now)
    if meanwhile == "desk pays it all":
        invoice.refresh_from_db()
        pay_at_desk(invoice, invoice.balance_cents)
    else:
        plans.cancel_plan(plan=plan, actor=clinic.users["billing"], reason="Paid by cheque")
    wait = settings.MEDSPA_PLAN_UNREACHABLE_RETRY_MINUTES

    plans.charge_due_instalments(now=now + timedelta(minutes=wait))

    one = instalments(plan)[0]
    charged = sum(a.amount_cents for a in gateway.charged)
    booked = sum(
        Payment.objects.filter(invoice=invoice, kind="card_on_file").values_list(
            "amount_cents", flat=True
        )
    )
    given_back = sum(amount for _, amount, _ in gateway.refunds)
    assert charged > 0 and not one.attempt_open
    assert booked + given_back == charged  # every charged cent booked or refunded
    books = trial_balance(clinic.organization, None, None)
    assert books.debit_cents == books.credit_cents
