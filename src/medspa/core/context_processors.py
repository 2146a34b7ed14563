"""Template context every staff page shares."""

from __future__ import annotations

from django.http import HttpRequest

from medspa.core.models import User
from medspa.core.permissions import MATRIX, can


def permissions(request: HttpRequest) -> dict[str, object]:
    """`may.<action>` for templates, with dots as underscores: `may.hours_manage`."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or user.organization_id is None:
        return {"may": {}}
    return {"may": {action.replace(".", "_"): can(user, action) for action in MATRIX}}
