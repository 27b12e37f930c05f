"""The one filterset per object type, shared by the HTML pages and the API (NetBox style).

`RunFilterSet` filters runs by status, preset, who started them and a creation
date range. `created_after` / `created_before` take dates (inclusive, in the
site's time zone); `ordering` takes the public column names
(id, preset, duration, status, progress, created, started, finished; prefix
`-` for descending).
"""

import django_filters
from django import forms

from .choices import RunStatus
from .models import Run


class RunFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, label="Status", empty_label="Any status")
    preset = django_filters.CharFilter(label="Preset")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}))
    created_by = django_filters.CharFilter(field_name="created_by__username", label="Started by (username)")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("id", "id"),
            ("preset", "preset"),
            ("duration_s", "duration"),
            ("status", "status"),
            ("progress", "progress"),
            ("created_by__username", "started_by"),
            ("created_at", "created"),
            ("started_at", "started"),
            ("finished_at", "finished"),
        ),
        field_labels={"id": "Run number", "duration_s": "Duration", "created_by__username": "Started by",
                      "created_at": "Created", "started_at": "Started", "finished_at": "Finished"},
        label="Sort by",
        empty_label="Newest first",
    )

    class Meta:
        model = Run
        fields = ["status", "preset", "created_after", "created_before", "created_by"]
