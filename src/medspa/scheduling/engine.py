"""Availability engine: free time per resource + a service plan + rules -> feasible starts."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[int, int]

DAY = 86_400
# Later than any real instant: "nothing changes any more".
_FAR = 1 << 62
# Zone offsets are probed this often to find DST transitions; real zones never change twice
# within six hours.
_PROBE = 6 * 3600


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Need:
    """A role the plan fills with one resource of a kind, optionally with a capability."""

    role: str
    kind: str
    capability: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the plan and the roles held during it."""

    duration: int
    holds: frozenset[str]
    name: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """A service as the engine sees it: roles to fill and back-to-back segments."""

    needs: tuple[Need, ...]
    segments: tuple[Segment, ...]
    lead_in: int = 0
    lead_out: int = 0


@dataclass(frozen=True, slots=True)
class Block:
    """A dated exception in a resource's working time (time off, holiday, maintenance)."""

    start: int
    end: int
    reason: str


@dataclass(frozen=True, slots=True)
class ResourceCalendar:
    """One bookable resource with its working time, blocks and existing reservations."""

    id: int
    kind: str
    capabilities: frozenset[str]
    working: tuple[Interval, ...]
    blocked: tuple[Block, ...] = ()
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class Rules:
    """Which client starts to offer: window, local grid, lead time, horizon, pins."""

    window_start: int
    window_end: int
    tz: str = "UTC"
    granularity: int = 900
    earliest: int | None = None
    latest: int | None = None
    pins: Mapping[str, frozenset[int]] = field(default_factory=dict)
    prefer: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hold:
    """One reservation to write: a resource held by a role over [start, end)."""

    resource: int
    start: int
    end: int
    role: str


@dataclass(frozen=True, slots=True)
class Slot:
    """A feasible client-facing start with its resource assignment and holds."""

    start: int
    end: int
    assignment: tuple[tuple[str, int], ...]
    holds: tuple[Hold, ...]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why nothing can be offered, for front-desk staff."""

    code: str
    role: str | None
    kind: str | None
    capability: str | None
    message: str


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """A weekly working-hours rule in local wall-clock time."""

    weekday: int
    start: time
    end: time
    valid_from: date | None = None
    valid_until: date | None = None


# --- interval helpers -----------------------------------------------------------------------


def normalize(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged, non-empty intervals covering the same time."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(base: Sequence[Interval], cut: Sequence[Interval]) -> list[Interval]:
    """The time in base and not in cut (both normalised)."""
    out: list[Interval] = []
    j = 0
    n = len(cut)
    for start, end in base:
        while j < n and cut[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < n and cut[k][0] < end:
            if cut[k][0] > cursor:
                out.append((cursor, cut[k][0]))
            cursor = max(cursor, cut[k][1])
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The time in both a and b (both normalised)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


# --- time zones -----------------------------------------------------------------------------


def _offset(zone: ZoneInfo, t: int) -> int:
    """The zone's UTC offset in seconds at instant t."""
    delta = datetime.fromtimestamp(t, zone).utcoffset()
    return 0 if delta is None else int(delta.total_seconds())


def _first_change(zone: ZoneInfo, a: int, b: int) -> int:
    """The first instant in (a, b] whose offset differs from a's (there must be one)."""
    before = _offset(zone, a)
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(zone, mid) == before:
            a = mid
        else:
            b = mid
    return b


def _offset_pieces(tz: str, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Split [lo, hi) where the zone's UTC offset changes: (start, end, offset) pieces."""
    if hi <= lo:
        return []
    if tz == "UTC":
        return [(lo, hi, 0)]
    zone = ZoneInfo(tz)
    pieces: list[tuple[int, int, int]] = []
    start, current = lo, _offset(zone, lo)
    probe = lo
    while probe < hi - 1:
        nxt = min(probe + _PROBE, hi - 1)
        target = _offset(zone, nxt)
        while current != target:
            change = _first_change(zone, start if start > probe else probe, nxt)
            pieces.append((start, change, current))
            start, current = change, _offset(zone, change)
        probe = nxt
    pieces.append((start, hi, current))
    return pieces


def _local_to_utc(zone: ZoneInfo, day: date, wall: time, *, is_end: bool) -> int:
    """A local wall-clock time as a UTC instant: gaps map to the transition, folds by is_end."""
    local = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=zone)
    first = int(local.replace(fold=0).timestamp())
    second = int(local.replace(fold=1).timestamp())
    if first > second:
        # In a spring-forward gap fold=0 lands after the transition and fold=1 before it.
        return _first_change(zone, second, first)
    return second if is_end else first


