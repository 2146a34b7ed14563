"""The client reads a consent's exact text and signs it: typed name and a drawn signature.

The page carries the SHA-256 of the text it shows, so a consent updated while the page was
open is refused ("consent_outdated") instead of signing words the client never saw.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from medspa.clinical.consent import (
    ConsentNeed,
    consent_text_sha256,
    consents_for_appointment,
    sign_consent,
)
from medspa.clinical.links import LinkRefused
from medspa.clinical.models import ConsentTemplateVersion
from medspa.core.errors import DomainError
from medspa.portal.views import base_context, client_ip, refused, visit_for
from medspa.scheduling.models import Appointment


def _need(appointment: Appointment, version_id: int) -> tuple[ConsentNeed | None, bool]:
    """The visit's consent this version belongs to, and whether it is the current text.

    A version of another visit's consent is 404; an older version of this visit's consent
    shows the current one (the client can only sign what is in force).
    """
    needs = consents_for_appointment(appointment)
    for need in needs:
        if need.version.pk == version_id:
            return need, True
    template_id = (
        ConsentTemplateVersion.objects.filter(
            pk=version_id, organization_id=appointment.organization_id
        )
        .values_list("template_id", flat=True)
        .first()
    )
    for need in needs:
        if need.template.pk == template_id:
            return need, False
    return None, False


def _render(
    request: HttpRequest,
    appointment: Appointment,
    token: str,
    need: ConsentNeed,
    *,
    typed_name: str = "",
    errors: dict[str, str] | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    version = need.version
    context = {
        **base_context(appointment, token),
        "need": need,
        "version": version,
        "paragraphs": [p for p in version.body.replace("\r\n", "\n").split("\n\n") if p.strip()],
        "text_sha256": consent_text_sha256(version),
        "typed_name": typed_name,
        "errors": errors or {},
        "problem": problem,
        "action": reverse("portal:consent", args=[token, version.pk]),
        "head_title": version.title,
    }
    return render(request, "portal/consent.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def consent_form(request: HttpRequest, token: str, version_id: int) -> HttpResponse:
    try:
        appointment = visit_for(token)
    except LinkRefused as refusal:
        return refused(request, refusal)
    need, current = _need(appointment, version_id)
    if need is None:
        raise Http404("This consent is not part of this visit.")
    if request.method == "GET":
        if not current:
            return redirect("portal:consent", token, need.version.pk)
        return _render(request, appointment, token, need)
    typed_name = request.POST.get("typed_name", "")[:300]
    try:
        sign_consent(
            appointment=appointment,
            # The version the page showed: signing an outdated one is refused by the service.
            version=need.version if current else _shown_version(appointment, version_id),
            typed_name=typed_name,
            signature_image=request.POST.get("signature_image", ""),
            text_sha256=request.POST.get("text_sha256", ""),
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except DomainError as refusal:
        errors = {e.field: e.reason for e in refusal.errors}
        return _render(
            request,
            appointment,
            token,
            need,
            typed_name=typed_name,
            errors=errors,
            problem=refusal.detail,
            status=refusal.status,
        )
    return redirect(reverse("portal:visit", args=[token]) + "?done=consent")


def _shown_version(appointment: Appointment, version_id: int) -> ConsentTemplateVersion:
    version = ConsentTemplateVersion.objects.filter(
        pk=version_id, organization_id=appointment.organization_id
    ).first()
    if version is None:
        raise Http404("This consent is not part of this visit.")
    return version


urlpatterns: list[URLPattern] = [
    path("<str:token>/consent/<int:version_id>/", consent_form, name="consent"),
]
