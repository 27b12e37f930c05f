"""Vinted accounts: list, add, a page with its status and risk ledger, session import (mounted at /vinted/)."""

from django.urls import path

from .views import accounts as views

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
    path("accounts/new/", views.AccountCreateView.as_view(), name="account-create"),
    path("accounts/<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"),
    path("accounts/<int:pk>/edit/", views.AccountUpdateView.as_view(), name="account-update"),
    path("accounts/<int:pk>/session/", views.AccountSessionView.as_view(), name="account-session"),
    path("accounts/<int:pk>/check/", views.AccountCheckView.as_view(), name="account-check"),
    path("accounts/<int:pk>/dry-run/", views.AccountDryRunView.as_view(), name="account-dry-run"),
    path("accounts/<int:pk>/unblock/", views.AccountUnblockView.as_view(), name="account-unblock"),
    path("accounts/<int:pk>/delete/", views.AccountDeleteView.as_view(), name="account-delete"),
]
