"""The inventory page's inputs: the stock table's filters and sorting, and how many months the
figures cover (the one rule for that is vinted.inventory.parse_months)."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from lofisite.filters import StableOrderingFilter, StrictBooleanFilter

from . import inventory
from .choices import STOCK_STATUSES, ListingStatus
from .models import Listing

STOCK_CHOICES = [(value, label) for value, label in ListingStatus.choices if value in STOCK_STATUSES]


class StockFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search",
                                  help_text="Title, SKU, storage location or source.")
    status = django_filters.ChoiceFilter(choices=STOCK_CHOICES, label="Status", empty_label="Any status in stock")
    without_cost = StrictBooleanFilter(
        field_name="purchase_cost", lookup_expr="isnull", label="Purchase cost",
        widget=forms.Select(choices=[("", "With or without"), ("true", "Missing"), ("false", "Entered")]))
    ordering = StableOrderingFilter(
        fields=(
            ("title", "title"),
            ("sku", "sku"),
            ("storage_location", "location"),
            ("status", "status"),
            ("purchase_cost", "cost"),
            ("in_stock_since", "since"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Listing
        fields = ["q", "status", "without_cost"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(sku__icontains=value)
                               | Q(storage_location__icontains=value) | Q(source__icontains=value))


class MonthsForm(forms.Form):
    months = forms.CharField(label="Months shown", required=False,
                             widget=forms.NumberInput(attrs={"min": 1, "max": inventory.MONTHS_MAX}),
                             help_text=f"1 to {inventory.MONTHS_MAX}; {inventory.MONTHS_DEFAULT} unless set.")

    def clean_months(self):
        try:
            return inventory.parse_months(self.cleaned_data["months"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["months"]) from exc
