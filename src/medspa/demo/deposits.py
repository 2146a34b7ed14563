"""The demo clinic's booking policies, deposits on the coming weeks, and fees to decide.

Policies ask a deposit for fillers, biostimulators and energy treatments (where a missed
slot costs a provider and a device), with a window and late-cancel and no-show fees. The
coming visits of those services carry their deposit request and terms, as booking them
through the service would have; most deposits are already taken at the desk. Two visits
cancelled inside the window today leave their fees proposed on the Fees page for a person.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from medspa.billing import deposits
from medspa.billing.deposit_models import DepositStatus
from medspa.catalog.models import Service
from medspa.catalog.policies import set_booking_policy
from medspa.core.models import Organization, Role, User
from medspa.scheduling import services as scheduling
from medspa.scheduling.models import Appointment, AppointmentStatus

# Service name -> policy: a fixed deposit, the window in hours, the late-cancel and no-show
# fees (cents). The deposit is kept on a late cancel or a no-show.
POLICIES: dict[str, dict[str, object]] = {
    "Lip filler": dict(deposit_amount_cents=10_000, late_cancel_fee_cents=25_000),
    "Cheek filler (2 syringes)": dict(deposit_amount_cents=20_000, late_cancel_fee_cents=40_000),
    "Under-eye filler": dict(deposit_amount_cents=15_000, late_cancel_fee_cents=30_000),
    "Chin and jawline filler": dict(deposit_amount_cents=20_000, late_cancel_fee_cents=40_000),
    "Sculptra biostimulator": dict(deposit_amount_cents=20_000, late_cancel_fee_cents=40_000),
    "RF microneedling (Morpheus8)": dict(deposit_amount_cents=25_000, late_cancel_fee_cents=50_000),
    "IPL photofacial": dict(deposit_amount_cents=10_000, late_cancel_fee_cents=20_000),
}
# The fee is proposed less the deposit kept, so it is above the deposit; a no-show costs
# twice a late cancellation.
NO_SHOW_FEE_FACTOR = 2  # a no-show costs twice a late cancellation
WINDOW_HOURS = 48


def set_up_deposits(*, organization: Organization, now: datetime, seed: int) -> dict[str, int]:
    """Policies, the coming visits' deposits (most taken), and two late cancellations."""
    rng = random.Random(f"deposits|{seed}")
    manager = User.objects.get(organization=organization, role=Role.MANAGER)
    desk = User.objects.get(organization=organization, role=Role.FRONT_DESK)
    services = Service.objects.filter(organization=organization, name__in=POLICIES)
    for service in services:
        policy = POLICIES[service.name]
        late_fee = policy["late_cancel_fee_cents"]
        assert isinstance(late_fee, int)
        set_booking_policy(
            service=service,
            actor=manager,
            now=now - timedelta(days=120),  # set before any coming visit was booked
            deposit_kind="amount",
            cancel_window_hours=WINDOW_HOURS,
            no_show_fee_cents=late_fee * NO_SHOW_FEE_FACTOR,
            **policy,
        )
    coming = (
        Appointment.objects.filter(
            organization=organization,
            start__gt=now,
            status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
            lines__service__in=services,
        )
        .distinct()
        .select_related("organization", "location", "client")
        .order_by("start", "pk")
    )
    asked = taken = 0
    for visit in coming:
        deposit = deposits.request_deposit(appointment=visit, actor=desk)
        if deposit is None:
            continue
        asked += 1
        if rng.random() < 0.7:
            paid_at = min(visit.created_at + timedelta(minutes=5), now - timedelta(minutes=5))
            tender = rng.choice(("card_external", "card_external", "cash"))
            deposits.take_deposit(
                deposit=deposit,
                tender=tender,
                amount_cents=deposit.amount_cents,
                idempotency_key=f"demo-deposit-{deposit.pk}",
                actor=desk,
                reference=f"T{rng.randint(100000, 999999)}" if tender != "cash" else "",
                now=max(paid_at, now - timedelta(days=20)),
            )
            taken += 1
    # Two clients cancel inside the window: their deposits are kept and fees proposed.
    soon = (
        deposits.deposits_for(organization)
        .filter(
            status__in=(DepositStatus.DUE, DepositStatus.HELD),
            appointment__start__lt=now + timedelta(hours=WINDOW_HOURS),
        )
        .select_related("appointment", "appointment__location")
        .order_by("appointment__start")[:2]
    )
    late = 0
    for deposit in soon:
        if deposit.status == DepositStatus.DUE:
            deposits.take_deposit(
                deposit=deposit,
                tender="card_external",
                amount_cents=deposit.amount_cents,
                idempotency_key=f"demo-deposit-{deposit.pk}",
                actor=desk,
                reference=f"T{rng.randint(100000, 999999)}",
                now=now - timedelta(days=3),
            )
        scheduling.cancel_appointment(
            appointment=deposit.appointment,
            actor=desk,
            reason="Client called: cannot make it",
            now=now,
        )
        late += 1
    return {"deposits asked": asked, "deposits taken": taken, "late cancellations": late}
