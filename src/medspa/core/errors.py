"""Domain errors, mapped in one place to problem+json (API) and field messages (UI)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


@dataclass
class DomainError(Exception):
    """A refusal that tells the caller what was wrong; nothing was changed."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 422
    code: str = "invalid"
    title: str = "The request cannot be processed"

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    @classmethod
    def on(cls, field_name: str, reason: str, **kwargs: object) -> DomainError:
        """An error about one field."""
        return cls(detail=reason, errors=[FieldError(field_name, reason)], **kwargs)  # type: ignore[arg-type]


class Invalid(DomainError):
    """Input that can never succeed as given (422)."""


class NotFound(DomainError):
    """Unknown, or another organization's, record (404: never reveal that it exists)."""

    def __init__(self, detail: str = "Not found.", errors: list[FieldError] | None = None) -> None:
        super().__init__(
            detail=detail, errors=errors or [], status=404, code="not_found", title="Not found"
        )


class Conflict(DomainError):
    """The request collides with the current state (409): retrying later may succeed."""

    def __init__(
        self, detail: str, errors: list[FieldError] | None = None, code: str = "conflict"
    ) -> None:
        super().__init__(
            detail=detail, errors=errors or [], status=409, code=code, title="Conflict"
        )


class SlotTaken(Conflict):
    """Another booking holds a resource the appointment needs at that time."""

    def __init__(
        self, detail: str = "That time was just taken.", field_name: str = "start"
    ) -> None:
        super().__init__(detail, [FieldError(field_name, detail)], code="slot_taken")


class Forbidden(DomainError):
    """The caller's role does not allow this (403)."""

    def __init__(self, detail: str = "Your role does not allow this.") -> None:
        super().__init__(detail=detail, status=403, code="forbidden", title="Forbidden")
