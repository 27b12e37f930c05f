"""Encryption of secrets at rest (OAuth refresh tokens, session cookies).

Fernet (AES-128-CBC + HMAC) with a key from FIELD_ENCRYPTION_KEY, or derived
from SECRET_KEY when that is unset (then rotating SECRET_KEY makes stored
secrets unreadable: set FIELD_ENCRYPTION_KEY in production).
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


def _fernet() -> Fernet:
    key = getattr(settings, "FIELD_ENCRYPTION_KEY", "")
    if not key:
        key = base64.urlsafe_b64encode(hashlib.sha256(b"lofisite.crypto:" + settings.SECRET_KEY.encode()).digest())
    return Fernet(key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Stored secret cannot be decrypted (was the encryption key changed?)") from exc


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give plaintext, the database holds ciphertext."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
