"""Inventory pages: the summary with its chart and the stock table, the chart itself (SVG), and
the CSV export. Every figure is of the listings the user may see (the listings' rule)."""

import csv

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.csp import CSP
from django.views import View
from django.views.decorators.csp import csp_override

from accounts.mixins import ObjectListView, RestrictedViewMixin

from .. import charts, inventory
from ..choices import STOCK_STATUSES
from ..inventory_filters import MonthsForm, StockFilterSet
from ..models import Listing

# The chart opened on its own: its inline style, nothing else (it has no script to allow).
CHART_POLICY = {"default-src": [CSP.NONE], "style-src": [CSP.UNSAFE_INLINE], "frame-ancestors": [CSP.NONE]}


class InventoryMixin:
    """The months the figures cover (`?months=`, validated), for the page and its chart."""

    tab = "inventory"

    def read_months(self):
        # Unset, the field shows the default rather than an empty box.
        self.months_form = MonthsForm({"months": self.request.GET.get("months") or str(inventory.MONTHS_DEFAULT)})
        if self.months_form.is_valid():
            return self.months_form.cleaned_data["months"]
        return inventory.MONTHS_DEFAULT


class InventoryView(InventoryMixin, ObjectListView):
    """The summary cards, profit per month (chart + table) and the stock table."""

    queryset = inventory.with_in_stock_since(Listing.objects.filter(status__in=STOCK_STATUSES)).order_by(
        "in_stock_since", "pk")
    filterset_class = StockFilterSet
    default_ordering = "since"
    template_name = "vinted/inventory.html"
    context_object_name = "stock"

    def get(self, request, *args, **kwargs):
        self.months = self.read_months()
        response = super().get(request, *args, **kwargs)
        if self.months_form.errors or self.filterset.errors:
            response.status_code = 400
        return response

    def paginate_queryset(self, queryset, page_size):
        paginator, page, rows, has_other = super().paginate_queryset(queryset, page_size)
        today = timezone.localdate()
        for listing in rows:
            listing.days_in_stock = inventory.days_since(listing.in_stock_since, today)
        return paginator, page, rows, has_other

    def get_context_data(self, **kwargs):
        summary = inventory.summary(self.request.user, months=self.months)
        # The months form keeps the stock table's filters and sorting (and the filter form the months).
        filter_params = [(name, value) for name in StockFilterSet.base_filters
                         for value in self.request.GET.getlist(name) if value]
        return super().get_context_data(
            summary=summary, months_form=self.months_form, chart_months=self.months, tab=self.tab,
            filter_params=filter_params, shows_everyone=Listing.objects.shows_everyone(self.request.user),
            **kwargs)


class InventoryChartView(InventoryMixin, RestrictedViewMixin, View):
    """Profit per month as image/svg+xml, for the page's <img>."""

    queryset = Listing.objects.all()

    def get(self, request):
        months = self.read_months()
        if self.months_form.errors:
            return HttpResponse(" ".join(self.months_form.errors["months"]), status=400,
                                content_type="text/plain; charset=utf-8")
        svg = charts.profit_per_month_svg(inventory.summary(request.user, months=months))
        response = HttpResponse(svg, content_type="image/svg+xml")
        response["Cache-Control"] = "private, no-cache"
        return csp_override(CHART_POLICY)(lambda request: response)(request)


class _Echo:
    def write(self, value):
        return value


class InventoryExportView(RestrictedViewMixin, View):
    """Every visible listing with its cost, sale and profit, as CSV for a spreadsheet."""

    queryset = Listing.objects.all()

    def get(self, request):
        writer = csv.writer(_Echo())
        rows = (writer.writerow(row) for row in inventory.export_rows(self.get_queryset()))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        filename = f"inventory-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response
