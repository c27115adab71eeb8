"""Encryption at rest for node secrets and terminal credentials (Fernet, keyed from settings)."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _derived_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"4pass-bridges", info=b"bridge-secrets-v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@cache
def _fernet() -> MultiFernet:
    """CREDENTIALS_KEYS (Fernet keys; the first encrypts, all decrypt), else a key derived from SECRET_KEY."""
    configured = getattr(settings, "CREDENTIALS_KEYS", None)
    keys = [key for key in (configured or []) if key] or [_derived_key(settings.SECRET_KEY)]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(f"CREDENTIALS_KEYS holds an invalid Fernet key: {error}") from error


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured("bridge secret cannot be decrypted with the configured keys") from error


def encrypt_json(value: dict[str, Any]) -> str:
    return encrypt_text(json.dumps(value, separators=(",", ":")))


def decrypt_json(token: str) -> dict[str, Any]:
    return json.loads(decrypt_text(token))
