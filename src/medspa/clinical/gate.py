"""The clinical side of the treatment gate: what an appointment still misses, and overrides.

Scheduling asks through `treatment_gate` before an appointment moves to in_treatment; this
receiver answers with the intake forms not submitted, the flagged answers not cleared by
a provider, and the consents without a signature that counts. When a manager overrides,
`treatment_gate_overridden` makes a GateOverride row: the "manual recovery" reports count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from medspa.clinical.consent import consents_for_appointment
from medspa.clinical.models import (
    GateOverride,
    IntakeRequest,
    IntakeRequestStatus,
    IntakeTemplate,
    ReviewStatus,
    ReviewTask,
)
from medspa.core.models import Organization, User
from medspa.scheduling import signals
from medspa.scheduling.gate import GateGap
from medspa.scheduling.models import Appointment, AppointmentService


def _intake_gaps(appointment: Appointment) -> list[GateGap]:
    """Forms not submitted or never asked for; flagged answers no provider cleared (2 queries)."""
    gaps: list[GateGap] = []
    requests = list(
        IntakeRequest.objects.filter(appointment_id=appointment.pk)
        .exclude(status=IntakeRequestStatus.CANCELLED)
        .select_related("template", "review_task")
        # The answers and flags are encrypted clinical data: the gate never needs them.
        .defer("answers", "flags")
        .order_by("template__name", "id")
    )
    # Forms attached to the services after the booking were never asked for: still needed.
    never_asked = (
        IntakeTemplate.objects.filter(
            organization_id=appointment.organization_id,
            is_active=True,
            versions__published_at__isnull=False,
            services__in=AppointmentService.objects.filter(appointment_id=appointment.pk).values(
                "service_id"
            ),
        )
        .exclude(pk__in=[r.template_id for r in requests])
        .distinct()
        .order_by("name")
        .values_list("name", flat=True)
    )
    for name in never_asked:
        gaps.append(GateGap(None, f"{name} intake was never sent: send the link", "intake"))
    for request in requests:
        name = request.template.name
        if request.status != IntakeRequestStatus.SUBMITTED:
            gaps.append(GateGap(None, f"{name} intake is not submitted", "intake"))
            continue
        try:
            review: ReviewTask | None = request.review_task
        except ReviewTask.DoesNotExist:
            review = None
        if review is None or review.status == ReviewStatus.CLEARED:
            continue
        if review.status == ReviewStatus.NOT_CLEARED:
            # A person said no: the gate holds until a provider clears it (or a manager overrides).
            what = f"{name} answers flagged for review were not cleared to treat"
        else:
            what = f"{name} answers flagged for review are not cleared yet"
        gaps.append(GateGap(None, what, "review"))
    return gaps


def _consent_name(template_name: str) -> str:
    return template_name if "consent" in template_name.lower() else f"{template_name} consent"


def _consent_gaps(appointment: Appointment, now: datetime | None = None) -> list[GateGap]:
    gaps: list[GateGap] = []
    for need in consents_for_appointment(appointment, now=now):
        if need.satisfied:
            continue
        # Never signed, lapsed, or a newer version asks again: the client signs the current one.
        what = f"{_consent_name(need.template.name)} is not signed"
        gaps.append(GateGap(None, what, "consent"))
    return gaps


def appointment_gaps(appointment: Appointment, *, now: datetime | None = None) -> list[GateGap]:
    """Everything clinical the appointment still misses before treatment, in checklist order."""
    return _intake_gaps(appointment) + _consent_gaps(appointment, now)


def on_treatment_gate(sender: Any, *, appointment: Appointment, **kwargs: Any) -> list[GateGap]:
    return appointment_gaps(appointment)


def on_gate_overridden(
    sender: Any,
    *,
    appointment: Appointment,
    actor: User,
    reason: str,
    gaps: list[GateGap],
    **kwargs: Any,
) -> None:
    """Keep the override as a row of its own (the audit event is written by scheduling)."""
    GateOverride.objects.create(
        organization_id=appointment.organization_id,
        appointment=appointment,
        reason=reason,
        missing=[gap.as_data() for gap in gaps],
        overridden_by=actor,
    )


def manual_recoveries(
    organization: Organization, start: datetime, end: datetime
) -> QuerySet[GateOverride]:
    """The gate overrides of the organization in [start, end), newest first: manual recovery."""
    return (
        GateOverride.objects.filter(
            organization=organization, overridden_at__gte=start, overridden_at__lt=end
        )
        .select_related("appointment", "appointment__client", "overridden_by")
        .order_by("-overridden_at", "-id")
    )


signals.treatment_gate.connect(on_treatment_gate, sender=Appointment, dispatch_uid="clinical_gate")
signals.treatment_gate_overridden.connect(
    on_gate_overridden, sender=Appointment, dispatch_uid="clinical_gate_override"
)
