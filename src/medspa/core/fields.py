"""Model fields whose values are stored as Fernet tokens: clinical text and JSON at rest."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import lookups
from django.db.models.expressions import Expression

from medspa.core.crypto import decrypt_bytes, decrypt_text, encrypt_bytes, encrypt_text

# Every save encrypts afresh: Fernet tokens carry a random IV, so the same value never makes
# the same token twice. Saving an unchanged row therefore rewrites its tokens; use
# `save(update_fields=[...])` to leave clinical columns alone when they did not change.


class _EmptyOnlyExact(lookups.Exact[Any]):
    """`field=""` (blank text is stored as it is) or `field=None`; nothing else matches a token."""

    def get_prep_lookup(self) -> Any:
        field = self.lhs.output_field
        if not (self.rhs is None or (self.rhs == "" and field.empty_strings_allowed)):
            raise FieldError(_refusal(field, "exact"))
        return super().get_prep_lookup()


def _refusal(field: models.Field[Any, Any], lookup_name: str) -> str:
    owner = f"{field.model.__name__}.{field.name}" if hasattr(field, "model") else field.name
    return (
        f"{owner} is encrypted at rest and cannot be searched or compared "
        f"(lookup '{lookup_name}'); only `isnull` and `=\"\"` (blank text) work. Filter on another "
        "field and compare the decrypted values in Python."
    )


class _EncryptedMixin:
    """What both fields share: refused lookups and refused indexes."""

    def get_lookup(self, lookup_name: str) -> type[lookups.Lookup[Any]] | None:
        if lookup_name == "isnull":
            return lookups.IsNull
        if lookup_name == "exact":
            return _EmptyOnlyExact
        raise FieldError(_refusal(self, lookup_name))  # type: ignore[arg-type]

    def get_transform(self, lookup_name: str) -> None:
        return None  # no transforms apply to ciphertext

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors: list[checks.CheckMessage] = super().check(**kwargs)  # type: ignore[misc]
        field: Any = self
        if field.unique or field.db_index or field.primary_key:
            errors.append(
                checks.Error(
                    "Encrypted fields cannot be unique, indexed or a primary key: each save "
                    "makes a different token.",
                    obj=self,
                    id="medspa.E001",
                )
            )
        return errors


class EncryptedTextField(_EncryptedMixin, models.TextField[str, str]):
    """Text stored as a Fernet token; "" is stored as "" so blank fields cost nothing."""

    description = "Text encrypted at rest"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if not value:
            return value
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)


class EncryptedJSONField(_EncryptedMixin, models.Field[Any, Any]):
    """A JSON value (a list of allergies, intake answers) encrypted as a whole; None is NULL."""

    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    description = "A JSON value encrypted at rest"
    empty_strings_allowed = False

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None:
            return None
        return json.loads(decrypt_text(value))

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def to_python(self, value: Any) -> Any:
        return value  # already the Python value; forms parse JSON text themselves

    def value_to_string(self, obj: models.Model) -> Any:
        return self.value_from_object(obj)  # serializers write the plain value, like JSONField

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or forms.JSONField,
            choices_form_class=choices_form_class,
            **kwargs,
        )


class EncryptedBinaryField(_EncryptedMixin, models.Field[Any, Any]):
    """Bytes (a photo) stored as an ASCII Fernet token in a text column; None is NULL.

    Text rather than a binary column so `rotate_keys` treats it like every other token.
    Load it only when the bytes are needed: `.defer()` it in lists.
    """

    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    description = "Bytes encrypted at rest"
    empty_strings_allowed = False

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> bytes | None:
        if value is None:
            return None
        return decrypt_bytes(value.encode("ascii"))

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt_bytes(bytes(value)).decode("ascii")

    def to_python(self, value: Any) -> Any:
        return value
