"""The staff calendar of the busiest demo location: page render and data call, server side.

Builds the demo clinic on a fresh SQLite file (or, with --postgres, a fresh PostgreSQL
database), finds the busiest location and there its busiest day and week, and times, with
a signed-in manager, in process through Django's test client (server time: middleware,
session, view, template; the start-up objects frozen out of the collector as in a worker):

- the calendar page, `GET /calendar/?location=&date=&view=`;
- the data call the browser's EventCalendar makes, `GET /calendar/events?...&start=&end=`,
  for the day and for the week view (Sunday to Sunday), for the providers, rooms and
  devices views.

Each request's queries are counted on the busiest, a quiet and an empty day (or week); they
must be the same. Then the same requests go through `medspa serve` (gunicorn, 2 workers)
with the session cookie of a real sign-in. Targets (p95, server side): page <= 150 ms,
data call <= 100 ms. Exits non-zero when a target is missed or a query count varies, and
then prints a profile of the slowest request.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import http.client
import io
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, served, setup_django, write_results

PAGE_TARGET_MS = 150.0
DATA_TARGET_MS = 100.0
VIEWS = ("providers", "rooms", "devices")
MANAGER = "manager@demo.medspa.example"


@dataclass
class Case:
    """One request shape, with a URL per kind of day and what it measured."""

    name: str
    kind: str  # "page" or "data"
    urls: dict[str, str]  # busy / quiet / empty -> URL
    target: float
    timings: list[float] = field(default_factory=list)
    http: list[float] = field(default_factory=list)
    queries: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    size: int = 0

    @property
    def p95(self) -> float:
        return percentile(self.timings, 95)

    @property
    def constant(self) -> bool:
        return len(set(self.queries.values())) == 1


def week_of(day: date) -> date:
    """The Sunday that starts EventCalendar's week view (firstDay 0) around a day."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--http-iterations", type=int, default=100)
    parser.add_argument("--no-http", action="store_true", help="Skip the served runs.")
    parser.add_argument("--weeks-past", type=int, default=3)
    parser.add_argument("--weeks-future", type=int, default=3)
    parser.add_argument("--busyness", type=float, default=1.0, help="1.0 is the shipped demo.")
    parser.add_argument("--profile", action="store_true", help="Profile even when targets hold.")
    parser.add_argument(
        "--no-freeze", action="store_true", help="Time without gc.freeze(), unlike a worker."
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="A PostgreSQL server (postgres://user@host:port) to build a fresh database on.",
    )
    args = parser.parse_args()

    # A private var directory (file cache, sign-in lockouts) inside MEDSPA_VAR when given.
    parent = os.environ.get("MEDSPA_VAR")
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="medspa-bench-pages-", dir=parent))
    os.environ["MEDSPA_VAR"] = str(workdir)
    if not args.postgres:
        try:
            ok = run(args, f"sqlite:///{workdir / 'bench.sqlite3'}", "SQLite")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        sys.exit(0 if ok else 1)

    name = f"medspa_bench_pages_{os.getpid()}"
    server = args.postgres.rstrip("/")
    subprocess.run(["psql", f"{server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        ok = run(args, f"{server}/{name}", "PostgreSQL")
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(
            ["psql", f"{server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, database_url: str, engine: str) -> bool:
    setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from medspa.core.models import Location, User
    from medspa.demo import DEMO_PASSWORD, build_demo
    from medspa.scheduling.models import Reservation

    call_command("migrate", verbosity=0)
    # The page links hashed static files, as `medspa serve` collects them.
    call_command("collectstatic", interactive=False, verbosity=0)
    t0 = time.perf_counter()
    summary = build_demo(
        seed=1,
        weeks_past=args.weeks_past,
        weeks_future=args.weeks_future,
        busyness=args.busyness,
    )
    print(
        f"demo built on {engine} in {time.perf_counter() - t0:.0f} s: "
        f"{summary.reservations} reservations, busyness {args.busyness}"
    )

    # The busiest location and, there, the busiest, a quiet and an empty day of the demo.
    per_location = Counter(
        Reservation.objects.filter(active=True).values_list("appointment__location", flat=True)
    )
    location = Location.objects.get(pk=per_location.most_common(1)[0][0])
    zone = location.zone
    per_day = Counter(
        start.astimezone(zone).date()
        for start in Reservation.objects.filter(
            active=True, appointment__location=location
        ).values_list("start", flat=True)
    )
    today = summary.now.astimezone(zone).date()
    demo_days = [
        today + timedelta(days=d) for d in range(-7 * args.weeks_past, 7 * args.weeks_future + 1)
    ]
    busy_day = max(demo_days, key=lambda d: (per_day[d], d))
    quiet_day = min((d for d in demo_days if per_day[d]), key=lambda d: (per_day[d], d))
    # An empty day: a closed day of the demo, else one past its end.
    empty_day = next((d for d in demo_days if not per_day[d]), demo_days[-1] + timedelta(days=1))
    days = {"busy": busy_day, "quiet": quiet_day, "empty": empty_day}
    per_week = Counter({week_of(d): 0 for d in demo_days})
    for day, count in per_day.items():
        per_week[week_of(day)] += count
    weeks = {
        "busy": max(per_week, key=lambda w: (per_week[w], w)),
        "quiet": min((w for w in per_week if per_week[w]), key=lambda w: (per_week[w], w)),
        "empty": week_of(demo_days[-1]) + timedelta(days=7),
    }
    print(f"{location.name} (busiest location of {len(per_location)})")
    for label in days:
        day, week = days[label], weeks[label]
        print(
            f"  {label:<5} day {day:%a %Y-%m-%d}: {per_day[day]:>4} active reservations; "
            f"{label} week from {week:%a %Y-%m-%d}: {per_week[week]:>4}"
        )

    def events_url(view: str, first: date, days_long: int) -> str:
        query = urlencode(
            {
                "location": location.pk,
                "view": view,
                "start": f"{first.isoformat()}T00:00:00",
                "end": f"{(first + timedelta(days=days_long)).isoformat()}T00:00:00",
            }
        )
        return f"/calendar/events?{query}"

    cases: list[Case] = []
    for view in VIEWS:
        cases.append(
            Case(
                name=f"page {view}",
                kind="page",
                urls={
                    k: "/calendar/?"
                    + urlencode({"location": location.pk, "date": d.isoformat(), "view": view})
                    for k, d in days.items()
                },
                target=PAGE_TARGET_MS,
            )
        )
    for view in VIEWS:
        cases.append(
            Case(
                name=f"data day {view}",
                kind="data",
                urls={k: events_url(view, d, 1) for k, d in days.items()},
                target=DATA_TARGET_MS,
            )
        )
    for view in VIEWS:
        cases.append(
            Case(
                name=f"data week {view}",
                kind="data",
                urls={k: events_url(view, w, 7) for k, w in weeks.items()},
                target=DATA_TARGET_MS,
            )
        )

    manager = User.objects.get(email=MANAGER)
    client = Client()
    client.force_login(manager)

    # The first request of a worker also loads the organization's schedule setup (counted
    # apart); then queries and sizes, one warm request each on every kind of day.
    with CaptureQueriesContext(connection) as captured:
        client.get(cases[0].urls["busy"])
    cold_queries = len(captured.captured_queries)
    # A request may also renew the session's last-seen stamp (three more statements, once a
    # minute at most): the fewer of two counts is the request's own.
    for case in cases:
        for label, url in case.urls.items():
            counts = []
            for _ in range(2):
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                counts.append(len(captured.captured_queries))
            case.queries[label] = min(counts)
            if case.kind == "data":
                case.items[label] = len(response.json())
            if label == "busy":
                case.size = len(response.content)

    # Then the timings, on the busiest day, warm. A served worker runs with everything loaded
    # at start-up frozen out of the garbage collector (medspa/wsgi.py); so does this process,
    # else full collections over the demo builder's leftovers (50-90 ms each) make the tail.
    if not args.no_freeze:
        gc.collect()
        gc.freeze()
    # The machine is shared: the load average says how much else ran meanwhile.
    load = [os.getloadavg()[0]]
    for case in cases:
        url = case.urls["busy"]
        for i in range(args.warmup + args.iterations):
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200
            if i >= args.warmup:
                case.timings.append(elapsed)

    load.append(os.getloadavg()[0])
    if not args.no_http:
        measure_http(cases, database_url, DEMO_PASSWORD, args.http_iterations)
        load.append(os.getloadavg()[0])

    ok = report(cases, location.name, engine, cold_queries)
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average "
        "(1 min) before, after in process"
        + (", after HTTP" if len(load) > 2 else "")
        + ": "
        + " / ".join(f"{x:.1f}" for x in load)
    )
    if args.profile or not ok:
        worst = max(cases, key=lambda c: c.p95 / c.target)
        profile(lambda: client.get(worst.urls["busy"]), worst.name, args.iterations)

    path = write_results(
        "pages" if engine == "SQLite" else "pages-postgres",
        {
            "engine": engine,
            "busyness": args.busyness,
            "location": location.name,
            "days": {k: {"date": d, "reservations": per_day[d]} for k, d in days.items()},
            "weeks": {k: {"from": w, "reservations": per_week[w]} for k, w in weeks.items()},
            "cold_queries": cold_queries,
            "load_average": load,
            "rows": [
                {
                    "case": c.name,
                    "p50_ms": statistics.median(c.timings),
                    "p95_ms": c.p95,
                    "max_ms": max(c.timings),
                    "http_p50_ms": statistics.median(c.http) if c.http else None,
                    "http_p95_ms": percentile(c.http, 95) if c.http else None,
                    "queries": c.queries,
                    "items": c.items,
                    "bytes": c.size,
                }
                for c in cases
            ],
            "passed": ok,
        },
    )
    print(f"results: {path}")
    return ok


def sign_in(host: str, port: int, email: str, password: str) -> str:
    """A session cookie from the real sign-in form (GET for the CSRF token, then POST)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    conn.close()
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the sign-in page"
    body = urlencode({"csrfmiddlewaretoken": match[1], "login": email, "password": password})
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken'].value}",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    assert response.status == 302 and "sessionid" in cookies, f"sign-in failed: {response.status}"
    return f"sessionid={cookies['sessionid'].value}"


def measure_http(cases: list[Case], database_url: str, password: str, iterations: int) -> None:
    workers = 2
    with served(database_url, workers=workers) as url:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        cookie = sign_in(host, port, MANAGER, password)
        for case in cases:
            for i in range(iterations + 2 * workers):
                conn = http.client.HTTPConnection(host, port, timeout=30)
                t0 = time.perf_counter()
                conn.request("GET", case.urls["busy"], headers={"Cookie": cookie})
                response = conn.getresponse()
                body = response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                conn.close()
                assert response.status == 200, (case.urls["busy"], response.status, body[:300])
                if i >= 2 * workers:  # the first requests warm each worker
                    case.http.append(elapsed)


def report(cases: list[Case], location: str, engine: str, cold_queries: int) -> bool:
    print(
        f"\nServer side (in process, Django test client, {engine}), busiest day and week "
        f"at {location}"
    )
    print(
        f"{'request':<20} {'items':>6} {'KiB':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'HTTP p50':>9} {'HTTP p95':>9}"
    )
    for c in cases:
        http = (
            f"{statistics.median(c.http):>9.1f} {percentile(c.http, 95):>9.1f}"
            if c.http
            else f"{'-':>9} {'-':>9}"
        )
        print(
            f"{c.name:<20} {c.items.get('busy', 0) or '':>6} {c.size / 1024:>6.1f} "
            f"{statistics.median(c.timings):>8.1f} {c.p95:>8.1f} {max(c.timings):>8.1f} {http}"
        )

    labels = list(cases[0].queries)
    print("\nQueries per request on the " + " / ".join(labels) + " day or week (items)")
    for c in cases:
        counts = " / ".join(
            f"{c.queries[k]}" + (f" [{c.items[k]}]" if c.kind == "data" else "") for k in labels
        )
        print(f"{c.name:<20} {counts:<36} {'constant' if c.constant else 'VARIES'}")
    print(
        f"(the first request, {cases[0].name}, cost {cold_queries}: it also loaded the "
        "schedule setup, once per worker, and stamped the new session)"
    )

    ok = True
    print()
    for kind, target in (("page", PAGE_TARGET_MS), ("data", DATA_TARGET_MS)):
        mine = [c for c in cases if c.kind == kind]
        worst = max(mine, key=lambda c: c.p95)
        passed = worst.p95 <= target
        ok &= passed
        line = (
            f"{'PASS' if passed else 'FAIL'} {kind} p95 {worst.p95:.1f} ms "
            f"(worst: {worst.name}) target <= {target:.0f} ms"
        )
        if worst.http:
            worst_http = max(percentile(c.http, 95) for c in mine)
            line += f"; through HTTP {worst_http:.1f} ms"
        print(line)
    constant = all(c.constant for c in cases)
    ok &= constant
    print(
        f"{'PASS' if constant else 'FAIL'} constant queries: "
        + (
            "each request costs the same on the " + ", ".join(labels) + " day or week"
            if constant
            else "some counts vary with the day (see above)"
        )
    )
    return ok


def profile(request: Callable[[], Any], name: str, iterations: int) -> None:
    """Where the time of one request goes, by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        request()
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(20)
        print(f"\nprofile of {name} x{iterations}, by {order}:")
        print("\n".join(line for line in out.getvalue().splitlines()[5:] if line.strip()))


if __name__ == "__main__":
    main()
