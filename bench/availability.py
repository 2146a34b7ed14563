"""A month of availability at the busiest demo location, in process and through the HTTP API.

Builds the demo clinic on a fresh SQLite file, then for five services asks for 30 days of
starts. Prints p50/p95 in ms per service-month. Targets: p95 <= 50 ms in process,
<= 150 ms through the API.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, served, setup_django, write_results

SERVICES = (
    "Aesthetic consultation",
    "Neurotoxin \N{EN DASH} three areas",
    "Laser hair removal \N{EN DASH} medium area",
    "HydraFacial Signature",
    "IPL photofacial",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--busyness", type=float, default=2.0)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="medspa-bench-"))
    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    setup_django(database_url)
    from django.core.management import call_command

    from medspa.catalog.models import Service
    from medspa.core.models import Location, User
    from medspa.core.tokens import create_api_token
    from medspa.demo import build_demo
    from medspa.scheduling.models import Reservation
    from medspa.scheduling.selectors import Wanted, find_availability, resources_at

    call_command("migrate", verbosity=0)
    build_demo(seed=1, weeks_past=1, weeks_future=6, busyness=args.busyness)
    location = Location.objects.order_by("id").first()
    assert location is not None
    org = location.organization
    now = datetime.now(tz=UTC)
    zone = location.zone
    start = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=30)
    resource_ids = list(resources_at(org, location).values_list("pk", flat=True))
    held = Reservation.objects.filter(
        resource_id__in=resource_ids, active=True, start__lt=end, end__gt=start
    ).count()
    print(
        f"{location.name}: {len(resource_ids)} resources, {held} active reservations "
        f"from {start:%Y-%m-%d} for 30 days"
    )

    services = []
    for name in SERVICES:
        services.append(Service.objects.get(organization=org, name=name))

    rows = []
    for service in services:
        timings, slots = [], 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            found = find_availability(
                organization=org,
                location=location,
                wanted=[Wanted(service)],
                start=start,
                end=end,
                now=now,
            )
            timings.append((time.perf_counter() - t0) * 1000)
            slots = len(found.slots)
        rows.append({"service": service.name, "slots": slots, "in_process": timings})

    user = User.objects.get(email="frontdesk@demo.medspa.example")
    token = create_api_token(user=user, name="bench")
    with served(database_url, workers=2) as url:
        host = urlsplit(url)
        for row, service in zip(rows, services, strict=True):
            query = urlencode(
                {
                    "location": location.pk,
                    "service": service.pk,
                    "start": start.date().isoformat(),
                    "end": (end - timedelta(days=1)).date().isoformat(),
                }
            )
            timings = []
            for i in range(args.repeats + 2):
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
                t0 = time.perf_counter()
                conn.request(
                    "GET",
                    f"/api/v1/availability?{query}",
                    headers={"Authorization": f"Bearer {token}"},
                )
                response = conn.getresponse()
                body = response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                conn.close()
                assert response.status == 200, body[:300]
                if i >= 2:  # the first requests warm each worker
                    timings.append(elapsed)
            row["http"] = timings

    print(
        f"\n{'service':<36} {'slots':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'HTTP p50':>9} {'HTTP p95':>9}"
    )
    for row in rows:
        print(
            f"{row['service']:<36} {row['slots']:>6} "
            f"{statistics.median(row['in_process']):>8.1f} "
            f"{percentile(row['in_process'], 95):>8.1f} "
            f"{statistics.median(row['http']):>9.1f} {percentile(row['http'], 95):>9.1f}"
        )
    worst = max(percentile(r["in_process"], 95) for r in rows)
    worst_http = max(percentile(r["http"], 95) for r in rows)
    print(
        f"\nworst p95: {worst:.1f} ms in process (target <= 50), "
        f"{worst_http:.1f} ms through HTTP (target <= 150)"
    )
    path = write_results(
        "availability",
        {
            "reservations_in_month": held,
            "rows": [
                {
                    "service": r["service"],
                    "slots": r["slots"],
                    "p50_ms": statistics.median(r["in_process"]),
                    "p95_ms": percentile(r["in_process"], 95),
                    "http_p50_ms": statistics.median(r["http"]),
                    "http_p95_ms": percentile(r["http"], 95),
                }
                for r in rows
            ],
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
