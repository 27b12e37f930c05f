"""Vinted automation (part 3): price drop rule pages (mounted at /vinted/)."""

from django.urls import path

from .views import price_rules as views

urlpatterns = [
    path("accounts/<int:account_pk>/price-rules/add/", views.PriceRuleCreateView.as_view(), name="price_rule_add"),
    path("price-rules/<int:pk>/edit/", views.PriceRuleUpdateView.as_view(), name="price_rule_edit"),
    path("price-rules/<int:pk>/delete/", views.PriceRuleDeleteView.as_view(), name="price_rule_delete"),
]
