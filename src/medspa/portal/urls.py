"""Client-facing pages reached by a signed link (the full portal comes later)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from medspa.portal import consent_pages, intake_pages, views

app_name = "portal"
# Each page module owns its routes, like the front desk's; all live under "portal".
urlpatterns: list[URLPattern | URLResolver] = [
    *views.urlpatterns,
    *intake_pages.urlpatterns,
    *consent_pages.urlpatterns,
]
