"""Project-level pages. They import no app: the dashboard is assembled from the cards each
app offers (`lofisite.dashboard`, `settings.DASHBOARD_CARDS`)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.templatetags.static import static
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions

from . import dashboard


class HomeView(LoginRequiredMixin, TemplateView):
    """The dashboard: real numbers only, each card from the app that owns them."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(cards=dashboard.collect(self.request), **kwargs)


class APIDocsView(SpectacularSwaggerSplitView):
    """Swagger UI served from our own static files; signed-in users only."""

    def handle_exception(self, exc):
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on pages without an icon link (admin, raw files)."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("img/favicon.svg")
