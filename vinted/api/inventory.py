"""`GET /api/v1/vinted/inventory/`: the inventory summary (vinted.inventory), the same figures as the
page, of the listings the caller may see (operators: their own; viewers and admins: everyone's)."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet

from .. import inventory
from ..choices import Currency
from ..models import Listing


def Money(**options):
    return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, **options)


class InventoryMonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month (TIME_ZONE).")
    sold = serializers.IntegerField(help_text="Sales with a sale price in this month.")
    revenue = Money()
    fees = Money()
    cost = Money(help_text="Purchase cost of the items sold this month.")
    profit = Money()


class InventoryCurrencySerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=Currency.choices)
    stock_value = Money(help_text="Purchase cost of the items in stock.")
    revenue = Money(help_text="Sale prices of the sold items.")
    fees = Money(help_text="Vinted fees and shipping paid by the seller on those sales.")
    cost_of_sold = Money(help_text="Purchase cost of the sold items.")
    profit = Money(help_text="revenue − fees − cost_of_sold.")
    written_off = Money(help_text="Purchase cost of archived items (never sold); not in the profit.")
    months = InventoryMonthSerializer(many=True, help_text="Oldest first; the current month last.")


@extend_schema_serializer(many=False)  # the answer of the `list` route is one summary, not a list
class InventorySummarySerializer(serializers.Serializer):
    months = serializers.IntegerField(help_text="How many calendar months `currencies[].months` covers.")
    items_in_stock = serializers.IntegerField()
    items_listed = serializers.IntegerField(help_text="Published on Vinted now.")
    items_sold = serializers.IntegerField()
    sold_this_month = serializers.IntegerField()
    average_days_to_sell = serializers.DecimalField(
        max_digits=8, decimal_places=1, coerce_to_string=True, allow_null=True,
        help_text="From listed (else created) to sold; null when nothing is sold with a date.")
    stock_without_cost = serializers.IntegerField()
    sold_without_cost = serializers.IntegerField()
    sold_without_price = serializers.IntegerField()
    sold_without_date = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField(), help_text="What makes a figure uncertain.")
    currencies = InventoryCurrencySerializer(many=True, help_text="Money per currency, most listings first.")


class InventoryQuerySerializer(serializers.Serializer):
    """The query's documentation; vinted.inventory.parse_months checks it (the page's and command's rule)."""

    months = serializers.IntegerField(
        required=False, min_value=1, max_value=inventory.MONTHS_MAX,
        help_text=f"Calendar months of figures per month (default {inventory.MONTHS_DEFAULT}).")


class InventoryViewSet(BaseViewSet):
    """The inventory summary; the rule is the listings' view rule."""

    queryset = Listing.objects.all()
    serializer_class = InventorySummarySerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Inventory and profit summary",
        parameters=[InventoryQuerySerializer],
        responses={200: InventorySummarySerializer},
    )
    def list(self, request):
        months = inventory.parse_months(request.query_params.get("months"))
        summary = inventory.summary(request.user, months=months)
        return Response(self.get_serializer(inventory.as_data(summary, months)).data)
