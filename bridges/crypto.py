"""Encryption at rest for node secrets and terminal credentials.

Same keys and scheme as broker credentials (`brokers.credentials`: Fernet under settings.CREDENTIALS_KEYS,
the first key encrypts, all decrypt), so one key rotation covers both (see services.rotate_encryption).
"""

from __future__ import annotations

from typing import Any

from brokers.credentials import decrypt_credentials, encrypt_credentials, rotate_token


def encrypt_text(plain: str) -> str:
    return encrypt_credentials({"value": plain})


def decrypt_text(token: str) -> str:
    return decrypt_credentials(token)["value"]


def encrypt_json(value: dict[str, Any]) -> str:
    return encrypt_credentials(value)


def decrypt_json(token: str) -> dict[str, Any]:
    return decrypt_credentials(token)


def reencrypt(token: str) -> str:
    return rotate_token(token)
