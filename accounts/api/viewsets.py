"""The API base for views over one model (NetBox's `BaseViewSet`).

`initial()` runs the permission class (`HasRoleScope`: scopes, then the queryset rule
for the request's action), then narrows `self.queryset` to `restrict(user, "view")`,
once per request. Views refine it in `get_queryset()` from `super().get_queryset()`.
"""

from rest_framework import viewsets

from .. import roles


class RestrictedAPIMixin:
    queryset = None
    permission_action = None  # None: by HTTP method (accounts.api.permissions.HTTP_ACTIONS)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.queryset is not None and request.user.is_authenticated:
            self.queryset = self.queryset.restrict(request.user, roles.Action.VIEW)


class BaseViewSet(RestrictedAPIMixin, viewsets.GenericViewSet):
    pass
