"""Django's JSON serialization formats with this site's encrypted fields kept encrypted.

`SERIALIZATION_MODULES` puts these modules in place of Django's "json" and "jsonl", so
`dumpdata`, `loaddata`, `manage.py backup export` and the test runner all use them:

- writing: `lofisite.crypto.EncryptedTextField.value_to_string` gives the stored ciphertext,
  so no secret is ever written in clear text (this holds for every format);
- reading: the values of encrypted fields are ciphertext, checked to decrypt with this
  site's key (else a DeserializationError naming the object and the field: the export comes
  from a site with another FIELD_ENCRYPTION_KEY) and stored unchanged, not encrypted again.
"""

from django.core.serializers.base import DeserializationError

from lofisite.crypto import Ciphertext, EncryptedTextField


class CiphertextDeserializerMixin:
    """Marks each loaded encrypted value as this site's ciphertext (see the module docstring)."""

    def _handle_object(self, obj):
        for deserialized in super()._handle_object(obj):
            instance = deserialized.object
            for field in instance._meta.concrete_fields:
                value = getattr(instance, field.attname) if isinstance(field, EncryptedTextField) else None
                if value:
                    try:
                        setattr(instance, field.attname, Ciphertext.verified(value))
                    except ValueError as exc:
                        raise DeserializationError(
                            f"{instance._meta.label} pk={instance.pk} field {field.name}: {exc} The export "
                            "holds ciphertext: load it where FIELD_ENCRYPTION_KEY (or SECRET_KEY) is the "
                            "same as where it was made.") from exc
            yield deserialized
