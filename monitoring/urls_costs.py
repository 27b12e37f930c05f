"""The AI costs pages (included by monitoring/urls.py under costs/)."""

from django.urls import path

from . import views_costs

urlpatterns = [
    path("", views_costs.CostsView.as_view(), name="costs"),
    path("chart.svg", views_costs.CostsChartView.as_view(), name="costs-chart"),
    path("export.csv", views_costs.CostsExportView.as_view(), name="costs-export"),
    path("budgets/<int:pk>/", views_costs.BudgetUpdateView.as_view(), name="costs-budget"),
    path("dashboard-chart.svg", views_costs.DashboardAIChartView.as_view(), name="dashboard-ai-chart"),
]
