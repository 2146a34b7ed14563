"""Time the availability engine on a month at a busy synthetic location; print and save JSON."""

from __future__ import annotations

import json
import platform
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from medspa.scheduling.engine import (  # noqa: E402
    Need,
    Plan,
    ResourceCalendar,
    Rules,
    Segment,
    WeeklyHours,
    combine,
    expand_weekly,
    find_slots,
)

TZ = "America/New_York"
# March 2026: 31 days, with the spring-forward change on the 8th.
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)
REPEATS = 50
GRIDS = (300, 900)
MIN = 60

PROVIDER_SKILLS = [
    {"consult", "neurotoxin", "laser_hair_removal", "hydrafacial"},
    {"consult", "neurotoxin", "rf_microneedling"},
    {"consult", "neurotoxin", "laser_hair_removal"},
    {"consult", "hydrafacial"},
    {"consult", "laser_hair_removal", "hydrafacial"},
    {"consult", "neurotoxin", "rf_microneedling", "hydrafacial"},
    {"consult", "laser_hair_removal"},
    {"consult", "neurotoxin"},
]
ROOM_TYPES = ["treatment", "treatment", "laser_suite", "laser_suite", "facial", "facial"]
DEVICE_TYPES = ["laser", "laser", "rf_microneedler"]


def seg(minutes: int, *roles: str, name: str = "") -> Segment:
    return Segment(minutes * MIN, frozenset(roles), name)


def needs(provider: str, room: str, device: str | None = None) -> tuple[Need, ...]:
    out = [Need("provider", "provider", provider), Need("room", "room", room)]
    if device:
        out.append(Need("device", "device", device))
    return tuple(out)


PLANS = {
    "consult": Plan(needs("consult", "treatment"), (seg(30, "provider", "room"),)),
    "neurotoxin": Plan(
        needs("neurotoxin", "treatment"),
        (seg(5, "room"), seg(20, "provider", "room"), seg(5, "room")),
        lead_in=5 * MIN,
        lead_out=5 * MIN,
    ),
    "laser hair removal": Plan(
        needs("laser_hair_removal", "laser_suite", "laser"),
        (
            seg(10, "room", name="prep"),
            seg(20, "room", name="numbing"),
            seg(30, "provider", "room", "device", name="treatment"),
            seg(10, "room", name="cleanup"),
        ),
        lead_out=10 * MIN,
    ),
    "hydrafacial": Plan(
        needs("hydrafacial", "facial"),
        (seg(60, "provider", "room"), seg(10, "room")),
        lead_out=10 * MIN,
    ),
    "rf microneedling": Plan(
        needs("rf_microneedling", "treatment", "rf_microneedler"),
        (
            seg(30, "room", name="numbing"),
            seg(45, "provider", "room", "device", name="treatment"),
            seg(10, "room", name="cleanup"),
        ),
        lead_out=10 * MIN,
    ),
}


def location(seed: int = 7) -> list[ResourceCalendar]:
    """8 providers, 6 rooms, 3 devices open 09:00-19:00, with about 2,000 bookings a month."""
    rng = random.Random(seed)
    hours = [WeeklyHours(d, clock(9), clock(19)) for d in range(7)]
    open_hours = expand_weekly(hours, TZ, FIRST, LAST)
    resources = (
        [("provider", frozenset(s), 6) for s in PROVIDER_SKILLS]
        + [("room", frozenset({t}), 4) for t in ROOM_TYPES]
        + [("device", frozenset({t}), 4) for t in DEVICE_TYPES]
    )
    calendars = []
    for rid, (kind, capabilities, per_day) in enumerate(resources, start=1):
        busy = []
        for day_start, day_end in open_hours:
            # Bookings of 15-90 minutes on the quarter hour, not overlapping one another.
            taken: list[tuple[int, int]] = []
            for _ in range(rng.randint(per_day - 1, per_day + 1)):
                length = rng.choice((15, 30, 45, 60, 90)) * MIN
                start = day_start + rng.randrange(0, (day_end - day_start - length) // 900) * 900
                if all(start >= b or start + length <= a for a, b in taken):
                    taken.append((start, start + length))
            busy.extend(taken)
        calendars.append(
            ResourceCalendar(rid, kind, capabilities, tuple(open_hours), busy=tuple(busy))
        )
    return calendars


def month_rules(granularity: int) -> Rules:
    zone = ZoneInfo(TZ)
    start = datetime.combine(FIRST, clock(0), tzinfo=zone)
    end = datetime.combine(LAST + timedelta(days=1), clock(0), tzinfo=zone)
    return Rules(int(start.timestamp()), int(end.timestamp()), TZ, granularity)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    """Run every plan on every grid REPEATS times; print a table and write the JSON."""
    calendars = location()
    busy_count = sum(len(c.busy) for c in calendars)
    plans = dict(PLANS)
    plans["neurotoxin + hydrafacial"] = combine([PLANS["neurotoxin"], PLANS["hydrafacial"]])
    rows = []
    for name, plan in plans.items():
        for granularity in GRIDS:
            rules = month_rules(granularity)
            samples = []
            for _ in range(REPEATS):
                began = time.perf_counter()
                slots = find_slots(plan, calendars, rules)
                samples.append((time.perf_counter() - began) * 1000)
            rows.append(
                {
                    "plan": name,
                    "grid_minutes": granularity // MIN,
                    "slots": len(slots),
                    "p50_ms": round(statistics.median(samples), 2),
                    "p95_ms": round(percentile(samples, 0.95), 2),
                    "max_ms": round(max(samples), 2),
                }
            )
    header = f"{'plan':<26} {'grid':>5} {'slots':>6} {'p50 ms':>8} {'p95 ms':>8}"
    print(f"engine, {len(calendars)} resources, {busy_count} busy intervals, {FIRST:%B %Y} ({TZ})")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['plan']:<26} {row['grid_minutes']:>4}m {row['slots']:>6} "
            f"{row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f}"
        )
    out = ROOT / "bench" / "results" / "engine.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "engine.find_slots, one month",
        "location": {
            "time_zone": TZ,
            "month": f"{FIRST:%Y-%m}",
            "providers": len(PROVIDER_SKILLS),
            "rooms": len(ROOM_TYPES),
            "devices": len(DEVICE_TYPES),
            "busy_intervals": busy_count,
            "hours": "09:00-19:00 every day",
        },
        "repeats": REPEATS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