def expand_weekly(
    rules: Iterable[WeeklyHours], tz: str, first_day: date, last_day: date
) -> list[Interval]:
    """Weekly local hours over [first_day, last_day] as normalised UTC intervals."""
    zone = ZoneInfo(tz)
    by_weekday: dict[int, list[WeeklyHours]] = {}
    for rule in rules:
        if rule.end <= rule.start:
            raise ValueError(f"weekly hours end before they start: {rule}")
        by_weekday.setdefault(rule.weekday, []).append(rule)
    out: list[Interval] = []
    day = first_day
    while day <= last_day:
        for rule in by_weekday.get(day.weekday(), ()):
            if rule.valid_from is not None and day < rule.valid_from:
                continue
            if rule.valid_until is not None and day > rule.valid_until:
                continue
            start = _local_to_utc(zone, day, rule.start, is_end=False)
            end = _local_to_utc(zone, day, rule.end, is_end=True)
            out.append((start, end))
        day += timedelta(days=1)
    return normalize(out)


# --- plans ----------------------------------------------------------------------------------


def _runs(plan: Plan) -> dict[str, list[Interval]]:
    """Per role, its held time as merged (offset, end offset) runs from the plan start."""
    roles = [need.role for need in plan.needs]
    if len(set(roles)) != len(roles):
        raise ValueError(f"roles must be unique within a plan: {roles}")
    held: dict[str, list[Interval]] = {role: [] for role in roles}
    offset = 0
    for segment in plan.segments:
        if segment.duration <= 0:
            raise ValueError(f"segment durations must be positive: {segment}")
        for role in segment.holds:
            if role not in held:
                raise ValueError(f"segment holds a role the plan does not need: {role}")
            held[role].append((offset, offset + segment.duration))
        offset += segment.duration
    for role, spans in held.items():
        if not spans:
            raise ValueError(f"no segment holds the role {role}")
        held[role] = normalize(spans)
    if plan.lead_in < 0 or plan.lead_out < 0 or plan.lead_in + plan.lead_out >= offset:
        raise ValueError("lead_in and lead_out must be >= 0 and leave client time")
    return held


def plan_span(plan: Plan) -> int:
    """Seconds from the plan's first segment start to its last segment end."""
    return sum(segment.duration for segment in plan.segments)


def holds_for(plan: Plan, start: int, assignment: Mapping[str, int]) -> tuple[Hold, ...]:
    """The reservations to write for a client start and an assignment role -> resource."""
    base = start - plan.lead_in
    runs = _runs(plan)
    return tuple(
        Hold(assignment[need.role], base + a, base + b, need.role)
        for need in plan.needs
        for a, b in runs[need.role]
    )


def combine(plans: Sequence[Plan]) -> Plan:
    """Several services back to back for one client as one plan with roles "0:...", "1:..."."""
    if not plans:
        raise ValueError("combine needs at least one plan")
    needs: list[Need] = []
    segments: list[Segment] = []
    for i, plan in enumerate(plans):
        needs.extend(Need(f"{i}:{n.role}", n.kind, n.capability) for n in plan.needs)
        segments.extend(
            Segment(s.duration, frozenset(f"{i}:{r}" for r in s.holds), s.name)
            for s in plan.segments
        )
    return Plan(tuple(needs), tuple(segments), plans[0].lead_in, plans[-1].lead_out)


# --- the search -----------------------------------------------------------------------------


def _free(calendar: ResourceCalendar) -> list[Interval]:
    """Working time less blocks and existing reservations."""
    taken = [(b.start, b.end) for b in calendar.blocked]
    taken.extend(calendar.busy)
    return subtract(normalize(calendar.working), normalize(taken))


def _capable(need: Need, calendar: ResourceCalendar) -> bool:
    return calendar.kind == need.kind and (
        need.capability is None or need.capability in calendar.capabilities
    )


