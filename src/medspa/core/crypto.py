"""Encryption at rest: a Fernet key ring from settings, newest key first (ADR 0004)."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEYS_SETTING = "MEDSPA_ENCRYPTION_KEYS"


class EncryptionKeyMissing(Exception):
    """A stored value cannot be decrypted with any key in the ring; nothing is returned."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or (
                f"A stored value cannot be decrypted with any key in {KEYS_SETTING}: the key "
                f"that encrypted it is not in the ring (check the {KEYS_SETTING} environment "
                "variable; after a rotation keep the old keys until `medspa rotate_keys` has "
                "run), or the stored value is not a token of ours."
            )
        )


@dataclass(frozen=True)
class KeyRing:
    """The ring built from one configuration: `newest` encrypts, `ring` decrypts with any key."""

    source: tuple[str, ...]
    newest: Fernet
    ring: MultiFernet
    size: int


_lock = threading.Lock()
_current: KeyRing | None = None


def development_key(secret_key: str) -> str:
    """The one key the demo and tests use when no keys are configured, derived from SECRET_KEY."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"medspa encryption at rest"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived).decode()


def _build(source: tuple[str, ...]) -> KeyRing:
    # Without keys (development, demo, tests) a key derived from SECRET_KEY stands in;
    # settings refuse to start without keys when MEDSPA_SECRET_KEY is set (production).
    keys = source if source[0] else (development_key(source[1]),)
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Never echo the key itself.
            raise ImproperlyConfigured(
                f"{KEYS_SETTING}: key #{position} is not a Fernet key "
                "(32 bytes, url-safe base64; make one with `Fernet.generate_key()`)."
            ) from None
    return KeyRing(source=source, newest=fernets[0], ring=MultiFernet(fernets), size=len(fernets))


def key_ring() -> KeyRing:
    """The process's key ring, built once and again only when the settings change."""
    global _current
    # A tuple compare on every call, so that override_settings in tests just works.
    keys = tuple(getattr(settings, KEYS_SETTING, None) or ())
    source = keys or ("", settings.SECRET_KEY)  # "" is never a key: no collision
    current = _current
    if current is not None and current.source == source:
        return current
    with _lock:
        _current = _build(source)
        return _current


def reset_key_ring() -> None:
    """Forget the built ring (tests, or after changing keys in a running process)."""
    global _current
    with _lock:
        _current = None


def encrypt_bytes(data: bytes) -> bytes:
    """A Fernet token of the data under the newest key."""
    return key_ring().newest.encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    """The data inside a token made with any key in the ring; EncryptionKeyMissing otherwise."""
    try:
        return key_ring().ring.decrypt(token)
    except InvalidToken:
        raise EncryptionKeyMissing() from None


def encrypt_text(text: str) -> str:
    """A Fernet token (ASCII text) of the text under the newest key."""
    return encrypt_bytes(text.encode()).decode("ascii")


def decrypt_text(token: str) -> str:
    """The text inside a token made with any key in the ring; EncryptionKeyMissing otherwise."""
    return decrypt_bytes(token.encode("ascii", errors="replace")).decode()


def is_current(token: str) -> bool:
    """Whether the token was made with the newest key (rotation can skip it)."""
    try:
        key_ring().newest.decrypt(token.encode("ascii", errors="replace"))
    except InvalidToken:
        return False
    return True


def rotate_token(token: str) -> str:
    """The same plaintext under the newest key, keeping the token's timestamp."""
    try:
        return key_ring().ring.rotate(token.encode("ascii", errors="replace")).decode("ascii")
    except InvalidToken:
        raise EncryptionKeyMissing() from None
