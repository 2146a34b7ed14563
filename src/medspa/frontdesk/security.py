"""Staff web app: owners and managers set sign-in security for their clinic.

Which roles must sign in with a second factor, and after how many idle minutes a session
ends (both enforced by core.security.SessionSecurityMiddleware). Bad input is explained
next to its field and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from medspa.core.errors import DomainError
from medspa.core.models import (
    CLINICAL_ROLES,
    IDLE_TIMEOUT_MAX_MINUTES,
    IDLE_TIMEOUT_MIN_MINUTES,
    Organization,
    Role,
)
from medspa.core.services import update_security_settings
from medspa.frontdesk.views import page_staff

ACTION = "security.manage"
TIMEOUT_RANGE = f"Choose between {IDLE_TIMEOUT_MIN_MINUTES} and {IDLE_TIMEOUT_MAX_MINUTES} minutes."


def _role_choices() -> list[tuple[str, str]]:
    """Every role, with the ones that read clinical data said so."""
    return [
        (str(value), f"{label} (reads clinical data)" if value in CLINICAL_ROLES else str(label))
        for value, label in Role.choices
    ]


class SecurityForm(forms.Form):
    mfa_required_roles = forms.MultipleChoiceField(
        label="Roles that must sign in with a second factor",
        choices=_role_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="An authenticator app code after the password. Staff of these roles set "
        "one up the next time they open a page.",
        error_messages={"invalid_choice": "%(value)s is not a role of this clinic."},
    )
    idle_timeout_minutes = forms.IntegerField(
        label="Sign out after this many minutes without activity",
        min_value=IDLE_TIMEOUT_MIN_MINUTES,
        max_value=IDLE_TIMEOUT_MAX_MINUTES,
        help_text=f"Between {IDLE_TIMEOUT_MIN_MINUTES} minutes and 12 hours.",
        error_messages={
            "required": TIMEOUT_RANGE,
            "invalid": "Give a whole number of minutes.",
            "min_value": TIMEOUT_RANGE,
            "max_value": TIMEOUT_RANGE,
        },
    )


def _initial(org: Organization) -> dict[str, Any]:
    return {
        "mfa_required_roles": list(org.mfa_required_roles),
        "idle_timeout_minutes": org.idle_timeout_minutes,
    }


@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """The clinic's sign-in security settings, and a way to one's own two-factor page."""
    who = page_staff(request, ACTION)
    status = 200
    if request.method == "POST":
        form = SecurityForm(request.POST)
        if form.is_valid():
            try:
                update_security_settings(
                    organization=who.organization,
                    actor=who.user,
                    mfa_required_roles=form.cleaned_data["mfa_required_roles"],
                    idle_timeout_minutes=form.cleaned_data["idle_timeout_minutes"],
                )
            except DomainError as error:
                for problem in error.errors or []:
                    name = problem.field if problem.field in form.fields else None
                    form.add_error(name, problem.reason)
                if not error.errors:
                    form.add_error(None, error.detail)
            else:
                messages.success(request, "Security settings saved.")
                return redirect("frontdesk:security")
        status = 422
    else:
        form = SecurityForm(initial=_initial(who.organization))
    context = {
        "nav": "security",
        "form": form,
        "organization": who.organization,
    }
    return render(request, "frontdesk/security.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("settings/security/", security, name="security"),
]
