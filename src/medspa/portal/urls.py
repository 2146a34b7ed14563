"""Client-facing pages reached by a signed link (the full portal comes later)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "portal"
# Each page module owns its routes, like the front desk's; all live under "portal".
urlpatterns: list[URLPattern | URLResolver] = []