def _starts(plan: Plan, rules: Rules) -> tuple[int, int]:
    """The client starts [lo, hi) the window, lead time and horizon allow."""
    lo, hi = rules.window_start, rules.window_end
    if rules.earliest is not None:
        lo = max(lo, rules.earliest)
    if rules.latest is not None:
        hi = min(hi, rules.latest + 1)
    return lo, hi


# A feasible stretch of plan starts for one (role, resource):
# (start, end, preference rank, cost = containing free gap length, calendar index, resource id).
_Piece = tuple[int, int, int, int, int, int]
# The same, keyed for a heap: (rank, cost, calendar index, end, resource id).
_Entry = tuple[int, int, int, int, int]


def _feasible(
    runs: Sequence[Interval], free: Sequence[Interval], ends: Sequence[int], lo: int, hi: int
) -> list[tuple[int, int, int]]:
    """Plan starts in [lo, hi) at which every run fits in free time: (start, end, gap cost)."""
    current: list[tuple[int, int, int, int]] | None = None
    for a_off, b_off in runs:
        length = b_off - a_off
        # Run at plan start p covers [p + a_off, p + b_off): it fits in gap [a, b) iff
        # a - a_off <= p <= b - b_off.
        first = bisect_right(ends, lo + b_off - 1)
        last = bisect_left(free, (hi + a_off,))
        here: list[tuple[int, int, int, int]] = []
        for g in range(first, last):
            a, b = free[g]
            if b - a < length:
                continue
            start, end = max(a - a_off, lo), min(b - b_off + 1, hi)
            if start < end:
                here.append((start, end, b - a, g))
        if current is None:
            current = here
            continue
        # Intersect; a gap counts once in the cost even when several runs sit in it.
        merged: list[tuple[int, int, int, int]] = []
        i = j = 0
        while i < len(current) and j < len(here):
            c, h = current[i], here[j]
            start, end = max(c[0], h[0]), min(c[1], h[1])
            if start < end:
                merged.append((start, end, c[2] + (0 if h[3] == c[3] else h[2]), h[3]))
            if c[1] < h[1]:
                i += 1
            else:
                j += 1
        current = merged
    return [(s, e, cost) for s, e, cost, _ in current or ()]


@dataclass(slots=True)
class _Search:
    """Everything the walk over grid points needs, prepared once per request."""

    roles: list[str]
    runs: list[list[Interval]]
    pieces: list[list[_Piece]]
    # Roles that share no candidate resource with another role: each takes its own best fit.
    solo: list[int]
    # The others, in needs order, assigned jointly; per position in `shared`, the earlier
    # positions whose resource it may reuse (held at other times) or must not take (same time).
    shared: list[int]
    reuse: list[list[int]]
    clash: list[list[int]]
    lead_in: int
    span: int


def _prepare(plan: Plan, calendars: Sequence[ResourceCalendar], rules: Rules) -> _Search:
    """Validate the request and compute each (role, resource)'s feasible plan starts."""
    runs_by_role = _runs(plan)
    if rules.granularity <= 0 or DAY % rules.granularity:
        raise ValueError("granularity must divide a day")
    ids = [c.id for c in calendars]
    if len(set(ids)) != len(ids):
        raise ValueError("resource ids must be unique")
    roles = [need.role for need in plan.needs]
    runs = [runs_by_role[role] for role in roles]
    span = plan_span(plan)
    s_lo, s_hi = _starts(plan, rules)
    p_lo, p_hi = s_lo - plan.lead_in, s_hi - plan.lead_in

    # Per calendar index: its free gaps and their ends (for bisecting).
    free_cache: dict[int, tuple[list[Interval], list[int]]] = {}
    pieces: list[list[_Piece]] = []
    candidates: list[set[int]] = []
    for need, role_runs in zip(plan.needs, runs, strict=True):
        pinned = rules.pins.get(need.role)
        preferred = rules.prefer.get(need.role)
        mine: list[_Piece] = []
        ids_here: set[int] = set()
        for index, calendar in enumerate(calendars):
            if not _capable(need, calendar) or (pinned is not None and calendar.id not in pinned):
                continue
            ids_here.add(calendar.id)
            if p_lo >= p_hi:
                continue
            if index not in free_cache:
                free = _free(calendar)
                free_cache[index] = free, [b for _, b in free]
            rank = 0 if calendar.id == preferred else 1
            mine.extend(
                (s, e, rank, cost, index, calendar.id)
                for s, e, cost in _feasible(role_runs, *free_cache[index], p_lo, p_hi)
            )
        mine.sort()
        pieces.append(mine)
        candidates.append(ids_here)

    def overlaps(x: list[Interval], y: list[Interval]) -> bool:
        return any(a < d and c < b for a, b in x for c, d in y)

    n = len(roles)
    share = [[i != j and bool(candidates[i] & candidates[j]) for j in range(n)] for i in range(n)]
    solo = [i for i in range(n) if not any(share[i])]
    shared = [i for i in range(n) if any(share[i])]
    reuse, clash = [], []
    for position, i in enumerate(shared):
        earlier = [(k, j) for k, j in enumerate(shared[:position]) if share[i][j]]
        reuse.append([k for k, j in earlier if not overlaps(runs[i], runs[j])])
        clash.append([k for k, j in earlier if overlaps(runs[i], runs[j])])
    return _Search(roles, runs, pieces, solo, shared, reuse, clash, plan.lead_in, span)


