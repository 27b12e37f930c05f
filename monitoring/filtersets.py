"""Filters shared by the monitoring page and the API (one definition for both)."""

import django_filters

from lofisite.filters import IntegerFilter, StrictBooleanFilter

from .choices import EventStatus
from .models import AIUsage, Event


class EventFilterSet(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source", lookup_expr="exact")
    kind = django_filters.CharFilter(field_name="kind", lookup_expr="exact")
    status = django_filters.ChoiceFilter(field_name="status", choices=EventStatus.choices, empty_label="Any status")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte",
                                             help_text="ISO 8601, e.g. 2026-11-01T00:00:00Z")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt",
                                             help_text="ISO 8601; events before this moment")

    class Meta:
        model = Event
        fields = ["source", "kind", "status", "since", "until"]


class AIUsageFilterSet(django_filters.FilterSet):
    request_type = django_filters.CharFilter(field_name="request_type")
    model = django_filters.CharFilter(field_name="model")
    success = StrictBooleanFilter(field_name="success", help_text="true or false.")
    # By id, not a choice of existing users: an id nobody has is an empty list, not a 400.
    user = IntegerFilter(field_name="user_id", help_text="User id (admins).")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AIUsage
        fields = ["request_type", "model", "success", "user", "since", "until"]
