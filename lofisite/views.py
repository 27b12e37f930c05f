from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.templatetags.static import static
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions

from accounts import roles
from accounts.mixins import RoleRequiredMixin
from accounts.models import LoginEvent, User
from accounts.roles import Role
from legal.models import LegalAcceptance
from legal.services import current_documents
from monitoring import ai
from pipeline import services as pipeline_services


class HomeView(RoleRequiredMixin, TemplateView):
    """The dashboard: real numbers only."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        by_role = dict(User.objects.filter(is_active=True).values_list("role").annotate(n=Count("id")))
        accepted = set(LegalAcceptance.objects.restrict(user).filter(user=user).values_list("document_id", flat=True))
        rate = pipeline_services.success_rate(user)
        return super().get_context_data(
            role_counts=[(role.label, by_role.get(role.value, 0)) for role in Role],
            active_users=sum(by_role.values()),
            sign_ins=LoginEvent.objects.restrict(user).filter(user=user)[:5],
            documents=[(doc, doc.pk in accepted) for doc in current_documents()],
            runs_today=pipeline_services.runs_today(user).count(),
            success_rate=None if rate is None else round(rate * 100),
            latest_video=pipeline_services.latest_video(user),
            ai=ai.budget_summary(user),
            can_run=roles.allows(user, roles.Action.ADD),
            **kwargs,
        )


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
