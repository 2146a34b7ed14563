"""Turn catalog services into the availability engine's plans, and back into time spans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from medspa.catalog.models import Service
from medspa.scheduling import engine

PROVIDER, ROOM, DEVICE = "provider", "room", "device"


def plan_for(service: Service) -> engine.Plan:
    """The engine's view of a service: its roles, segments and buffers, in seconds."""
    segments = list(service.segments.all())
    held = {
        PROVIDER: any(s.holds_provider for s in segments),
        ROOM: any(s.holds_room for s in segments),
        DEVICE: any(s.holds_device for s in segments),
    }
    capability = {
        PROVIDER: service.provider_capability,
        ROOM: service.room_type,
        DEVICE: service.device_type,
    }
    needs = tuple(
        engine.Need(role=kind, kind=kind, capability=capability[kind] or None)
        for kind in (PROVIDER, ROOM, DEVICE)
        if held[kind]
    )
    return engine.Plan(
        needs=needs,
        segments=tuple(
            engine.Segment(
                duration=s.duration_minutes * 60,
                holds=frozenset(
                    kind
                    for kind, holds in (
                        (PROVIDER, s.holds_provider),
                        (ROOM, s.holds_room),
                        (DEVICE, s.holds_device),
                    )
                    if holds
                ),
                name=s.name,
            )
            for s in segments
        ),
        lead_in=service.buffer_before_minutes * 60,
        lead_out=service.buffer_after_minutes * 60,
    )


def line_spans(
    plans: Sequence[engine.Plan], client_start: datetime
) -> list[tuple[datetime, datetime]]:
    """The client-facing start and end of each service booked back to back from client_start."""
    spans = []
    cursor = client_start - timedelta(seconds=plans[0].lead_in)
    for i, plan in enumerate(plans):
        length = engine.plan_span(plan)
        start = cursor + timedelta(seconds=plan.lead_in if i == 0 else 0)
        end = cursor + timedelta(seconds=length - (plan.lead_out if i == len(plans) - 1 else 0))
        spans.append((start, end))
        cursor += timedelta(seconds=length)
    return spans


def line_index(role: str) -> int:
    """The position of the booked service a combined role belongs to ("1:room" -> 1)."""
    return int(role.split(":", 1)[0])


def role_kind(role: str) -> str:
    return role.split(":", 1)[1]
