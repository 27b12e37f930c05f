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


class DecryptedText(str):
    """A secret as read from the database: the plaintext, carrying the ciphertext it was stored
    as, so that saving it again or exporting it writes that same ciphertext."""

    ciphertext: str

    def __new__(cls, plaintext: str, ciphertext: str):
        text = super().__new__(cls, plaintext)
        text.ciphertext = ciphertext
        return text

    def __reduce__(self):  # pickles (the cache) as what it is, ciphertext included
        return DecryptedText, (str(self), self.ciphertext)


class Ciphertext(str):
    """A value that is already this site's ciphertext (from an export being loaded): saved as is."""

    @classmethod
    def verified(cls, token: str) -> "Ciphertext":
        """The token, checked to decrypt with this site's key (ValueError says the key differs)."""
        decrypt(token)
        return cls(token)


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give plaintext, the database holds ciphertext.

    Serializers (dumpdata, `manage.py backup export`, the test runner's serialized rollback)
    write the ciphertext (`value_to_string`), never the clear text; `lofisite.serialization`
    loads it back as `Ciphertext`, stored unchanged.
    """

    def from_db_value(self, value, expression, connection):
        return DecryptedText(decrypt(value), value) if value else value

    def get_prep_value(self, value):
        if isinstance(value, Ciphertext):
            return str(value)
        if isinstance(value, DecryptedText):
            return value.ciphertext
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        if not value:
            return value
        return self.get_prep_value(value)
