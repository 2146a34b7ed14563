"""Concurrent bookings through the HTTP API on PostgreSQL with 8 clients against a served app.

Creates a fresh PostgreSQL database, loads the demo clinic, serves it with gunicorn, and
lets 8 client threads book pre-planned free slots (each with an Idempotency-Key) as fast
as they can. Prints bookings per second, conflicts (409), and the number of overlapping
active reservations afterwards, which must be 0. Target: at least 150 bookings/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, served, setup_django, write_results

SERVICES = (
    "Neurotoxin \N{EN DASH} one area",
    "Aesthetic consultation",
    "Lip flip",
    "Dermaplaning",
)


def plan_bookings(limit: int, first_day: int, days: int) -> tuple[list[dict[str, object]], int]:
    """Free, mutually compatible bookings from an in-process availability snapshot."""
    from medspa.catalog.models import Service
    from medspa.clients.models import Client
    from medspa.core.models import Location
    from medspa.scheduling.selectors import Wanted, find_availability, from_ts

    rng = random.Random(5)
    location = Location.objects.order_by("id").first()
    assert location is not None
    org = location.organization
    clients = list(Client.objects.filter(organization=org).values_list("pk", flat=True))
    now = datetime.now(tz=UTC)
    start = now + timedelta(days=first_day)
    end = start + timedelta(days=days)
    taken: dict[int, list[tuple[int, int]]] = {}
    planned: list[dict[str, object]] = []
    for name in SERVICES:
        service = Service.objects.get(organization=org, name=name)
        slots = find_availability(
            organization=org,
            location=location,
            wanted=[Wanted(service)],
            start=start,
            end=end,
            now=now,
        ).slots
        rng.shuffle(slots)
        for slot in slots:
            holds = [(h.resource, h.start, h.end) for h in slot.holds]
            if any(a < e and s < b for r, s, e in holds for a, b in taken.get(r, [])):
                continue
            for r, s, e in holds:
                taken.setdefault(r, []).append((s, e))
            planned.append(
                {
                    "client": rng.choice(clients),
                    "location": location.pk,
                    "service": service.pk,
                    "provider": dict(slot.assignment).get("0:provider"),
                    "start": from_ts(slot.start).astimezone(location.zone).isoformat(),
                }
            )
    rng.shuffle(planned)
    return planned[:limit], location.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--contested",
        type=float,
        default=0.1,
        help="Share of extra requests that race another client for an already planned slot.",
    )
    parser.add_argument(
        "--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()

    name = f"medspa_bench_{os.getpid()}"
    server = args.postgres.rstrip("/")
    subprocess.run(["psql", f"{server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    database_url = f"{server}/{name}"
    try:
        run(args, database_url)
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(
            ["psql", f"{server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
            check=False,
            capture_output=True,
        )


def run(args: argparse.Namespace, database_url: str) -> None:
    setup_django(database_url)
    from django.core.management import call_command

    from medspa.core.models import User
    from medspa.core.tokens import create_api_token
    from medspa.demo import build_demo
    from medspa.scheduling.selectors import count_overlapping_reservations

    call_command("migrate", verbosity=0)
    build_demo(seed=1)
    planned, _ = plan_bookings(args.bookings, first_day=28, days=60)
    # Contested requests: another client wants exactly the same provider and time.
    rng = random.Random(11)
    rivals = [
        {**body, "client": rng.choice(planned)["client"]}
        for body in rng.sample(planned, int(len(planned) * args.contested))
    ]
    planned = planned + rivals
    rng.shuffle(planned)
    token = create_api_token(user=User.objects.get(email="frontdesk@demo.medspa.example"))
    print(
        f"planned {len(planned) - len(rivals)} free bookings and {len(rivals)} rivals for the "
        f"same slots; {args.clients} clients, "
        f"{args.workers} gunicorn workers, PostgreSQL"
    )

    queue = list(enumerate(planned))
    lock = threading.Lock()
    outcomes: Counter[int] = Counter()
    latencies: list[float] = []

    def client(url: str) -> None:
        host = urlsplit(url)
        while True:
            with lock:
                if not queue:
                    return
                _, body = queue.pop()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
            t0 = time.perf_counter()
            conn.request(
                "POST",
                "/api/v1/appointments",
                body=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            conn.close()
            with lock:
                outcomes[response.status] += 1
                latencies.append(elapsed)

    with served(database_url, workers=args.workers, threads=args.threads) as url:
        # Warm every worker before timing.
        for _ in range(args.workers * 2):
            conn = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port)
            conn.request("GET", "/api/v1/locations", headers={"Authorization": f"Bearer {token}"})
            conn.getresponse().read()
            conn.close()
        threads = [threading.Thread(target=client, args=(url,)) for _ in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0

    overlaps = count_overlapping_reservations()
    booked = outcomes[201]
    print(f"\nrequests          {sum(outcomes.values())} in {elapsed:.1f} s")
    print(f"booked (201)      {booked}")
    print(f"conflicts (409)   {outcomes[409]}   (expected {len(rivals)}: one of each pair wins)")
    other = {k: v for k, v in outcomes.items() if k not in (201, 409)}
    print(f"other answers     {other or 0}")
    print(f"bookings/s        {booked / elapsed:.0f}   (target >= 150)")
    print(f"latency p50/p95   {percentile(latencies, 50):.1f} / {percentile(latencies, 95):.1f} ms")
    print(f"overlapping active reservations afterwards: {overlaps}")
    path = write_results(
        "booking",
        {
            "clients": args.clients,
            "workers": args.workers,
            "requests": sum(outcomes.values()),
            "booked": booked,
            "rivals": len(rivals),
            "conflicts": outcomes[409],
            "other": other,
            "seconds": elapsed,
            "bookings_per_second": booked / elapsed,
            "latency_p50_ms": percentile(latencies, 50),
            "latency_p95_ms": percentile(latencies, 95),
            "overlapping_reservations": overlaps,
        },
    )
    print(f"results: {path}")
    if overlaps or outcomes[409] != len(rivals):
        sys.exit(1)


if __name__ == "__main__":
    main()
