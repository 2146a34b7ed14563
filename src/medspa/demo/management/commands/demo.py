"""`medspa demo [--seed N] [--reset]`: load the demo clinic "Lumen Aesthetics"."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medspa.core.audit import audit_context
from medspa.demo import (
    DEFAULT_WEEKS_PAST,
    DEMO_ORGANIZATION_NAME,
    DEMO_PASSWORD,
    DEMO_SLUG,
    DemoError,
    DemoSummary,
    build_demo,
    demo_logins,
)


class Command(BaseCommand):
    help = (
        "Load the demo clinic (two locations, staff, services, clients, a quarter of past "
        "visits checked out into the books and three weeks ahead). --reset empties a database "
        "that holds only the demo and builds it anew."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same clinic.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Rebuild: flush the database first (refused if it holds more than the demo).",
        )
        parser.add_argument("--weeks-past", type=int, default=DEFAULT_WEEKS_PAST)
        parser.add_argument("--weeks-future", type=int, default=3)
        parser.add_argument(
            "--busyness", type=float, default=1.0, help="Scale the number of appointments."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from medspa.demo.builder import demo_exists

        if demo_exists() and not options["reset"]:
            self.stdout.write(
                f"The demo clinic {DEMO_ORGANIZATION_NAME} ({DEMO_SLUG}) is already loaded; "
                "nothing changed. Use --reset to rebuild it."
            )
            self._logins()
            return
        try:
            with audit_context(via="cli"):
                summary = build_demo(
                    seed=options["seed"],
                    reset=options["reset"],
                    weeks_past=options["weeks_past"],
                    weeks_future=options["weeks_future"],
                    busyness=options["busyness"],
                )
        except DemoError as error:
            raise CommandError(str(error)) from None
        self._report(summary)
        self._logins()

    def _report(self, s: DemoSummary) -> None:
        write = self.stdout.write
        write(
            f"Built the demo clinic {s.organization} (seed {s.seed}, "
            f"now {s.now:%Y-%m-%d %H:%M} UTC) in {s.seconds:.1f} s:"
        )
        write(
            f"  {s.locations} locations, {s.staff} staff logins, {s.providers} providers, "
            f"{s.rooms} rooms, {s.devices} devices, {s.services} services"
        )
        write(
            f"  {s.clients} clients; {s.blocks} blocks (time off, training, maintenance, holiday)"
        )
        write(
            f"  {s.appointments} appointments with {s.appointment_lines} services and "
            f"{s.reservations} reservations"
        )
        for name, count in s.by_location.items():
            per_day = s.per_open_day.get(name)
            extra = f" ({per_day} a day it was open, not counting cancelled)" if per_day else ""
            write(f"    {name}: {count}{extra}")
        write("    " + ", ".join(f"{status} {n}" for status, n in s.by_status.items()))
        if s.records:
            write("  " + ", ".join(f"{what} {n}" for what, n in s.records.items()))

    def _logins(self) -> None:
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'):")
        for role, email in demo_logins():
            self.stdout.write(f"  {role:<11} {email}")
