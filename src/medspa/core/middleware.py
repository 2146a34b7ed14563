"""Tag every request's audit events with where it came from."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from medspa.core.audit import audit_context


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A page activates its organization's clock (frontdesk.views.page_staff); each request
        # starts and ends in UTC so one request's zone never leaks into the next on a thread.
        timezone.deactivate()
        via = "api" if request.path.startswith("/api/") else "web"
        try:
            with audit_context(ip_address=request.META.get("REMOTE_ADDR") or None, via=via):
                return self.get_response(request)
        finally:
            timezone.deactivate()
