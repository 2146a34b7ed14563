"""Signals the floors above listen to, so clinical never imports billing.

Sent inside the service's transaction: a receiver's writes commit or roll back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=Chart; kwargs: chart, appointment, actor. Sent once the chart is signed and locked
# (billing builds the visit's draft invoice from it).
chart_signed = Signal()