def _choose(
    valid: list[list[_Entry]], reuse: list[list[int]], clash: list[list[int]]
) -> tuple[int, ...] | None:
    """Backtracking assignment in needs order: preferred, reused, best fit, calendar order."""
    n = len(valid)
    chosen = [0] * n

    def order(k: int) -> list[int]:
        entries = valid[k]
        if not reuse[k]:
            return [e[4] for e in entries]
        active = {e[4] for e in entries}
        ranked = [e[4] for e in entries if e[0] == 0]
        # A resource already in this booking keeps the client with the same provider or room.
        ranked.extend(chosen[j] for j in reuse[k] if chosen[j] in active)
        ranked.extend(e[4] for e in entries)
        return list(dict.fromkeys(ranked))

    def place(k: int) -> bool:
        if k == n:
            return True
        for rid in order(k):
            if any(chosen[j] == rid for j in clash[k]):
                continue
            chosen[k] = rid
            if place(k + 1):
                return True
        return False

    return tuple(chosen) if place(0) else None


def _walk(
    search: _Search, rules: Rules, lo: int, hi: int
) -> Iterator[tuple[int, int, tuple[int, ...]]]:
    """Yield (first, stop, resource id per role): grid starts first, first + g, ... < stop fit."""
    pieces = search.pieces
    if any(not p for p in pieces):
        return
    n = len(pieces)
    solo, shared = search.solo, search.shared
    ptrs = [0] * n
    # Per role, the pieces containing the current plan start (a heap for solo roles, a sorted
    # list for shared ones), plus stale ones not yet dropped.
    heaps: list[list[_Entry]] = [[] for _ in range(n)]
    best = [0] * n
    empty = [True] * n
    solo_until = [-_FAR] * n
    shared_until = -_FAR
    shared_choice: tuple[int, ...] | None = None

    def advance(r: int, p: int) -> int:
        """Take in role r's pieces that started by plan start p; return when the next starts."""
        mine, heap, i = pieces[r], heaps[r], ptrs[r]
        while i < len(mine) and mine[i][0] <= p:
            _, e, rank, cost, index, rid = mine[i]
            if e > p:
                heapq.heappush(heap, (rank, cost, index, e, rid))
            i += 1
        ptrs[r] = i
        return mine[i][0] if i < len(mine) else _FAR

    def settle_solo(r: int, p: int) -> None:
        """Solo role r's best fit at plan start p, and until when it holds."""
        nxt = advance(r, p)
        heap = heaps[r]
        while heap and heap[0][3] <= p:
            heapq.heappop(heap)
        empty[r] = not heap
        if heap:
            best[r] = heap[0][4]
            # Only a new piece or the end of the best one can change a role's best fit.
            solo_until[r] = min(nxt, heap[0][3])
        else:
            solo_until[r] = nxt

    def settle_shared(p: int) -> tuple[tuple[int, ...] | None, int]:
        """The shared roles' joint assignment at plan start p, and until when it holds."""
        # Losing a resource nobody was given cannot change the search's first answer, and
        # losing any cannot make an infeasible start feasible: only new pieces and the end
        # of a chosen resource's piece matter.
        until = _FAR
        blocked_until: int | None = None
        for r in shared:
            nxt = advance(r, p)
            heap = heaps[r] = sorted(e for e in heaps[r] if e[3] > p)
            until = min(until, nxt)
            if not heap:
                blocked_until = nxt if blocked_until is None else max(blocked_until, nxt)
        if blocked_until is not None:
            return None, blocked_until
        valid = [heaps[r] for r in shared]
        chosen = _choose(valid, search.reuse, search.clash)
        if chosen is not None:
            for heap, rid in zip(valid, chosen, strict=True):
                until = min(until, next(e[3] for e in heap if e[4] == rid))
        return chosen, until

    def settle(p: int) -> tuple[tuple[int, ...] | None, int]:
        """The assignment at plan start p and the first plan start where it may change."""
        nonlocal shared_until, shared_choice
        until = _FAR
        # When something is infeasible, nothing is feasible before this.
        blocked_until: int | None = None
        for r in solo:
            if p >= solo_until[r]:
                settle_solo(r, p)
            if empty[r]:
                later = solo_until[r]
                blocked_until = later if blocked_until is None else max(blocked_until, later)
            elif solo_until[r] < until:
                until = solo_until[r]
        if shared:
            if p >= shared_until:
                shared_choice, shared_until = settle_shared(p)
            if shared_choice is None:
                later = shared_until
                blocked_until = later if blocked_until is None else max(blocked_until, later)
            else:
                until = min(until, shared_until)
                for r, rid in zip(shared, shared_choice, strict=True):
                    best[r] = rid
        if blocked_until is not None:
            return None, blocked_until
        return tuple(best), until

    lead_in = search.lead_in
    g = rules.granularity
    until = -_FAR
    current: tuple[int, ...] | None = None
    for a, b, off in _offset_pieces(rules.tz, lo, hi):
        # The first instant >= a whose local wall clock sits on the grid.
        s = a + (-(a + off)) % g
        while s < b:
            if s - lead_in >= until:
                current, until = settle(s - lead_in)
            stop = min(b, until + lead_in)
            if current is not None:
                yield s, stop, current
            s = stop + (-(stop + off)) % g


