"""The "jsonl" serialization format (see lofisite.serialization)."""

from django.core.serializers import jsonl as django_jsonl

from . import CiphertextDeserializerMixin

Serializer = django_jsonl.Serializer


class Deserializer(CiphertextDeserializerMixin, django_jsonl.Deserializer):
    pass
