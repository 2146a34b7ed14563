"""The trial balance over 1,000,000 journal lines on PostgreSQL (issue 6).

Creates a fresh PostgreSQL database (default `postgres://postgres@127.0.0.1:5432`,
`--postgres URL` to change), migrates it, and writes the books of a busy clinic with SQL
(`INSERT ... SELECT generate_series`): 500,000 two-line entries over about three years
(sales paid cash, card or on account, into service or retail revenue), 1,000,000 lines,
plus a second organization with 100,000 lines that the selector must skip. Then times
`medspa.ledger.selectors.trial_balance` (the same call the API and the Books page make)
over every line, and over one month. Prints p50/p95 in ms and the verdict.
Target: the whole-history trial balance in at most 1 s (p95).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, setup_django, write_results

TARGET_MS = 1000.0


def load(org_id: int, location_id: int, *, first_id: int, entries: int) -> None:
    """Write `entries` two-line sales of one organization, 3 minutes apart, from 2024-01-01."""
    from django.db import connection

    from medspa.ledger.models import Account

    ids = dict(Account.objects.filter(organization_id=org_id).values_list("key", "id"))
    debit = [ids["cash"], ids["card_clearing"], ids["accounts_receivable"]]
    credit = [ids["service_revenue"], ids["retail_revenue"]]
    last = first_id + entries - 1
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO ledger_journalentry
                (id, organization_id, location_id, occurred_at, memo, source_type, source_id,
                 reverses_id, created_by_id, created_at)
            SELECT g, %s, %s, timestamptz '2024-01-01 14:00Z' + (g - %s) * interval '3 minutes',
                   'Checkout', 'invoice', g, NULL, NULL, now()
            FROM generate_series(%s, %s) AS g
            """,
            [org_id, location_id, first_id, first_id, last],
        )
        # An amount from 10.00 to 909.99 that varies with the entry, in whole cents.
        cur.execute(
            """
            INSERT INTO ledger_journalline
                (entry_id, organization_id, occurred_at, account_id, debit_cents, credit_cents,
                 memo)
            SELECT e.id, e.organization_id, e.occurred_at, side.account_id,
                   CASE WHEN side.is_debit THEN 1000 + (e.id * 7919) %% 90000 ELSE 0 END,
                   CASE WHEN side.is_debit THEN 0 ELSE 1000 + (e.id * 7919) %% 90000 END, ''
            FROM ledger_journalentry e
            CROSS JOIN LATERAL (
                VALUES ((%s::bigint[])[1 + e.id %% 3], true),
                       ((%s::bigint[])[1 + e.id %% 2], false)
            ) AS side(account_id, is_debit)
            WHERE e.id BETWEEN %s AND %s
            """,
            [debit, credit, first_id, last],
        )


def timed(fn: object, repeats: int) -> list[float]:
    assert callable(fn)
    fn()  # warm up: plans and caches
    timings = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - t0) * 1000)
    return timings


def run(args: argparse.Namespace, database_url: str) -> None:
    setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    from medspa.core.models import Location, Organization
    from medspa.ledger.models import JournalLine
    from medspa.ledger.selectors import trial_balance
    from medspa.ledger.services import ensure_chart_of_accounts

    call_command("migrate", interactive=False, verbosity=0)
    clinic = Organization.objects.create(name="Busy clinic", slug="busy")
    other = Organization.objects.create(name="Other clinic", slug="other")
    sites = [
        Location.objects.create(organization=org, name="Main", time_zone="America/New_York")
        for org in (clinic, other)
    ]
    for org in (clinic, other):
        ensure_chart_of_accounts(org)
    t0 = time.perf_counter()
    load(clinic.pk, sites[0].pk, first_id=1, entries=args.lines // 2)
    load(other.pk, sites[1].pk, first_id=args.lines // 2 + 1, entries=args.lines // 20)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), "
            "(SELECT max(id) FROM ledger_journalentry))"
        )
    connection.ensure_connection()
    connection.connection.autocommit = True  # VACUUM refuses to run inside a transaction
    with connection.cursor() as cur:
        # As autovacuum would: the visibility map makes the covering index's scan index-only.
        cur.execute("VACUUM ANALYZE ledger_journalline")
        cur.execute("VACUUM ANALYZE ledger_journalentry")
    built_s = time.perf_counter() - t0
    lines = JournalLine.objects.filter(organization=clinic).count()
    print(f"built {lines:,} lines of the measured clinic in {built_s:.1f} s")

    cases = {
        "trial balance, every line": (None, None),
        "trial balance, one month": (date(2025, 3, 1), date(2025, 3, 31)),
    }
    results = {}
    print(f"\n{'measure':<30} {'p50 ms':>8} {'p95 ms':>8}")
    for label, (start, end) in cases.items():
        tb = trial_balance(clinic, start, end)
        assert tb.balanced, label
        timings = timed(lambda s=start, e=end: trial_balance(clinic, s, e), args.repeats)
        results[label] = {
            "p50_ms": statistics.median(timings),
            "p95_ms": percentile(timings, 95),
            "debit_cents": tb.debit_cents,
        }
        print(f"{label:<30} {statistics.median(timings):>8.1f} {percentile(timings, 95):>8.1f}")
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN SELECT account_id, SUM(debit_cents), SUM(credit_cents) "
            "FROM ledger_journalline WHERE organization_id = %s GROUP BY account_id",
            [clinic.pk],
        )
        plan = "\n".join(row[0] for row in cur.fetchall())
    print("\nplan of the whole-history sum:\n" + plan)
    p95 = results["trial balance, every line"]["p95_ms"]
    verdict = "met" if p95 <= TARGET_MS else "MISSED"
    print(f"\ntarget: every line in <= {TARGET_MS:.0f} ms p95: {verdict} ({p95:.0f} ms)")
    path = write_results(
        "ledger",
        {
            "lines": lines,
            "other_organization_lines": args.lines // 10,
            "repeats": args.repeats,
            "results": results,
            "plan": plan,
            "target_ms": TARGET_MS,
            "verdict": verdict,
        },
    )
    print(f"results: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()
    name = f"bench_ledger_{os.getpid()}"
    server = args.postgres.rstrip("/")
    subprocess.run(["psql", f"{server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        run(args, f"{server}/{name}")
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(
            ["psql", f"{server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
            check=False,
            capture_output=True,
        )


if __name__ == "__main__":
    main()
