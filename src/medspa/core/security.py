"""Session rules every staff request passes: the idle timeout and the required second factor.

An organization sets, per role, whether staff must sign in with a second factor, and how
many minutes without activity end a session (core.Organization). The middleware below
enforces both after allauth has signed the user in; allauth itself asks for the code at
sign-in whenever the user has an authenticator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from medspa.core.errors import DomainError
from medspa.core.models import User
from medspa.core.web import problem_response

API_PREFIX = "/api/"
# The session remembers when the user was last seen; it is rewritten at most this often, so
# most requests do not write the session at all.
LAST_SEEN_KEY = "medspa.last_seen"
STAMP_EVERY_SECONDS = 60
# The session proved a second factor by activating it here (allauth records code checks).
SECOND_FACTOR_KEY = "medspa.second_factor_user"
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
# Staff without an organization (site administrators) get the organizations' default.
DEFAULT_IDLE_TIMEOUT_MINUTES = 30
# Pages a user who still owes a second factor may open: setting one up, confirming a code
# (allauth may ask for the password again before activation), and signing out.
SETUP_URL_NAMES = (
    "mfa_activate_totp",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "account_logout",
)

clock: Callable[[], float] = time.time


def idle_timeout_minutes(user: User) -> int:
    """Minutes without activity after which the user's session ends."""
    org = user.organization
    return org.idle_timeout_minutes if org is not None else DEFAULT_IDLE_TIMEOUT_MINUTES


def second_factor_required(user: User) -> bool:
    """Whether the user's organization requires a second factor for the user's role."""
    org = user.organization
    return org is not None and org.requires_second_factor(user.role)


def has_second_factor(user: User) -> bool:
    """Whether the user has set up an authenticator app (or a security key)."""
    found: bool = Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists()
    return found


def session_proved_second_factor(request: HttpRequest, user: User) -> bool:
    """Whether this session checked a code of the user's second factor (at sign-in or since)."""
    if request.session.get(SECOND_FACTOR_KEY) == user.pk:
        return True
    records = get_authentication_records(request, user)
    return any(record.get("method") == "mfa" for record in records)


class SessionSecurityMiddleware:
    """End idle sessions; hold staff who owe their organization a second factor at its setup."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._setup_paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(settings.STATIC_URL or "/static/"):
            return self.get_response(request)
        if request.path.startswith(API_PREFIX) and "authorization" in request.headers:
            # A program's bearer token stands alone: the browser session plays no part.
            request.user = AnonymousUser()
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            return self.get_response(request)
        expired = self._idle_timeout(request, user)
        if expired is not None:
            return expired
        if not second_factor_required(user):
            return self.get_response(request)
        has_factor = has_second_factor(user)
        if has_factor and session_proved_second_factor(request, user):
            return self.get_response(request)
        if request.path in self.setup_paths():
            response = self.get_response(request)
            if not has_factor and request.method == "POST" and has_second_factor(user):
                # The activation form checked a code from the new authenticator just now.
                request.session[SECOND_FACTOR_KEY] = user.pk
            return response
        return self._second_factor_owed(request, has_factor=has_factor)

    def setup_paths(self) -> frozenset[str]:
        if self._setup_paths is None:
            self._setup_paths = frozenset(reverse(name) for name in SETUP_URL_NAMES)
        return self._setup_paths

    def _idle_timeout(self, request: HttpRequest, user: User) -> HttpResponse | None:
        """Sign out a session idle for longer than the organization allows; else note activity."""
        now = clock()
        minutes = idle_timeout_minutes(user)
        seen = request.session.get(LAST_SEEN_KEY)
        if isinstance(seen, int | float):
            # The stamp may lag the last request by up to STAMP_EVERY_SECONDS: never sign
            # anyone out before the full timeout has passed.
            if now - seen > minutes * 60 + STAMP_EVERY_SECONDS:
                logout(request)
                return _signed_out(request, minutes)
            if now - seen < STAMP_EVERY_SECONDS:
                return None
        request.session[LAST_SEEN_KEY] = int(now)
        return None

    def _second_factor_owed(self, request: HttpRequest, *, has_factor: bool) -> HttpResponse:
        if has_factor:
            detail = "Confirm a code from your authenticator app to continue."
            target = reverse("mfa_reauthenticate")
        else:
            detail = (
                "Your clinic requires a second factor for your role: "
                "set up an authenticator app to continue."
            )
            target = reverse("mfa_activate_totp")
        if request.path.startswith(API_PREFIX):
            error = DomainError(
                detail=f"{detail} Sign in to the web app to do that.",
                status=403,
                code="second_factor_required",
                title="Second factor required",
            )
            return problem_response(error)
        if has_factor:
            back = _return_path(request)
            if back:
                target = f"{target}?{urlencode({'next': back})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target)
        if "text/html" in request.headers.get("accept", ""):
            # Pages only: a browser's icon or script fetch would repeat the notice.
            messages.info(request, detail)
        return HttpResponseRedirect(target)


def _return_path(request: HttpRequest) -> str | None:
    """Where to come back to after signing in or confirming a code."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        return str(htmx.current_url_abs_path or "") or None
    return request.get_full_path() if request.method == "GET" else None


def _signed_out(request: HttpRequest, minutes: int) -> HttpResponse:
    """The answer to a request that arrived after its session ended for lack of activity."""
    notice = f"You were signed out after {minutes} minutes without activity."
    if request.path.startswith(API_PREFIX):
        error = DomainError(
            detail=f"{notice} Sign in again.",
            status=401,
            code="session_expired",
            title="Signed out",
        )
        return problem_response(error)
    messages.info(request, notice)
    target = reverse("account_login")
    back = _return_path(request)
    if back:
        target = f"{target}?{urlencode({'next': back})}"
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(target)
    return HttpResponseRedirect(target)
