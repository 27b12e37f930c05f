"""The home dashboard's pipeline pictures as image/svg+xml (pipeline.charts), for the card's <img>.
Figures are of the runs the user may see (Run's rule, through pipeline.charts)."""

from django.http import HttpResponse
from django.utils.csp import CSP
from django.views import View
from django.views.decorators.csp import csp_override

from accounts.mixins import RestrictedViewMixin

from .. import charts
from ..models import Run

# The chart opened on its own: its inline style, nothing else (it has no script to allow).
CHART_POLICY = {"default-src": [CSP.NONE], "style-src": [CSP.UNSAFE_INLINE], "frame-ancestors": [CSP.NONE]}


class DashboardChartView(RestrictedViewMixin, View):
    queryset = Run.objects.all()
    draw = None  # a pipeline.charts function: figures -> SVG bytes

    def get(self, request):
        response = HttpResponse(self.draw(charts.chart_figures(request.user)), content_type="image/svg+xml")
        response["Cache-Control"] = "private, no-cache"
        return csp_override(CHART_POLICY)(lambda request: response)(request)


class RunsPerDayChartView(DashboardChartView):
    draw = staticmethod(charts.runs_per_day_svg)


class RenderSpeedChartView(DashboardChartView):
    draw = staticmethod(charts.render_speed_svg)
