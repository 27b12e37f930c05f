"""Vinted accounts: list, add, a page with its status and risk ledger, session import (mounted at /vinted/)."""

from django.urls import path

from .views import accounts as views

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
]
