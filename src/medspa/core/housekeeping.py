"""Periodic upkeep the worker runs: small, idempotent jobs that are safe to run twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from medspa.core.models import IdempotencyRecord


def purge_idempotency_records(*, now: datetime | None = None) -> int:
    """Forget idempotency keys older than the retention window; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.MEDSPA_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


PERIODIC_JOBS = (purge_idempotency_records,)
