"""The availability engine, in a clinic's words, against a brute-force oracle."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The engine is pure Python: make it importable without installing the project.
_SRC = str(Path(__file__).resolve().parents[2] / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from medspa.scheduling.engine import (  # noqa: E402
    Block,
    Need,
    Plan,
    ResourceCalendar,
    Rules,
    Segment,
    Slot,
    WeeklyHours,
    combine,
    expand_weekly,
    explain,
    find_slots,
    holds_for,
    intersect,
    normalize,
    subtract,
)

from . import oracle  # noqa: E402

UTC = ZoneInfo("UTC")
MONDAY = date(2026, 6, 15)
HOUR = 3600


# --- helpers --------------------------------------------------------------------------------


def at(hhmm: str, day: date = MONDAY, tz: str = "UTC") -> int:
    """The UTC instant of a local wall-clock time."""
    wall = time.fromisoformat(hhmm)
    return int(datetime.combine(day, wall, tzinfo=ZoneInfo(tz)).timestamp())


def span(start: str, end: str) -> tuple[int, int]:
    return at(start), at(end)


def resource(
    rid: int,
    kind: str,
    *capabilities: str,
    hours: Iterable[tuple[str, str]] = (("09:00", "17:00"),),
    busy: Iterable[tuple[str, str]] = (),
    blocked: Iterable[tuple[str, str, str]] = (),
) -> ResourceCalendar:
    return ResourceCalendar(
        id=rid,
        kind=kind,
        capabilities=frozenset(capabilities),
        working=tuple(span(a, b) for a, b in hours),
        blocked=tuple(Block(at(a), at(b), why) for a, b, why in blocked),
        busy=tuple(span(a, b) for a, b in busy),
    )


def seg(minutes: int, *roles: str, name: str = "") -> Segment:
    return Segment(minutes * 60, frozenset(roles), name)


def plan(
    *segments: Segment, needs: Sequence[Need] = (), lead_in: int = 0, lead_out: int = 0
) -> Plan:
    roles = {role for s in segments for role in s.holds}
    needs = tuple(needs) or tuple(Need(role, role) for role in sorted(roles))
    return Plan(needs, segments, lead_in * 60, lead_out * 60)


def rules(
    start: str = "00:00",
    end: str = "23:59",
    *,
    granularity: int = 900,
    earliest: int | None = None,
    latest: int | None = None,
    pins: dict[str, frozenset[int]] | None = None,
    prefer: dict[str, int] | None = None,
) -> Rules:
    """Booking rules for a window of the Monday, in UTC."""
    return Rules(at(start), at(end), "UTC", granularity, earliest, latest, pins or {}, prefer or {})


def times(slots: Iterable[Slot], tz: str = "UTC") -> list[str]:
    return [datetime.fromtimestamp(s.start, ZoneInfo(tz)).strftime("%H:%M") for s in slots]


CONSULT = plan(seg(15, "provider"))
LASER = plan(
    seg(20, "room", name="numbing"),
    seg(30, "provider", "room", "device", name="treatment"),
    needs=(
        Need("provider", "provider", "laser_hair_removal"),
        Need("room", "room"),
        Need("device", "device", "laser"),
    ),
)


# --- processing time and holds --------------------------------------------------------------


def test_provider_treats_another_client_during_numbing() -> None:
    # Given a laser client at 10:00 whose first 20 minutes are numbing in the room alone
    first = holds_for(LASER, at("10:00"), {"provider": 1, "room": 10, "device": 20})
    busy = tuple((h.start, h.end) for h in first if h.resource == 1)
    provider = ResourceCalendar(1, "provider", frozenset(), (span("09:00", "17:00"),), busy=busy)
    # When a 15-minute consult is looked for around that time
    slots = find_slots(CONSULT, [provider], rules("09:45", "10:30"))
    # Then the provider sees the consult while the laser client numbs, not during the treatment
    assert times(slots) == ["09:45", "10:00"]


def test_numbing_splits_the_provider_hold_in_two() -> None:
    # Given prep with the provider, numbing in the room alone, then the treatment
    numbing = plan(seg(10, "provider", "room"), seg(20, "room"), seg(30, "provider", "room"))
    # When the 09:00 start is offered
    slot = find_slots(
        numbing, [resource(1, "provider"), resource(10, "room")], rules("09:00", "09:01")
    )[0]
    # Then the provider is held twice around the numbing and the room once throughout
    held = [(h.role, h.start, h.end) for h in slot.holds]
    assert held == [
        ("provider", at("09:00"), at("09:10")),
        ("provider", at("09:30"), at("10:00")),
        ("room", at("09:00"), at("10:00")),
    ]
    assert slot.holds == holds_for(numbing, slot.start, dict(slot.assignment))


def test_slots_are_plain_values() -> None:
    # Given an offered slot
    slot = find_slots(CONSULT, [resource(1, "provider")], rules("09:00", "09:01"))[0]
    # When it is rebuilt by hand from its parts
    holds = holds_for(CONSULT, slot.start, dict(slot.assignment))
    rebuilt = Slot(slot.start, slot.end, slot.assignment, holds)
    # Then both are the same value
    assert slot == rebuilt and hash(slot) == hash(rebuilt) and repr(slot) == repr(rebuilt)


def test_buffers_put_the_client_after_the_room_turnover() -> None:
    # Given a facial with 10 minutes of room prep before and 10 of cleanup after the client
    facial = plan(
        seg(10, "room"), seg(45, "provider", "room"), seg(10, "room"), lead_in=10, lead_out=10
    )
    calendars = [resource(1, "provider"), resource(10, "room")]
    # When the first start of the day is offered
    slot = find_slots(facial, calendars, rules(granularity=300))[0]
    # Then the client arrives at 09:10, leaves at 09:55 and the room is held 09:00-10:05
    assert (slot.start, slot.end) == span("09:10", "09:55")
    assert [(h.role, h.start, h.end) for h in slot.holds][-1] == ("room", at("09:00"), at("10:05"))


# --- who gets the booking -------------------------------------------------------------------


def test_two_lasers_busy_means_no_laser_slot() -> None:
    # Given both lasers booked from 10:00 to 11:00
    calendars = [
        resource(1, "provider", "laser_hair_removal"),
        resource(10, "room"),
        resource(20, "device", "laser", busy=[("10:00", "11:00")]),
        resource(21, "device", "laser", busy=[("10:00", "11:00")]),
    ]
    # When a laser treatment is looked for in that hour
    slots = find_slots(LASER, calendars, rules("10:20", "10:31"))
    # Then nothing is offered, and staff are told the lasers are taken
    assert slots == []
    assert [r.code for r in explain(LASER, calendars, rules("10:20", "10:31"))] == ["fully_booked"]


def test_requested_provider_only() -> None:
    # Given two providers, the requested one busy at 10:00
    calendars = [resource(1, "provider"), resource(2, "provider", busy=[("10:00", "10:15")])]
    # When the client asks for provider 2
    slots = find_slots(
        CONSULT, calendars, rules("09:45", "10:30", pins={"provider": frozenset({2})})
    )
    # Then only provider 2's free times are offered
    assert times(slots) == ["09:45", "10:15"]
    assert {dict(s.assignment)["provider"] for s in slots} == {2}


def test_preferred_provider_when_several_fit() -> None:
    # Given two free providers and a preference for the second
    calendars = [resource(1, "provider"), resource(2, "provider")]
    # When slots are offered
    slots = find_slots(CONSULT, calendars, rules("09:00", "10:00", prefer={"provider": 2}))
    # Then every slot goes to the preferred provider
    assert {dict(s.assignment)["provider"] for s in slots} == {2}


def test_best_fit_keeps_the_long_gap_free() -> None:
    # Given one room free all day and another free only until 10:00
    calendars = [
        resource(1, "provider"),
        resource(10, "room"),
        resource(11, "room", hours=[("09:00", "10:00")]),
    ]
    # When an hour-long facial at 09:00 is offered
    slot = find_slots(plan(seg(60, "provider", "room")), calendars, rules("09:00", "09:01"))[0]
    # Then it takes the short gap and leaves the long one for a long treatment
    assert dict(slot.assignment)["room"] == 11


def test_best_fit_counts_every_gap_the_provider_is_held_in() -> None:
    # Given a treatment holding the provider before and after 20 minutes of numbing
    numbing = plan(seg(10, "provider", "room"), seg(20, "room"), seg(30, "provider", "room"))
    # and one provider free 09:00-09:10 and all afternoon, another free 09:00-10:00 only
    calendars = [
        resource(1, "provider", busy=[("09:10", "09:30")]),
        resource(2, "provider", hours=[("09:00", "10:00")]),
        resource(10, "room"),
    ]
    # When the 09:00 start is offered
    slot = find_slots(numbing, calendars, rules("09:00", "09:01"))[0]
    # Then the provider whose free time is used up most tightly takes it
    assert dict(slot.assignment)["provider"] == 2


def test_combined_booking_reuses_the_same_provider() -> None:
    # Given Botox then a HydraFacial, and a second provider who would fit the facial more tightly
    botox = plan(seg(15, "provider", "room"), seg(10, "room"))
    hydrafacial = plan(seg(45, "provider", "room"))
    calendars = [
        resource(1, "provider", busy=[("09:20", "09:25")]),
        resource(2, "provider", hours=[("08:00", "09:15"), ("09:25", "10:10")]),
        resource(10, "room", hours=[("08:00", "17:00")]),
    ]
    # When the 09:00 start is offered for both back to back
    slot = find_slots(combine([botox, hydrafacial]), calendars, rules("09:00", "09:01"))[0]
    # Then the same provider does both services
    assert dict(slot.assignment) == {"0:provider": 1, "0:room": 10, "1:provider": 1, "1:room": 10}


def test_combine_prefixes_roles_and_keeps_the_inner_buffers() -> None:
    # Given two services, each with buffers before and after
    peel = plan(seg(5, "room"), seg(30, "provider", "room"), seg(5, "room"), lead_in=5, lead_out=5)
    facial = plan(seg(10, "room"), seg(45, "provider", "room"), lead_in=10)
    # When they are combined
    both = combine([peel, facial])
    # Then roles are numbered, the outer buffers stay and the inner ones are held time
    assert [n.role for n in both.needs] == ["0:provider", "0:room", "1:provider", "1:room"]
    assert (both.lead_in, both.lead_out) == (5 * 60, 0)
    assert [s.holds for s in both.segments][3] == frozenset({"1:room"})


def test_a_request_for_a_provider_the_service_does_not_need_is_ignored() -> None:
    # Given a room-only service and a pin on a provider role it does not have
    sauna = plan(seg(30, "room"))
    window = rules("09:00", "10:00", pins={"0:provider": frozenset({1})})
    # Then the room is offered as usual
    slots = find_slots(sauna, [resource(10, "room")], window)
    assert times(slots) == ["09:00", "09:15", "09:30", "09:45"]


def test_two_providers_at_once_need_two_people() -> None:
    # Given a treatment needing an injector and an assistant at the same time
    duo = plan(
        seg(30, "injector", "assistant"),
        needs=[Need("injector", "provider"), Need("assistant", "provider")],
    )
    # When one provider works, nothing is offered; when two work, each role gets its own
    assert find_slots(duo, [resource(1, "provider")], rules()) == []
    slots = find_slots(duo, [resource(1, "provider"), resource(2, "provider")], rules())
    assert slots
    assert all(len({rid for _, rid in s.assignment}) == 2 for s in slots)


def test_one_provider_can_fill_two_roles_one_after_the_other() -> None:
    # Given an injection then a peel, each with its own provider role
    both = plan(
        seg(20, "injector"),
        seg(30, "peeler"),
        needs=[Need("injector", "provider"), Need("peeler", "provider")],
    )
    # When only one provider works
    slots = find_slots(both, [resource(1, "provider")], rules("09:00", "10:00"))
    # Then she does both, with two holds back to back
    assert times(slots) == ["09:00", "09:15", "09:30", "09:45"]
    assert [(h.start, h.end) for h in slots[0].holds] == [
        span("09:00", "09:20"),
        span("09:20", "09:50"),
    ]


def test_lead_time_and_horizon() -> None:
    # Given a free provider, a lead time to 10:00 and a horizon at 11:00
    window = rules("09:00", "12:00", earliest=at("10:00"), latest=at("11:00"))
    # When slots are offered
    slots = find_slots(CONSULT, [resource(1, "provider")], window)
    # Then they run from 10:00 to 11:00 inclusive
    assert times(slots) == ["10:00", "10:15", "10:30", "10:45", "11:00"]


def test_blocks_and_bookings_are_not_free() -> None:
    # Given a provider on a break 12:00-13:00 and booked 13:00-13:30
    calendars = [
        resource(1, "provider", busy=[("13:00", "13:30")], blocked=[("12:00", "13:00", "lunch")])
    ]
    # When the early afternoon is looked at
    slots = find_slots(CONSULT, calendars, rules("11:30", "14:00"))
    # Then only the times around them are offered
    assert times(slots) == ["11:30", "11:45", "13:30", "13:45"]


def test_a_service_needing_no_resource_fits_any_start() -> None:
    # Given a phone follow-up that holds nobody
    call = Plan((), (seg(15),))
    # When slots are offered
    slots = find_slots(call, [], rules("09:00", "10:00"))
    # Then every grid start is offered, with nothing to reserve
    assert times(slots) == ["09:00", "09:15", "09:30", "09:45"]
    assert all(s.assignment == () and s.holds == () for s in slots)


def test_a_plan_holding_an_unknown_role_is_refused() -> None:
    # Given a segment holding a role the plan does not need
    broken = Plan((Need("provider", "provider"),), (seg(15, "provider", "room"),))
    # When / then the engine refuses it
    with pytest.raises(ValueError, match="room"):
        find_slots(broken, [], rules())


# --- explanations ---------------------------------------------------------------------------


def codes(p: Plan, calendars: Sequence[ResourceCalendar], r: Rules) -> list[tuple[str, str | None]]:
    return [(reason.code, reason.role) for reason in explain(p, calendars, r)]


def test_explain_is_empty_when_there_are_slots() -> None:
    assert explain(CONSULT, [resource(1, "provider")], rules()) == []


def test_explain_outside_horizon() -> None:
    # Given a window that closes before the lead time allows
    reasons = explain(
        CONSULT, [resource(1, "provider")], rules("09:00", "10:00", earliest=at("12:00"))
    )
    # Then staff hear the times are too soon
    assert [(r.code, r.message) for r in reasons] == [
        ("outside_horizon", "These times are too soon: bookings need more notice.")
    ]


def test_explain_no_certified_provider() -> None:
    # Given only a provider who does not do laser hair removal
    calendars = [
        resource(1, "provider", "neurotoxin"),
        resource(10, "room"),
        resource(20, "device", "laser"),
    ]
    reasons = explain(LASER, calendars, rules())
    # Then the missing certification is named
    assert [(r.code, r.role, r.capability) for r in reasons] == [
        ("no_capable_resource", "provider", "laser_hair_removal")
    ]


def test_explain_requested_provider_is_not_certified() -> None:
    # Given the client asks for a provider who does not do laser hair removal
    calendars = [
        resource(1, "provider", "laser_hair_removal"),
        resource(2, "provider"),
        resource(10, "room"),
        resource(20, "device", "laser"),
    ]
    window = rules(pins={"provider": frozenset({2})})
    # Then staff hear why that provider cannot take it
    assert [(r.code, r.message) for r in explain(LASER, calendars, window)] == [
        ("no_capable_resource", "The requested provider is not certified for laser_hair_removal.")
    ]


def test_explain_no_certified_provider_works_those_days() -> None:
    # Given the only laser-certified provider works tomorrow
    tomorrow = MONDAY + timedelta(days=1)
    calendars = [
        ResourceCalendar(
            1,
            "provider",
            frozenset({"laser_hair_removal"}),
            ((at("09:00", tomorrow), at("17:00", tomorrow)),),
        ),
        resource(10, "room"),
        resource(20, "device", "laser"),
    ]
    reasons = explain(LASER, calendars, rules())
    assert [(r.code, r.message) for r in reasons] == [
        ("not_working", "No provider certified for laser_hair_removal works on these days.")
    ]


def test_explain_the_laser_is_in_maintenance() -> None:
    # Given the clinic's only laser in maintenance all day
    calendars = [
        resource(1, "provider", "laser_hair_removal"),
        resource(10, "room"),
        resource(20, "device", "laser", blocked=[("08:00", "18:00", "maintenance")]),
    ]
    reasons = explain(LASER, calendars, rules())
    assert [(r.code, r.role, r.message) for r in reasons] == [
        ("blocked", "device", "The laser is in maintenance.")
    ]


def test_explain_provider_on_time_off() -> None:
    calendars = [resource(1, "provider", blocked=[("00:00", "23:59", "time_off")])]
    reasons = explain(CONSULT, calendars, rules())
    assert [(r.code, r.message) for r in reasons] == [("blocked", "The provider is on time off.")]


def test_explain_fully_booked() -> None:
    # Given a provider booked all day but for a 10-minute gap
    calendars = [resource(1, "provider", busy=[("09:00", "12:00"), ("12:10", "17:00")])]
    assert codes(CONSULT, calendars, rules()) == [("fully_booked", "provider")]


def test_explain_no_common_time() -> None:
    # Given the provider free in the morning and the room in the afternoon
    calendars = [
        resource(1, "provider", hours=[("09:00", "12:00")]),
        resource(10, "room", hours=[("13:00", "17:00")]),
    ]
    assert codes(plan(seg(30, "provider", "room")), calendars, rules()) == [
        ("no_common_time", None)
    ]


def test_explain_orders_most_specific_first() -> None:
    # Given no laser at all and a provider who is off
    calendars = [
        resource(1, "provider", "laser_hair_removal", blocked=[("00:00", "23:59", "holiday")]),
        resource(10, "room"),
    ]
    assert codes(LASER, calendars, rules()) == [
        ("no_capable_resource", "device"),
        ("blocked", "provider"),
    ]


# --- time zones -----------------------------------------------------------------------------

TRANSITIONS = [
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2026, 3, 29)),
    ("Europe/London", date(2026, 10, 25)),
]
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def weekly(start: str, end: str, tz: str, first: date, last: date) -> tuple[tuple[int, int], ...]:
    hours = [WeeklyHours(d, time.fromisoformat(start), time.fromisoformat(end)) for d in EVERY_DAY]
    return tuple(expand_weekly(hours, tz, first, last))


def local_day_rules(tz: str, first: date, last: date, granularity: int = 900) -> Rules:
    return Rules(at("00:00", first, tz), at("00:00", last + timedelta(days=1), tz), tz, granularity)


@pytest.mark.parametrize(("tz", "day"), TRANSITIONS)
def test_nine_oclock_stays_nine_oclock_across_dst(tz: str, day: date) -> None:
    # Given a provider working 09:00-17:00 local the day before, of and after a transition
    first, last = day - timedelta(days=1), day + timedelta(days=1)
    provider = ResourceCalendar(
        1, "provider", frozenset(), weekly("09:00", "17:00", tz, first, last)
    )
    # When three days are offered
    slots = find_slots(CONSULT, [provider], local_day_rules(tz, first, last))
    # Then each day starts at 09:00 local
    days: dict[date, list[datetime]] = {}
    for s in slots:
        local = datetime.fromtimestamp(s.start, ZoneInfo(tz))
        days.setdefault(local.date(), []).append(local)
    assert sorted(days) == [first, day, last]
    assert all(min(v).strftime("%H:%M") == "09:00" for v in days.values())
    assert all(max(v).strftime("%H:%M") == "16:45" for v in days.values())


@pytest.mark.parametrize(("tz", "day"), [TRANSITIONS[0], TRANSITIONS[2]])
def test_the_lost_hour_is_never_offered(tz: str, day: date) -> None:
    # Given hours 00:00-06:00 on the spring-forward day
    provider = ResourceCalendar(1, "provider", frozenset(), weekly("00:00", "06:00", tz, day, day))
    # When that day is offered on a 5-minute grid
    slots = find_slots(CONSULT, [provider], local_day_rules(tz, day, day, 300))
    # Then the day has 5 real hours, no start sits in the missing hour, every start is on the grid
    assert sum(b - a for a, b in provider.working) == 5 * HOUR
    missing = "02" if tz == "America/New_York" else "01"
    local = [datetime.fromtimestamp(s.start, ZoneInfo(tz)) for s in slots]
    assert not [t for t in local if t.strftime("%H") == missing]
    assert all(t.minute % 5 == 0 and t.second == 0 for t in local)
    assert len(slots) == 5 * 12 - 2


@pytest.mark.parametrize(("tz", "day"), [TRANSITIONS[1], TRANSITIONS[3]])
def test_the_repeated_hour_is_offered_twice(tz: str, day: date) -> None:
    # Given hours 00:00-06:00 on the fall-back day
    provider = ResourceCalendar(1, "provider", frozenset(), weekly("00:00", "06:00", tz, day, day))
    # When that day is offered
    slots = find_slots(CONSULT, [provider], local_day_rules(tz, day, day))
    # Then the day holds 7 real hours and 01:30 local is offered at two distinct instants
    assert sum(b - a for a, b in provider.working) == 7 * HOUR
    twice = [s.start for s in slots if times([s], tz) == ["01:30"]]
    assert len(twice) == 2 and twice[1] - twice[0] == HOUR
    assert len(slots) == 7 * 4


def test_grid_follows_a_half_hour_zone() -> None:
    # Given a clinic in India (UTC+05:30) booking on the hour, a provider in from 08:00
    tz = "Asia/Kolkata"
    provider = ResourceCalendar(
        1, "provider", frozenset(), weekly("08:00", "12:00", tz, MONDAY, MONDAY)
    )
    # When the morning from 08:30 is offered
    window = Rules(at("08:30", MONDAY, tz), at("12:00", MONDAY, tz), tz, 3600)
    slots = find_slots(CONSULT, [provider], window)
    # Then starts fall on the local hour, which is half past in UTC
    assert times(slots, tz) == ["09:00", "10:00", "11:00"]


def test_weekly_hours_map_the_missing_start_to_the_transition() -> None:
    # Given a shift from 02:30 to 05:00 on New York's spring-forward day
    day = date(2026, 3, 8)
    hours = [WeeklyHours(day.weekday(), time(2, 30), time(5, 0))]
    # Then it starts at 03:00 EDT, the first moment that exists
    assert expand_weekly(hours, "America/New_York", day, day) == [
        (at("07:00", day), at("09:00", day))
    ]


def test_weekly_hours_end_in_the_repeated_hour_at_its_second_occurrence() -> None:
    # Given a shift from 00:30 to 01:30 on New York's fall-back day
    day = date(2026, 11, 1)
    hours = [WeeklyHours(day.weekday(), time(0, 30), time(1, 30))]
    # Then it ends at 01:30 EST, two real hours later
    assert expand_weekly(hours, "America/New_York", day, day) == [
        (at("04:30", day), at("06:30", day))
    ]


def test_weekly_hours_respect_their_validity() -> None:
    # Given Monday hours valid only from the second Monday to the third
    rule = WeeklyHours(
        0, time(9), time(17), MONDAY + timedelta(days=7), MONDAY + timedelta(days=14)
    )
    days = expand_weekly([rule], "UTC", MONDAY, MONDAY + timedelta(days=27))
    assert [datetime.fromtimestamp(a, UTC).date() for a, _ in days] == [
        MONDAY + timedelta(days=7),
        MONDAY + timedelta(days=14),
    ]


def test_interval_helpers() -> None:
    assert normalize([(5, 9), (1, 3), (3, 4), (8, 12), (7, 7)]) == [(1, 4), (5, 12)]
    assert subtract([(0, 10), (20, 30)], [(2, 3), (5, 22), (29, 40)]) == [(0, 2), (3, 5), (22, 29)]
    assert intersect([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]


# --- properties against the oracle ----------------------------------------------------------

ZONES_AND_DAYS = [("UTC", MONDAY), ("Asia/Kolkata", MONDAY), *TRANSITIONS]
KINDS = {"provider": (1, 4), "room": (1, 3), "device": (0, 2)}
CAPABILITIES = ["a", "b"]
# Devices are rarer in services than providers and rooms, as in a clinic.
ROLE_KINDS = ["provider", "provider", "room", "room", "device"]
SKILL_SETS = [("a", "b"), ("a", "b"), ("a", "b"), ("a",), ("b",), ()]


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Plan, list[ResourceCalendar], Rules]:
    """A small random clinic day around a (possibly DST) date, a plan and booking rules."""
    tz, day = draw(st.sampled_from(ZONES_AND_DAYS))
    base = at("00:00", day, tz)

    def spans(
        least: int, most: int, shortest: int, longest: int, latest: int = 18 * 60
    ) -> tuple[tuple[int, int], ...]:
        out = []
        for _ in range(draw(st.integers(least, most))):
            start = draw(st.integers(0, latest))
            length = draw(st.integers(shortest, longest))
            out.append((base + start * 60, base + (start + length) * 60))
        return tuple(out)

    calendars: list[ResourceCalendar] = []
    for kind, (least, most) in KINDS.items():
        for _ in range(draw(st.integers(least, most))):
            calendars.append(
                ResourceCalendar(
                    id=len(calendars) + 1,
                    kind=kind,
                    capabilities=frozenset(draw(st.sampled_from(SKILL_SETS))),
                    working=spans(1, 1, 4 * 60, 14 * 60, 10 * 60) + spans(0, 2, 60, 8 * 60),
                    blocked=tuple(Block(a, b, "time_off") for a, b in spans(0, 2, 1, 120)),
                    busy=spans(0, 4, 1, 90),
                )
            )
    pair = draw(st.booleans())
    chosen = combine([draw(plans()), draw(plans())]) if pair else draw(plans())
    pins = {
        need.role: draw(
            st.frozensets(
                st.sampled_from([c.id for c in calendars if c.kind == need.kind] + [99]),
                min_size=1,
            )
        )
        for need in chosen.needs
        if draw(st.integers(0, 5)) == 0
    }
    prefer = {
        need.role: draw(st.sampled_from([c.id for c in calendars]))
        for need in chosen.needs
        if draw(st.booleans())
    }
    start = base + draw(st.integers(0, 16 * 60)) * 60
    end = start + draw(st.integers(0, 10 * 60)) * 60
    earliest = draw(st.integers(start - HOUR, end)) if draw(st.integers(0, 3)) == 0 else None
    latest = draw(st.integers(start, end + HOUR)) if draw(st.integers(0, 3)) == 0 else None
    # An hour-long grid now and then makes half-hour zones land off the UTC grid.
    granularity = draw(st.sampled_from([300, 600, 900, 300, 600, 900, 3600]))
    return chosen, calendars, Rules(start, end, tz, granularity, earliest, latest, pins, prefer)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A random service: 1-3 roles (sometimes two of one kind), 1-4 segments, buffers."""
    kinds = draw(st.lists(st.sampled_from(ROLE_KINDS), min_size=1, max_size=3))
    needs = tuple(
        Need(f"{kind}{i}", kind, draw(st.sampled_from([None, None, *CAPABILITIES])))
        for i, kind in enumerate(kinds)
    )
    roles = [n.role for n in needs]
    segments = [
        Segment(draw(st.integers(1, 60)) * 60, frozenset(draw(st.lists(st.sampled_from(roles)))))
        for _ in range(draw(st.integers(1, 4)))
    ]
    for role in roles:
        if not any(role in s.holds for s in segments):
            i = draw(st.integers(0, len(segments) - 1))
            segments[i] = Segment(segments[i].duration, segments[i].holds | {role})
    total = sum(s.duration for s in segments) // 60
    lead_in = draw(st.integers(0, total // 3)) * 60
    lead_out = draw(st.integers(0, total // 3)) * 60
    return Plan(needs, tuple(segments), lead_in, lead_out)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(schedules())
def test_every_offered_slot_is_bookable(case: tuple[Plan, list[ResourceCalendar], Rules]) -> None:
    p, calendars, r = case
    for slot in find_slots(p, calendars, r):
        assert oracle.bookable(p, calendars, r, slot), slot


@PROPERTY
@given(schedules())
def test_offered_starts_are_exactly_the_feasible_ones(
    case: tuple[Plan, list[ResourceCalendar], Rules],
) -> None:
    p, calendars, r = case
    offered = [s.start for s in find_slots(p, calendars, r)]
    assert offered == oracle.feasible_starts(p, calendars, r)
    assert (explain(p, calendars, r) == []) == bool(offered)
