"""Broker credentials at rest: Fernet tokens under ``settings.CREDENTIALS_KEYS`` (MultiFernet: the first
key encrypts, every key decrypts, so keys rotate without downtime). Secrets are never logged."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECRET_FIELDS = ("secret", "secret_key", "password", "passphrase", "ca_password")


class CredentialsError(Exception):
    """Stored credentials cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = [k for k in settings.CREDENTIALS_KEYS if k]
    if not keys:
        raise ImproperlyConfigured("CREDENTIALS_KEYS is empty: set at least one Fernet key")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured("CREDENTIALS_KEYS holds an invalid Fernet key") from error


def encrypt_credentials(credentials: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsError("stored broker credentials cannot be decrypted with the configured keys") from None


def rotate_token(token: str) -> str:
    """Re-encrypt under the current (first) key."""
    return _fernet().rotate(token.encode()).decode() if token else token


def last4(credentials: dict[str, str]) -> str:
    """Last 4 characters of the API key (public identifier), shown so users can tell keys apart."""
    key = credentials.get("api_key") or credentials.get("key") or ""
    return key[-4:] if len(key) >= 8 else ""


class redacted(dict):
    """A dict that never prints its secret values (safe in logs and tracebacks)."""

    def __repr__(self) -> str:
        return repr({k: ("***" if k in SECRET_FIELDS or "secret" in k else v) for k, v in self.items()})

    __str__ = __repr__
