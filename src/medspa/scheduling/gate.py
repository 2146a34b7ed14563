"""The treatment gate, as scheduling sees it: what the floors above say is still missing.

Scheduling cannot know intake forms or consents (clinical sits above it), so it asks
through the `treatment_gate` signal and collects the gaps each receiver reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medspa.scheduling import signals
from medspa.scheduling.models import Appointment

# How long a written override reason must be at least: a word or two is not a reason.
MIN_OVERRIDE_REASON = 10
MAX_OVERRIDE_REASON = 1000


@dataclass(frozen=True)
class GateGap:
    """One thing missing before treatment, as a sentence the clinic reads."""

    service_id: int | None
    what: str
    # "intake", "review" or "consent": groups the checklist; free text for other receivers.
    kind: str = ""

    def as_data(self) -> dict[str, Any]:
        """The gap as stored on the override and in the audit log."""
        return {"service": self.service_id, "missing": self.what, "kind": self.kind}


def treatment_gaps(appointment: Appointment) -> list[GateGap]:
    """Everything the receivers say is missing before the appointment may start treatment."""
    gaps: list[GateGap] = []
    for _receiver, response in signals.treatment_gate.send(Appointment, appointment=appointment):
        gaps.extend(gap for gap in response or [] if isinstance(gap, GateGap))
    return gaps
