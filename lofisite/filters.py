"""Filter building blocks shared by the apps' filtersets (HTML pages and API)."""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


class StrictNullBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); empty means "no filter"; anything else is a field error, not ignored."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, "") or isinstance(value, bool):
            return None if value == "" else value
        lowered = str(value).strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter reads `?success=maybe` as "no filter"; this one answers 400."""

    field_class = StrictNullBooleanField


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorting by a column with ties (a status, a brand, a location) still pages in one fixed order:
    `tie_breaker` (a column, "-id" for newest first) is added after the chosen ordering."""

    def __init__(self, *args, tie_breaker="pk", **kwargs):
        self.tie_breaker = tie_breaker
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, self.tie_breaker) if value else qs
