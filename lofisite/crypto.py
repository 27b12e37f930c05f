"""Encryption of secrets at rest (OAuth refresh tokens, session cookies).

Fernet (AES-128-CBC + HMAC). New secrets are encrypted with FIELD_ENCRYPTION_KEY, or with a key
derived from SECRET_KEY when that is unset (then SECRET_KEY_FALLBACKS' derived keys are read too).
Reading also accepts every key in FIELD_ENCRYPTION_OLD_KEYS ("SECRET_KEY" there stands for the key
derived from it), so keys can be rotated without losing what is stored (MultiFernet):

1. put the new key first (FIELD_ENCRYPTION_KEY) and the old one in FIELD_ENCRYPTION_OLD_KEYS; restart;
2. `manage.py rotate_encryption_key` re-encrypts every stored secret with the new key;
3. drop the old key from FIELD_ENCRYPTION_OLD_KEYS.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models


def _derived(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(b"lofisite.crypto:" + secret.encode()).digest())


def _keys() -> list:
    explicit = getattr(settings, "FIELD_ENCRYPTION_KEY", "")
    accepted = [explicit] if explicit else [_derived(secret) for secret in
                                            [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]]
    for old in getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", []):
        # "SECRET_KEY" stands for the key derived from it: moving from no FIELD_ENCRYPTION_KEY to one.
        accepted.append(_derived(settings.SECRET_KEY) if old == "SECRET_KEY" else old)
    unique = []
    for key in accepted:
        key = key.encode() if isinstance(key, str) else key
        if key and key not in unique:
            unique.append(key)
    return unique


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Stored secret cannot be decrypted (was the encryption key changed? "
                         "Keep the old key in FIELD_ENCRYPTION_OLD_KEYS until `manage.py rotate_encryption_key` "
                         "has run)") from exc


def rotate(token: str) -> str:
    """The same secret encrypted with the current key (ValueError if no accepted key opens it)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Stored secret cannot be decrypted with any accepted key") from exc


def encrypted_fields():
    """(model, field name) of every EncryptedTextField of every installed app."""
    return [(model, field.name) for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)]


def rotate_all() -> dict[str, int]:
    """Re-encrypt every stored secret with the current key; per "app.Model.field", the rows rewritten.
    Reads the stored ciphertext as it is (raw SQL): nothing is decrypted on the way but by rotate()."""
    from django.db import connection

    quote = connection.ops.quote_name
    rewritten = {}
    for model, name in encrypted_fields():
        field, pk = model._meta.get_field(name), model._meta.pk
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {quote(pk.column)}, {quote(field.column)} FROM {quote(model._meta.db_table)} "
                           f"WHERE {quote(field.column)} <> %s", [""])
            rows = cursor.fetchall()
        count = 0
        for key, stored in rows:
            fresh = rotate(stored)
            if fresh != stored:
                model._base_manager.filter(pk=key).update(**{name: Ciphertext(fresh)})
                count += 1
        rewritten[f"{model._meta.label}.{name}"] = count
    return rewritten


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
