"""The one filterset of listings, shared by the board (HTML) and the API (NetBox style).

`status`, `category` (its sub-categories included), `brand`, `created_after` / `created_before`
(dates, inclusive), `price_min` / `price_max`, `q` (words in the title, description or SKU) and
`ordering` by the public column names (created, updated, title, price, status, category, brand;
prefix `-` for descending).
"""

import django_filters
from django import forms
from django.db.models import Q

from lofisite.filters import StableOrderingFilter

from .choices import ListingStatus
from .models import Brand, Category, Listing


class ListingFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search",
                                  help_text="Words in the title, description or SKU.")
    status = django_filters.ChoiceFilter(choices=ListingStatus.choices, label="Status", empty_label="Any status")
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.select_related("parent", "parent__parent"),
                                                method="in_category",
                                                label="Category", empty_label="Any category")
    brand = django_filters.ModelChoiceFilter(queryset=Brand.objects.all(), label="Brand", empty_label="Any brand")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}))
    price_min = django_filters.NumberFilter(field_name="price", lookup_expr="gte", label="Price from",
                                            min_value=0, max_digits=10, decimal_places=2)
    price_max = django_filters.NumberFilter(field_name="price", lookup_expr="lte", label="Price up to",
                                            min_value=0, max_digits=10, decimal_places=2)
    ordering = StableOrderingFilter(
        tie_breaker="-id",
        fields=(
            ("created_at", "created"),
            ("updated_at", "updated"),
            ("title", "title"),
            ("price", "price"),
            ("status", "status"),
            ("category__name", "category"),
            ("brand__name", "brand"),
        ),
        field_labels={"created_at": "Created", "updated_at": "Updated", "category__name": "Category",
                      "brand__name": "Brand"},
        label="Sort by",
        empty_label="Newest first",
    )

    class Meta:
        model = Listing
        fields = ["q", "status", "category", "brand", "created_after", "created_before", "price_min", "price_max"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("price_min", "price_max"):
            self.filters[name].field.widget.attrs.update(step="0.01", inputmode="decimal")

    def search(self, queryset, name, value):
        for word in value.split()[:10]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word)
                                       | Q(sku__icontains=word))
        return queryset

    def in_category(self, queryset, name, value):
        # The catalogue is two or three levels deep: the category, its children and grandchildren.
        return queryset.filter(Q(category=value) | Q(category__parent=value) | Q(category__parent__parent=value))
