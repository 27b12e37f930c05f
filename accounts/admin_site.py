"""The Django admin, for admins only: other signed-in users get a 403, not a login loop.

`lofisite.admin_site.LofisiteAdminConfig` (in INSTALLED_APPS) names this site as the default.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from .models import User
from .roles import Action


class LofisiteAdminSite(admin.AdminSite):
    site_header = "lofisite admin"
    site_title = "lofisite admin"
    index_title = "Administration"

    def has_permission(self, request):
        return User.objects.model_permits(request.user, Action.ADMIN)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied
        return super().login(request, extra_context)
