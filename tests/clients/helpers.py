"""Small helpers shared by the client record tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client as HttpClient

from medspa.core.models import AuditEvent


def send(http: HttpClient, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return http.generic(
        method,
        url,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
    )


def actions(object_id: int) -> list[str]:
    """The audit actions recorded on a client, oldest first."""
    return list(
        AuditEvent.objects.filter(object_type="client", object_id=str(object_id)).values_list(
            "action", flat=True
        )
    )
