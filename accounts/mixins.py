"""View mixins that apply the role rule to pages without a single object."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

from . import roles


class RoleRequiredMixin(LoginRequiredMixin):
    """Signed in and the role allows `required_action` (view by default)."""

    required_action = roles.Action.VIEW

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not roles.allows(request.user, self.required_action):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AdminRequiredMixin(RoleRequiredMixin):
    required_action = roles.Action.ADMIN