def _setters(cls: type) -> tuple[Callable[[object, object], None], ...]:
    """The __set__ of each of a slots dataclass's fields, in field order."""
    return tuple(vars(cls)[f.name].__set__ for f in fields(cls))


def find_slots(plan: Plan, calendars: Sequence[ResourceCalendar], rules: Rules) -> list[Slot]:
    """Every feasible client start on the local grid, with its assignment and holds."""
    search = _prepare(plan, calendars, rules)
    lo, hi = _starts(plan, rules)
    client_length = search.span - plan.lead_in - plan.lead_out
    roles = search.roles
    granularity = rules.granularity
    slots: list[Slot] = []
    append = slots.append
    # A month is thousands of slots. Frozen dataclasses set every field through
    # object.__setattr__ in __init__; filling the slot descriptors directly builds the very
    # same instances in half the time.
    new = object.__new__
    set_resource, set_start, set_end, set_role = _setters(Hold)
    set_slot_start, set_slot_end, set_assignment, set_holds = _setters(Slot)
    last: tuple[int, ...] | None = None
    assignment: tuple[tuple[str, int], ...] = ()
    template: list[tuple[int, int, int, str]] = []
    for first, stop, rids in _walk(search, rules, lo, hi):
        if rids != last:
            last = rids
            assignment = tuple(zip(roles, rids, strict=True))
            template = [
                (rid, a - plan.lead_in, b - plan.lead_in, role)
                for role, rid, role_runs in zip(roles, rids, search.runs, strict=True)
                for a, b in role_runs
            ]
        for s in range(first, stop, granularity):
            holds = []
            for rid, a, b, role in template:
                hold = new(Hold)
                set_resource(hold, rid)
                set_start(hold, s + a)
                set_end(hold, s + b)
                set_role(hold, role)
                holds.append(hold)
            slot = new(Slot)
            set_slot_start(slot, s)
            set_slot_end(slot, s + client_length)
            set_assignment(slot, assignment)
            set_holds(slot, tuple(holds))
            append(slot)
    return slots


# --- explanations ---------------------------------------------------------------------------

_CODES = (
    "outside_horizon",
    "no_capable_resource",
    "not_working",
    "blocked",
    "fully_booked",
    "no_common_time",
)
_BLOCK_WORDS = {
    "time_off": "on time off",
    "holiday": "off for a holiday",
    "maintenance": "in maintenance",
}


