"""The HTTP API at /api/v1/: one NinjaAPI, its authentication and its error mapping."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from medspa.billing.api import router as billing_router
from medspa.billing.api_cards import router as cards_router
from medspa.billing.api_deposits import router as deposits_router
from medspa.billing.api_plans import router as plans_router
from medspa.billing.api_promotions import router as promotions_router
from medspa.billing.api_receipts import router as receipts_router
from medspa.billing.api_refunds import router as refunds_router
from medspa.catalog.api import router as catalog_router
from medspa.clients.api import router as clients_router
from medspa.clinical.api import router as clinical_router
from medspa.clinical.api_charting import router as charting_router
from medspa.clinical.api_consent import router as consent_router
from medspa.clinical.api_intake_requests import router as intake_requests_router
from medspa.core.api import router as core_router
from medspa.core.errors import DomainError, FieldError, Forbidden, NotFound
from medspa.core.models import User
from medspa.core.tokens import user_for_token
from medspa.core.web import problem_response
from medspa.ledger.api import router as ledger_router
from medspa.scheduling.api import router as scheduling_router


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` for programs."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="medspa API",
    version="1",
    description="Scheduling, clients and appointments for medical spas. Errors are "
    "application/problem+json with the field and the reason.",
    urls_namespace="api",
    auth=[BearerToken(), SessionAuth()],
)


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    # Ninja names the whole body "payload"/"data"; keep the field path below it.
    while parts and parts[0] in ("data",):
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        FieldError(
            _field_of(e.get("loc", ())), str(e.get("msg", "invalid")).removeprefix("Value error, ")
        )
        for e in exc.errors
    ]
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors) or "Invalid input."
    return problem_response(DomainError(detail=detail, errors=errors))


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_response(exc)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    error = DomainError(
        detail="Sign in, or send a valid token as 'Authorization: Bearer <token>'.",
        status=401,
        code="unauthenticated",
        title="Unauthenticated",
    )
    response = problem_response(error)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 404:
        return problem_response(NotFound())
    if exc.status_code == 403:
        return problem_response(Forbidden(str(exc)))
    return problem_response(
        DomainError(detail=str(exc), status=exc.status_code, code="error", title="Error")
    )


api.add_router("/", core_router)
api.add_router("/", catalog_router)
api.add_router("/", clients_router)
api.add_router("/", scheduling_router)
api.add_router("/", clinical_router)
api.add_router("/", intake_requests_router)
api.add_router("/", charting_router)
api.add_router("/", consent_router)
api.add_router("/", billing_router)
api.add_router("/", refunds_router)
api.add_router("/", promotions_router)
api.add_router("/", cards_router)
api.add_router("/", plans_router)
api.add_router("/", receipts_router)
api.add_router("/", deposits_router)
api.add_router("/", ledger_router)
