"""Staff web app: client record pages (in progress)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
