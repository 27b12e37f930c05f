"""Serializer fields whose input types are what the OpenAPI schema says.

DRF's CharField (and RegexField, EmailField) turn a JSON number into a string
(`{"title": 0}` saves the title "0") although the schema declares `type: string`.
These refuse anything but a string with the field error "Not a valid string."
(multipart and form values are always strings, so they are unaffected).
`StringOnlyModelSerializer` maps model text fields to them.
"""

from django.db import models
from rest_framework import serializers


class StringOnly:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(StringOnly, serializers.CharField):
    pass


class StrictRegexField(StringOnly, serializers.RegexField):
    pass


class StrictEmailField(StringOnly, serializers.EmailField):
    pass


class StringOnlyModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean only: DRF's BooleanField also takes 0, 1 and "yes", which the schema's `boolean` does not."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
