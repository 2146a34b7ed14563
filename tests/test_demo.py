"""The demo clinic: it builds, is deterministic per seed, and every booking is feasible."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import F
from django.test import override_settings

from medspa.clients.models import MEDICAL_FLAGS, Client, MedicalHistory
from medspa.core.audit import verify_chain
from medspa.core.models import AuditEvent, Organization, Role, User
from medspa.demo import DEMO_PASSWORD, DEMO_SLUG, DemoSummary, build_demo, demo_logins
from medspa.scheduling import engine
from medspa.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Reservation,
    Resource,
    ResourceBlock,
    ResourceKind,
    WorkingHours,
)

# A Wednesday: 11:00 in Boston and 09:00 in Denver, so "today" is open at both sites.
NOW = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)

Fingerprint = list[tuple[str, str, str, str, tuple[tuple[str, str], ...]]]


def build(seed: int = 1, *, reset: bool = False) -> DemoSummary:
    # Two weeks either side keep the test quick and still reach Thanksgiving (2026-11-26).
    return build_demo(seed=seed, reset=reset, now=NOW, weeks_past=2, weeks_future=2)


def fingerprint() -> Fingerprint:
    appointments = Appointment.objects.select_related("client", "location").prefetch_related(
        "lines__service", "lines__provider"
    )
    return sorted(
        (
            a.start.isoformat(),
            a.location.name,
            a.client.full_name,
            a.status,
            tuple(
                (line.service.name, line.provider.name if line.provider else "")
                for line in a.lines.all()
            ),
        )
        for a in appointments
    )


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[DemoSummary]:
    """One demo clinic for the whole module, rolled back at its end.

    Building it costs tens of seconds (clinical records, the books); every test here only
    reads it, inside its own savepoint of this transaction. Tests that need an empty
    database (reset, the command) live in test_demo_command.py.
    """
    # The tests' fast hasher (conftest), here too: the demo's logins are checked against it.
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic(), fast:
        summary = build()
        yield summary
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_demo_clinic_builds(demo: DemoSummary) -> None:
    org = Organization.objects.get(slug=DEMO_SLUG)
    assert org.name == "Lumen Aesthetics" and org.currency == "USD"
    zones = dict(org.locations.values_list("name", "time_zone"))
    assert zones == {
        "Lumen Boston — Back Bay": "America/New_York",
        "Lumen Denver — Cherry Creek": "America/Denver",
    }
    assert (demo.providers, demo.rooms, demo.devices) == (9, 6, 3)
    assert demo.services >= 20 and demo.clients == 300
    assert demo.appointments == Appointment.objects.count() > 400
    boston, denver = demo.per_open_day.values()
    assert boston > denver > 5
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert {"completed", "cancelled", "no_show", "booked", "confirmed"} <= statuses
    assert Appointment.objects.filter(lines__position=1).exists(), "some multi-service visits"
    reasons = set(ResourceBlock.objects.values_list("reason", flat=True))
    assert {"time_off", "maintenance", "holiday"} <= reasons  # Thanksgiving is in the window
    event = AuditEvent.objects.get(organization=org, action="demo.loaded")
    assert event.data["appointments"] == demo.appointments
    assert verify_chain(org) is None


@pytest.mark.django_db
def test_no_two_active_reservations_of_a_resource_overlap(demo: DemoSummary) -> None:
    by_resource: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for rid, start, end in Reservation.objects.filter(active=True).values_list(
        "resource_id", "start", "end"
    ):
        by_resource[rid].append((start, end))
    assert len(by_resource) >= 15
    for spans in by_resource.values():
        spans.sort()
        for (_, end), (start, _) in pairwise(spans):
            assert end <= start


@pytest.mark.django_db
def test_every_reservation_lies_in_working_hours_and_outside_blocks(demo: DemoSummary) -> None:
    hours: dict[tuple[int, int], list[engine.WeeklyHours]] = defaultdict(list)
    for h in WorkingHours.objects.all():
        hours[(h.resource_id, h.location_id)].append(
            engine.WeeklyHours(h.weekday, h.start_time, h.end_time, h.valid_from, h.valid_until)
        )
    blocks = list(ResourceBlock.objects.values_list("resource_id", "location_id", "start", "end"))
    checked = 0
    for r in Reservation.objects.select_related("appointment__location", "resource"):
        location = r.appointment.location
        if r.resource.kind != ResourceKind.PROVIDER:
            assert r.resource.location_id == location.pk
        day = r.start.astimezone(location.zone).date()
        working = engine.expand_weekly(
            hours[(r.resource_id, location.pk)], location.time_zone, day, day
        )
        start, end = int(r.start.timestamp()), int(r.end.timestamp())
        assert any(a <= start and end <= b for a, b in working), r
        for rid, lid, b_start, b_end in blocks:
            if rid == r.resource_id or (rid is None and lid == location.pk):
                assert r.end <= b_start or r.start >= b_end, r
        checked += 1
    assert checked == demo.reservations


@pytest.mark.django_db
def test_statuses_follow_the_clock(demo: DemoSummary) -> None:
    future = Appointment.objects.filter(start__gt=NOW)
    past = Appointment.objects.filter(end__lte=NOW)
    assert not future.filter(
        status__in=[AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW]
    ).exists()
    assert set(past.values_list("status", flat=True)) <= {"completed", "cancelled", "no_show"}
    cancelled = Appointment.objects.filter(status=AppointmentStatus.CANCELLED)
    assert cancelled.exists() and not cancelled.filter(cancel_reason="").exists()
    for appointment in Appointment.objects.prefetch_related("reservations"):
        active = appointment.status in ACTIVE_STATUSES
        assert all(r.active == active for r in appointment.reservations.all())
    # Today (a Wednesday, mid-morning in Boston) has done, current and upcoming visits.
    today = set(
        Appointment.objects.filter(
            location__name__startswith="Lumen Boston",
            start__gte=NOW - timedelta(hours=3),
            start__lt=NOW + timedelta(hours=9),
        ).values_list("status", flat=True)
    )
    assert "completed" in today and today & {"checked_in", "in_treatment"}
    assert today & {"booked", "confirmed"}
    assert Appointment.objects.filter(created_at__gt=NOW).count() == 0
    assert not Appointment.objects.filter(created_at__gt=F("start")).exists()


@pytest.mark.django_db
def test_one_login_per_role_with_the_demo_password(demo: DemoSummary) -> None:
    logins = demo_logins()
    assert len(logins) == len(Role.values) == 5
    roles = set()
    for _, email in logins:
        user = authenticate(email=email, password=DEMO_PASSWORD)
        assert isinstance(user, User), email
        assert user.organization is not None and user.organization.slug == DEMO_SLUG
        assert user.full_name
        roles.add(user.role)
    assert roles == set(Role.values)
    provider = User.objects.get(email="provider@demo.medspa.example")
    resource = Resource.objects.get(user=provider)
    assert resource.kind == ResourceKind.PROVIDER and resource.name == provider.full_name
    assert authenticate(email=logins[0][1], password="wrong") is None


@pytest.mark.django_db
def test_some_clients_have_a_medical_history_on_record(demo: DemoSummary) -> None:
    histories = list(MedicalHistory.objects.all())
    clients = Client.objects.count()
    assert 0.25 * clients < len(histories) < 0.55 * clients
    assert any(h.allergies for h in histories) and any(h.medical_flags for h in histories)
    assert all(set(h.medical_flags) <= set(MEDICAL_FLAGS) for h in histories)


@pytest.mark.django_db
def test_past_visits_are_checked_out_and_the_books_balance(demo: DemoSummary) -> None:
    from medspa.billing.models import Invoice, InvoiceStatus
    from medspa.clinical.models import Chart, ChartStatus
    from medspa.ledger.selectors import trial_balance

    org = Organization.objects.get(slug=DEMO_SLUG)
    signed = Chart.objects.filter(organization=org, status=ChartStatus.SIGNED)
    invoiced = Invoice.objects.filter(organization=org, appointment__chart__in=signed)
    assert signed.exists() and invoiced.count() == signed.count()
    # Every visit is paid, or was free (a complimentary follow-up, voided before issue).
    assert set(invoiced.values_list("status", flat=True)) <= {
        InvoiceStatus.PAID,
        InvoiceStatus.VOID,
    }
    assert invoiced.filter(status=InvoiceStatus.PAID).count() > 0.9 * signed.count()
    books = trial_balance(org, None, None)
    assert books.debit_cents == books.credit_cents > 0
    receivable = next(r for r in books.rows if r.key == "accounts_receivable")
    assert receivable.debit_cents == receivable.credit_cents  # nothing left owing


@pytest.mark.django_db
def test_the_demo_desk_gave_some_money_back_and_closed_every_past_day(demo: DemoSummary) -> None:
    from medspa.billing.close import local_today
    from medspa.billing.models import DailyClose, Payment, Refund
    from medspa.ledger.selectors import trial_balance

    org = Organization.objects.get(slug=DEMO_SLUG)
    assert org.legal_name and org.tax_number  # printed on every receipt
    given = Refund.objects.filter(organization=org)
    assert given.exists()
    for refund in given.select_related("invoice"):
        assert refund.amount_cents <= refund.invoice.paid_cents
        assert refund.reason
    closes = DailyClose.objects.filter(organization=org).select_related("location")
    assert closes.exists()
    # Every past local day that took cash at a location is closed; today's till stays open.
    for close in closes:
        assert close.business_date < local_today(close.location, NOW)
        assert close.difference_cents == 0 or close.explanation
    cash_days = {
        (p.invoice.location_id, p.received_at.astimezone(p.invoice.location.zone).date())
        for p in Payment.objects.filter(organization=org, kind="cash").select_related(
            "invoice__location"
        )
    }
    closed = {(c.location_id, c.business_date) for c in closes}
    assert {day for day in cash_days if day[1] < local_today(closes[0].location, NOW)} <= closed
    books = trial_balance(org, None, None)
    assert books.debit_cents == books.credit_cents


@pytest.mark.django_db
def test_the_demo_runs_offers_and_rewards_referrals(demo: DemoSummary) -> None:
    from medspa.billing.models import InvoiceLine, LineKind
    from medspa.billing.promotion_models import PromotionCode, Referral
    from medspa.billing.refunds import credit_balance

    org = Organization.objects.get(slug=DEMO_SLUG)
    codes = {p.code: p for p in PromotionCode.objects.filter(organization=org)}
    assert {"WELCOME10", "GLOW20", "SUMMER15"} <= set(codes)
    assert not codes["SUMMER15"].is_active  # last summer's, switched off
    used = InvoiceLine.objects.filter(
        organization=org, kind=LineKind.DISCOUNT, reason__startswith="Promotion code"
    )
    assert used.count() == sum(p.used_count for p in codes.values()) > 0
    granted = Referral.objects.filter(organization=org, granted_at__isnull=False)
    assert granted.exists()
    referrer = granted.select_related("referrer").first().referrer  # type: ignore[union-attr]
    assert credit_balance(referrer) >= 0


@pytest.mark.django_db
def test_the_demo_holds_deposits_for_coming_visits_and_fees_for_a_person(
    demo: DemoSummary,
) -> None:
    from medspa.billing.deposit_models import Deposit, DepositStatus, FeeStatus, ProposedFee
    from medspa.billing.deposits import held_total
    from medspa.ledger.selectors import trial_balance

    org = Organization.objects.get(slug=DEMO_SLUG)
    held = Deposit.objects.filter(organization=org, status=DepositStatus.HELD)
    assert held.exists() and Deposit.objects.filter(status=DepositStatus.DUE).exists()
    books = trial_balance(org, None, None)
    row = next(r for r in books.rows if r.key == "deposits_held")
    assert row.credit_cents - row.debit_cents == held_total(org) > 0
    # Late cancellations keep their deposit and leave the fee to a person: never charged.
    proposed = ProposedFee.objects.filter(organization=org, status=FeeStatus.PROPOSED)
    assert proposed.exists()
    assert Deposit.objects.filter(organization=org, status=DepositStatus.FORFEITED).exists()
