from django.urls import path

from . import views
from .token_views import APITokenViewSet

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token_obtain"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="token_refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="token_logout"),
    path("auth/me/", views.MeView.as_view(), name="me"),
    path("auth/tokens/", APITokenViewSet.as_view({"get": "list"}, detail=False), name="api-token-list"),
    path("auth/tokens/<int:pk>/", APITokenViewSet.as_view({"get": "retrieve", "delete": "destroy"}, detail=True),
         name="api-token-detail"),
]
