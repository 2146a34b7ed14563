"""The daily close: a location's till count at the end of its business day against expected cash.

Expected cash is what the drawer took that local day (tenders booked to the `cash` account:
cash and cheques, which sit in the drawer until banked) less what it paid out in refunds to
those tenders; the opening float is left out of both sides. The difference is posted against
`cash_over_short` so the books' cash matches the count, and it must be explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from medspa.billing import money
from medspa.billing.models import DailyClose, Payment, Refund
from medspa.billing.services import _text
from medspa.billing.tenders import tender_kinds, tender_named
from medspa.core.audit import record_event
from medspa.core.errors import Conflict, FieldError, Invalid
from medspa.core.models import Location, User
from medspa.ledger.services import Posting, post_entry

MAX_COUNT_CENTS = 2**31 - 1


def drawer_kinds() -> list[str]:
    """The tender kinds that land in the drawer (booked to the cash account)."""
    return [k for k in tender_kinds() if (t := tender_named(k)) is not None and t.account == "cash"]


def day_window(location: Location, business_date: date) -> tuple[datetime, datetime]:
    """The location's local calendar day as instants [start, end)."""
    zone = location.zone
    start = datetime.combine(business_date, time(0), tzinfo=zone)
    end = datetime.combine(business_date + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def expected_cash(location: Location, business_date: date) -> int:
    """Cash and cheques taken at the location that local day, less those refunded (2 queries)."""
    start, end = day_window(location, business_date)
    kinds = drawer_kinds()
    taken = Payment.objects.filter(
        organization_id=location.organization_id,
        invoice__location=location,
        kind__in=kinds,
        received_at__gte=start,
        received_at__lt=end,
    ).aggregate(total=Sum("amount_cents"))["total"]
    given = Refund.objects.filter(
        organization_id=location.organization_id,
        invoice__location=location,
        tender__in=kinds,
        refunded_at__gte=start,
        refunded_at__lt=end,
    ).aggregate(total=Sum("amount_cents"))["total"]
    # Deposits taken in cash or by cheque sit in the same drawer (billing/deposits.py).
    from medspa.billing.deposits import drawer_deposits

    return int(taken or 0) - int(given or 0) + drawer_deposits(location, start, end)


def close_of(location: Location, business_date: date) -> DailyClose | None:
    return (
        DailyClose.objects.filter(
            organization_id=location.organization_id, location=location, business_date=business_date
        )
        .select_related("closed_by")
        .first()
    )


@dataclass(frozen=True)
class DayAtTheTill:
    """What the close screen shows: the cash expected and the close, once done."""

    location: Location
    business_date: date
    expected_cents: int
    close: DailyClose | None


def day_at_the_till(location: Location, business_date: date) -> DayAtTheTill:
    closed = close_of(location, business_date)
    expected = closed.expected_cents if closed else expected_cash(location, business_date)
    return DayAtTheTill(location, business_date, expected, closed)


def local_today(location: Location, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(location.zone).date()


def close_day(
    *,
    location: Location,
    business_date: date,
    counted_cents: int,
    explanation: str,
    actor: User | None,
    now: datetime | None = None,
) -> DailyClose:
    """Close the location's day once: the count, the difference posted, and why it differs.

    Refused: a day in the future, a day already closed, a count that is not whole cents, a
    difference without an explanation.
    """
    now = now or timezone.now()
    if type(counted_cents) is not int or counted_cents < 0:
        raise Invalid.on("counted_cents", "Give the count in whole cents (0 or more).")
    # The count's column is a 32-bit integer (PostgreSQL's integer); a till never holds more.
    if counted_cents > MAX_COUNT_CENTS:
        raise Invalid.on("counted_cents", "The count is too large.")
    why = _text(explanation, "explanation", required=False, limit=500)
    if business_date > local_today(location, now):
        raise Invalid.on("date", "A day is closed once it has begun, not before.")
    with transaction.atomic():
        # Lock the location so two closes of the same day queue; the second finds the first.
        Location.objects.select_for_update(of=("self",)).filter(pk=location.pk).first()
        if close_of(location, business_date) is not None:
            raise Conflict(
                f"{location.name} was already closed for {business_date.isoformat()}.",
                [FieldError("date", "Already closed.")],
                code="day_already_closed",
            )
        expected = expected_cash(location, business_date)
        difference = counted_cents - expected
        if difference and not why:
            over = "over" if difference > 0 else "short"
            raise Invalid.on(
                "explanation",
                f"The till is {money.format_cents(abs(difference), location.organization.currency)}"
                f" {over}: say why before closing.",
                code="difference_unexplained",
            )
        entry_id = None
        if difference:
            # Booked on the business day (its last moment), not when the close was typed.
            _, day_end = day_window(location, business_date)
            at = min(now, day_end - timedelta(microseconds=1))
            amount = abs(difference)
            postings = (
                [
                    Posting("cash", debit_cents=amount),
                    Posting("cash_over_short", credit_cents=amount),
                ]
                if difference > 0
                else [
                    Posting("cash_over_short", debit_cents=amount, memo=why[:300]),
                    Posting("cash", credit_cents=amount),
                ]
            )
            entry = post_entry(
                organization=location.organization,
                occurred_at=at,
                memo=f"Daily close {location.name} {business_date.isoformat()}: {why}",
                postings=postings,
                source_type="daily_close",
                source_id=location.pk,
                location=location,
                actor=actor,
            )
            entry_id = entry.pk
        try:
            with transaction.atomic():
                closed = DailyClose.objects.create(
                    organization_id=location.organization_id,
                    location=location,
                    business_date=business_date,
                    expected_cents=expected,
                    counted_cents=counted_cents,
                    difference_cents=difference,
                    explanation=why,
                    closed_at=now,
                    closed_by=actor,
                    journal_entry_id=entry_id,
                )
        except IntegrityError:
            raise Conflict(
                f"{location.name} was already closed for {business_date.isoformat()}.",
                [FieldError("date", "Already closed.")],
                code="day_already_closed",
            ) from None
        record_event(
            organization=location.organization,
            actor=actor,
            action="billing.day_closed",
            object_type="location",
            object_id=location.pk,
            data={
                "date": business_date.isoformat(),
                "expected_cents": expected,
                "counted_cents": counted_cents,
                "difference_cents": difference,
            },
        )
    return closed