def _noun(need: Need) -> str:
    """How staff name what a need asks for: "provider certified for botox", "laser"."""
    if need.kind == "provider":
        return f"provider certified for {need.capability}" if need.capability else "provider"
    if need.kind == "room":
        return f"room of type {need.capability}" if need.capability else "room"
    return need.capability or need.kind


def _reason(code: str, need: Need | None, message: str) -> Reason:
    if need is None:
        return Reason(code, None, None, None, message)
    return Reason(code, need.role, need.kind, need.capability, message)


def _role_reason(
    need: Need,
    plan: Plan,
    calendars: Sequence[ResourceCalendar],
    rules: Rules,
    reach: Interval,
) -> Reason | None:
    """Why this role alone can never be filled in the window, or None when it can."""
    noun = _noun(need)
    capable = [c for c in calendars if _capable(need, c)]
    pinned = rules.pins.get(need.role)
    if pinned is not None:
        if capable and not any(c.id in pinned for c in capable):
            here = any(c.id in pinned and c.kind == need.kind for c in calendars)
            what = (
                f"certified for {need.capability}"
                if need.kind == "provider" and need.capability
                else f"a {noun}"
            )
            message = (
                f"The requested {need.kind} is not {what}."
                if here
                else f"The requested {need.kind} does not work at this location."
            )
            return _reason("no_capable_resource", need, message)
        capable = [c for c in capable if c.id in pinned]
    if not capable:
        return _reason("no_capable_resource", need, f"There is no {noun} at this location.")
    working = [(c, intersect(normalize(c.working), [reach])) for c in capable]
    working = [(c, w) for c, w in working if w]
    if not working:
        verb = "works" if need.kind == "provider" else "is available"
        return _reason("not_working", need, f"No {noun} {verb} on these days.")
    unblocked = [subtract(w, normalize((b.start, b.end) for b in c.blocked)) for c, w in working]
    if not any(unblocked):
        reasons = list(
            dict.fromkeys(
                b.reason
                for c, w in working
                for b in sorted(c.blocked, key=lambda b: b.start)
                if intersect(w, [(b.start, b.end)])
            )
        )
        words = " or ".join(_BLOCK_WORDS.get(r, f"blocked ({r})") for r in reasons)
        if len(working) == 1:
            return _reason("blocked", need, f"The {noun} is {words}.")
        return _reason("blocked", need, f"Every {noun} is {words}.")
    alone = Plan(
        (need,),
        tuple(Segment(s.duration, s.holds & {need.role}, s.name) for s in plan.segments),
        plan.lead_in,
        plan.lead_out,
    )
    only = replace(
        rules,
        pins={k: v for k, v in rules.pins.items() if k == need.role},
        prefer={k: v for k, v in rules.prefer.items() if k == need.role},
    )
    search = _prepare(alone, calendars, only)
    if next(_walk(search, only, *_starts(alone, only)), None) is None:
        subject = f"The {noun} is" if len(capable) == 1 else f"Every {noun} is"
        return _reason(
            "fully_booked",
            need,
            f"{subject} booked at these times or free only in gaps too short for this service.",
        )
    return None


def explain(plan: Plan, calendars: Sequence[ResourceCalendar], rules: Rules) -> list[Reason]:
    """Why find_slots offers nothing, most specific first; [] when it offers something."""
    search = _prepare(plan, calendars, rules)
    lo, hi = _starts(plan, rules)
    if lo >= hi:
        if rules.earliest is not None and rules.window_end <= rules.earliest:
            message = "These times are too soon: bookings need more notice."
        elif rules.latest is not None and rules.window_start > rules.latest:
            message = "These dates are beyond how far ahead bookings are open."
        else:
            message = "The requested period is empty."
        return [_reason("outside_horizon", None, message)]
    if next(_walk(search, rules, lo, hi), None) is not None:
        return []
    reach = (lo - plan.lead_in, hi - plan.lead_in + search.span)
    found = [
        reason
        for need in plan.needs
        if (reason := _role_reason(need, plan, calendars, rules, reach)) is not None
    ]
    if not found:
        return [
            _reason(
                "no_common_time",
                None,
                "Each resource this service needs is free at some point, "
                "but never all at the same time.",
            )
        ]
    return sorted(found, key=lambda r: _CODES.index(r.code))
