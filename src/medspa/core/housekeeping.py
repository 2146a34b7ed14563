"""Periodic upkeep the worker runs: small, idempotent jobs that are safe to run twice.

Apps add their own jobs from `AppConfig.ready()` with `register_periodic_job` (billing's
instalments, for one): core sits on the lowest floor and never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from medspa.core.models import IdempotencyRecord

PeriodicJob = Callable[[], object]

_JOBS: dict[str, PeriodicJob] = {}


def register_periodic_job(job: PeriodicJob, *, name: str | None = None) -> None:
    """Run `job()` on every upkeep pass of the worker; registering a name again replaces it."""
    _JOBS[name or f"{job.__module__}.{job.__qualname__}"] = job


def unregister_periodic_job(name: str) -> None:
    _JOBS.pop(name, None)


def periodic_jobs() -> list[tuple[str, PeriodicJob]]:
    """The registered jobs with their names, in the order they were registered."""
    return list(_JOBS.items())


def purge_idempotency_records(*, now: datetime | None = None) -> int:
    """Forget idempotency keys older than the retention window; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.MEDSPA_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


register_periodic_job(purge_idempotency_records, name="core.purge_idempotency_records")
