"""Signals other apps listen to, so scheduling never imports the floors above it.

Both are sent inside the service's transaction: a receiver's writes commit or roll back with
the booking, and a receiver that raises refuses the whole change.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=Appointment; kwargs: appointment, actor. Sent once the appointment and its lines exist.
appointment_booked = Signal()

# sender=Appointment; kwargs: appointment, actor, previous (status), status.
appointment_status_changed = Signal()

# sender=Appointment; kwargs: appointment. Asked before an appointment moves to in_treatment
# (and by the panel, to show readiness): each receiver returns a list of `gate.GateGap`,
# what its floor still misses. Sending it changes nothing.
treatment_gate = Signal()

# sender=Appointment; kwargs: appointment, actor, reason, gaps (list of GateGap). Sent inside
# the status change when a manager lets the appointment into treatment despite the gaps.
treatment_gate_overridden = Signal()
