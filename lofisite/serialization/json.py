"""The "json" serialization format (see lofisite.serialization)."""

from django.core.serializers import json as django_json

from . import CiphertextDeserializerMixin

Serializer = django_json.Serializer


class Deserializer(CiphertextDeserializerMixin, django_json.Deserializer):
    pass
