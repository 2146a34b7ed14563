"""The demo clinic: "Lumen Aesthetics", two sites, staff, services, clients and a busy schedule.

This module stays free of model imports so that `medspa.cli` and the app registry can import
it before Django is set up; `build_demo` loads the builder when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "DEMO_ORGANIZATION_NAME",
    "DEMO_PASSWORD",
    "DEMO_SLUG",
    "DEMO_STAFF",
    "DemoError",
    "DemoSummary",
    "build_demo",
    "demo_logins",
]

DEMO_PASSWORD = "demo"
# A quarter of history: enough months of visits and books for reports and the ledger.
DEFAULT_WEEKS_PAST = 13
DEMO_SLUG = "lumen-demo"
DEMO_ORGANIZATION_NAME = "Lumen Aesthetics"

# (role, role label, e-mail, full name): one sign-in per role, all with DEMO_PASSWORD.
DEMO_STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("owner", "Owner", "owner@demo.medspa.example", "Claire Whitfield"),
    ("manager", "Manager", "manager@demo.medspa.example", "Daniel Reyes"),
    ("front_desk", "Front desk", "frontdesk@demo.medspa.example", "Sofia Martinez"),
    ("provider", "Provider", "provider@demo.medspa.example", "Jenna Park"),
    ("billing", "Billing", "billing@demo.medspa.example", "Priya Raman"),
)


class DemoError(Exception):
    """The demo cannot be built as asked (it exists already, or the database holds more)."""


@dataclass(frozen=True)
class DemoSummary:
    """What build_demo made, for the command to print."""

    organization: str
    seed: int
    now: datetime
    locations: int
    staff: int
    providers: int
    rooms: int
    devices: int
    services: int
    clients: int
    blocks: int
    appointments: int
    appointment_lines: int
    reservations: int
    by_location: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    # Appointments (not counting cancelled ones) per open day, over the days up to today.
    per_open_day: dict[str, float] = field(default_factory=dict)
    # Clinical records and the books: charts, invoices, payments, refunds, closes, deposits.
    records: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def demo_logins() -> list[tuple[str, str]]:
    """(role label, e-mail) of each demo sign-in; the password is DEMO_PASSWORD."""
    return [(label, email) for _, label, email, _ in DEMO_STAFF]


def build_demo(
    *,
    seed: int = 1,
    reset: bool = False,
    now: datetime | None = None,
    weeks_past: int = DEFAULT_WEEKS_PAST,
    weeks_future: int = 3,
    busyness: float = 1.0,
) -> DemoSummary:
    """Build the demo clinic in one transaction; the same seed and `now` give the same data."""
    from medspa.demo.builder import build

    return build(
        seed=seed,
        reset=reset,
        now=now,
        weeks_past=weeks_past,
        weeks_future=weeks_future,
        busyness=busyness,
    )
