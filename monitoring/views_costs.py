"""The AI costs page: spend today / 7 / 30 days by person, model and request type, a daily chart,
budgets with their headroom (admins change them), and the CSV export.

Everything shown comes through AIUsage's rule (a person sees their own calls; admins everyone's) and
the users' rule (a person sees their own budget; only admins change one)."""

import csv

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.views import View
from django.views.decorators.csp import csp_override
from django.views.generic import TemplateView

from accounts.mixins import RestrictedViewMixin
from accounts.roles import Action

from . import ai, cost_charts, costs, dashboard
from .models import AIUsage

# The chart opened on its own: its inline style, nothing else (it has no script to allow).
CHART_POLICY = {"default-src": [CSP.NONE], "style-src": [CSP.UNSAFE_INLINE], "frame-ancestors": [CSP.NONE]}


class RangeForm(forms.Form):
    range = forms.ChoiceField(label="Period", choices=[(key, label) for key, (_, label) in costs.RANGES.items()])


class BudgetForm(forms.Form):
    budget_usd = forms.DecimalField(
        label="Monthly budget (USD)", required=False, min_value=0, max_digits=10, decimal_places=2,
        help_text="Leave empty for the default budget.")


def read_range(request) -> tuple[RangeForm, str]:
    """The validated range (the default when the form is invalid: the page shows the error instead)."""
    form = RangeForm({"range": request.GET.get("range") or costs.DEFAULT_RANGE})
    return form, form.cleaned_data["range"] if form.is_valid() else costs.DEFAULT_RANGE


class CostsMixin(RestrictedViewMixin):
    queryset = AIUsage.objects.all()


class CostsView(CostsMixin, TemplateView):
    """The page: a person's own spend, or everyone's for admins; a bad ?range= answers 400 at its field."""

    template_name = "monitoring/costs.html"

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if context["range_form"].errors else 200)

    def get_context_data(self, budget_forms=None, **kwargs):
        user = self.request.user
        range_form, range_name = read_range(self.request)
        data = costs.report(days=costs.range_days(range_name), viewer=user)
        rows = costs.budgets(user)
        can_change_budgets = get_user_model().objects.model_permits(user, Action.CHANGE)
        budget_forms = budget_forms or {}
        for row in rows:
            row["form"] = budget_forms.get(row["user"].pk) or BudgetForm(
                initial={"budget_usd": row["user"].ai_monthly_budget_usd}, prefix=f"user{row['user'].pk}")
        shows_everyone = AIUsage.objects.shows_everyone(user)
        parts = [("user", "Person", "by_user", "username")] if shows_everyone else []
        parts += [("model", "Model", "by_model", "model"), ("type", "Request type", "by_request_type", "request_type")]
        breakdowns = [{"key": key, "label": label, "rows": [{**row, "name": row[name]} for row in data[field]]}
                      for key, label, field, name in parts]
        return super().get_context_data(
            range_form=range_form, range_name=range_name, range_label=costs.RANGES[range_name][1],
            ranges=[(key, label) for key, (_, label) in costs.RANGES.items()],
            report=data, daily=costs.daily_spend(data), budgets=rows, can_change_budgets=can_change_budgets,
            breakdowns=breakdowns, shows_everyone=shows_everyone, ai_enabled=ai.ai_enabled(),
            month=f"{ai.month_start():%Y-%m}", **kwargs)


class CostsChartView(CostsMixin, View):
    """The spend per day of the range, as image/svg+xml for the page's <img>."""

    def get(self, request):
        range_form, range_name = read_range(request)
        if range_form.errors:
            return HttpResponse(" ".join(range_form.errors["range"]), status=400,
                                content_type="text/plain; charset=utf-8")
        data = costs.report(days=costs.range_days(range_name), viewer=request.user)
        response = HttpResponse(cost_charts.daily_spend_svg(costs.daily_spend(data)), content_type="image/svg+xml")
        response["Cache-Control"] = "private, no-cache"
        return csp_override(CHART_POLICY)(lambda request: response)(request)


class _Echo:
    def write(self, value):
        return value


class CostsExportView(CostsMixin, View):
    """The range's spend per day, person, model and request type, as CSV (what the page shows)."""

    def get(self, request):
        range_form, range_name = read_range(request)
        if range_form.errors:
            return HttpResponse(" ".join(range_form.errors["range"]), status=400,
                                content_type="text/plain; charset=utf-8")
        data = costs.report(days=costs.range_days(range_name), viewer=request.user)
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse((writer.writerow(row) for row in costs.export_rows(data)),
                                         content_type="text/csv; charset=utf-8")
        filename = f"ai-costs-{data['since']:%Y-%m-%d}-to-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


class BudgetUpdateView(RestrictedViewMixin, View):
    """An admin sets one person's monthly budget (users' rule: a change; others get 403)."""

    queryset = get_user_model().objects.all()
    http_method_names = ["post"]

    def post(self, request, pk):
        person = get_object_or_404(self.get_queryset(), pk=pk)
        form = BudgetForm(request.POST, prefix=f"user{person.pk}")
        if form.is_valid():
            try:
                ai.set_budget(person, form.cleaned_data["budget_usd"], by_user=request.user)
            except ValidationError as exc:
                for message in exc.message_dict.get("budget_usd", exc.messages):
                    form.add_error("budget_usd", message)
        if form.errors:
            page = CostsView(request=request, args=(), kwargs={})
            context = page.get_context_data(budget_forms={person.pk: form})
            return page.render_to_response(context, status=400)
        shown = "the default" if person.ai_monthly_budget_usd is None else f"${person.ai_monthly_budget_usd:.2f}"
        messages.success(request, f"{person.get_username()}'s monthly AI budget is now {shown}.")
        return redirect(f"{reverse('monitoring:costs')}?{request.GET.urlencode()}" if request.GET
                        else reverse("monitoring:costs"))


class DashboardAIChartView(CostsMixin, View):
    """The home dashboard's AI spend per day (the card's cached figures), as image/svg+xml."""

    def get(self, request):
        svg = cost_charts.daily_spend_svg(dashboard.daily_rows(dashboard.ai_figures(request.user)))
        response = HttpResponse(svg, content_type="image/svg+xml")
        response["Cache-Control"] = "private, no-cache"
        return csp_override(CHART_POLICY)(lambda request: response)(request)
