from django.urls import path

from .views import inventory

urlpatterns = [
    path("inventory/", inventory.InventoryView.as_view(), name="inventory"),
    path("inventory/chart.svg", inventory.InventoryChartView.as_view(), name="inventory-chart"),
    path("inventory/export.csv", inventory.InventoryExportView.as_view(), name="inventory-export"),
]
