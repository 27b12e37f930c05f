from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.LoginCodeView.as_view(), name="login_code"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("tokens/new/", views.APITokenCreateView.as_view(), name="token_create"),
    path("tokens/<int:pk>/revoke/", views.APITokenRevokeView.as_view(), name="token_revoke"),
    path("2fa/", views.TwoFactorView.as_view(), name="two_factor"),
    path("2fa/qr.svg", views.TwoFactorQRView.as_view(), name="two_factor_qr"),
]
