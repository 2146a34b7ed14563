"""A naive brute-force availability oracle, written apart from the engine to check it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from medspa.scheduling.engine import Hold, Plan, ResourceCalendar, Rules, Slot

# Test schedules put every boundary on a whole minute, so checking each minute is exact.
MINUTE = 60


def free_at(calendar: ResourceCalendar, t: int) -> bool:
    """Whether the resource works, unblocked and unbooked, in the minute starting at t."""
    if not any(a <= t < b for a, b in calendar.working):
        return False
    if any(b.start <= t < b.end for b in calendar.blocked):
        return False
    return not any(a <= t < b for a, b in calendar.busy)


def free_during(calendar: ResourceCalendar, start: int, end: int) -> bool:
    """Whether every minute of [start, end) is free for the resource."""
    return all(_free_minute(calendar, t) for t in range(start, end, MINUTE))


@lru_cache(maxsize=1 << 16)
def _free_minute(calendar: ResourceCalendar, t: int) -> bool:
    return free_at(calendar, t)


def on_grid(s: int, tz: str, granularity: int) -> bool:
    """Whether the local wall-clock time of instant s is a multiple of the granularity."""
    local = datetime.fromtimestamp(s, ZoneInfo(tz))
    return (local.hour * 3600 + local.minute * 60 + local.second) % granularity == 0


def held(plan: Plan, s: int) -> dict[str, list[tuple[int, int]]]:
    """Per role, the time it holds for client start s, merged where segments touch."""
    out: dict[str, list[tuple[int, int]]] = {need.role: [] for need in plan.needs}
    t = s - plan.lead_in
    for segment in plan.segments:
        for role in segment.holds:
            spans = out[role]
            if spans and spans[-1][1] == t:
                spans[-1] = (spans[-1][0], t + segment.duration)
            else:
                spans.append((t, t + segment.duration))
        t += segment.duration
    return out


def _overlap(x: list[tuple[int, int]], y: list[tuple[int, int]]) -> bool:
    return any(a < d and c < b for a, b in x for c, d in y)


def fits(plan: Plan, rules: Rules, s: int, chosen: Sequence[ResourceCalendar]) -> bool:
    """Whether the resources chosen per need (in needs order) can take client start s."""
    spans = held(plan, s)
    for need, calendar in zip(plan.needs, chosen, strict=True):
        if calendar.kind != need.kind:
            return False
        if need.capability is not None and need.capability not in calendar.capabilities:
            return False
        pinned = rules.pins.get(need.role)
        if pinned is not None and calendar.id not in pinned:
            return False
        if not all(free_during(calendar, a, b) for a, b in spans[need.role]):
            return False
    for (i, x), (j, y) in itertools.combinations(enumerate(chosen), 2):
        if x.id == y.id and _overlap(spans[plan.needs[i].role], spans[plan.needs[j].role]):
            return False
    return True


def allowed(rules: Rules, s: int) -> bool:
    """Whether s is in the window, the lead time and the horizon, and on the local grid."""
    if not rules.window_start <= s < rules.window_end:
        return False
    if rules.earliest is not None and s < rules.earliest:
        return False
    if rules.latest is not None and s > rules.latest:
        return False
    return on_grid(s, rules.tz, rules.granularity)


def feasible_starts(plan: Plan, calendars: Sequence[ResourceCalendar], rules: Rules) -> list[int]:
    """Every client start on a whole minute that some assignment can take."""
    first = -(-rules.window_start // MINUTE) * MINUTE
    out = []
    for s in range(first, rules.window_end, MINUTE):
        if not allowed(rules, s):
            continue
        spans = held(plan, s)
        # Brute force over every combination of resources that could fill each role alone.
        options = [
            [
                c
                for c in calendars
                if fits(Plan((need,), ()), rules, s, [c])
                and all(free_during(c, a, b) for a, b in spans[need.role])
            ]
            for need in plan.needs
        ]
        if any(fits(plan, rules, s, combo) for combo in itertools.product(*options)):
            out.append(s)
    return out


def bookable(plan: Plan, calendars: Sequence[ResourceCalendar], rules: Rules, slot: Slot) -> bool:
    """Whether an offered slot can really be written: its assignment fits and its holds match."""
    if not allowed(rules, slot.start):
        return False
    length = sum(s.duration for s in plan.segments) - plan.lead_in - plan.lead_out
    if slot.end != slot.start + length:
        return False
    if [role for role, _ in slot.assignment] != [need.role for need in plan.needs]:
        return False
    by_id = {c.id: c for c in calendars}
    if any(rid not in by_id for _, rid in slot.assignment):
        return False
    chosen = [by_id[rid] for _, rid in slot.assignment]
    if not fits(plan, rules, slot.start, chosen):
        return False
    spans = held(plan, slot.start)
    expected = tuple(Hold(rid, a, b, role) for role, rid in slot.assignment for a, b in spans[role])
    if slot.holds != expected:
        return False
    # No resource is held twice at once, and every hold is free time.
    for x, y in itertools.combinations(slot.holds, 2):
        if x.resource == y.resource and x.start < y.end and y.start < x.end:
            return False
    return all(free_during(by_id[h.resource], h.start, h.end) for h in slot.holds)
