"""HTML base views that apply the one permission rule once per request (NetBox's
`ObjectPermissionRequiredMixin`).

A view names its `queryset` (e.g. `Run.objects.select_related(...)`); `dispatch`
decides the view's action (GET/HEAD -> view, any other method -> change, unless the
view names `permission_action`: add for create views, change for edit pages, ...),
asks the queryset's rule whether the user may take that action on this kind at all
(403 if not), and replaces `self.queryset` with `restrict(user, "view")`. One-object
views then answer 404 for an object the user cannot see and 403 for one they see but
may not take the action on. No view body checks a role.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import ListView

from lofisite.sorting import sort_headers
from lofisite.validation import error_text

from . import roles

Action = roles.Action
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RoleRequiredMixin(LoginRequiredMixin):
    """A page about no one kind of object: signed in and the role grants `required_action`."""

    required_action = Action.VIEW

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not roles.allows(request.user, self.required_action):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AdminRequiredMixin(RoleRequiredMixin):
    required_action = Action.ADMIN


class RestrictedViewMixin(LoginRequiredMixin):
    """Restricts `self.queryset` for the request's action once, in `dispatch`."""

    queryset = None
    permission_action = None  # None: view for safe methods, `write_action` for the others
    write_action = Action.CHANGE
    permission_denied_message = ""

    def get_permission_action(self):
        if self.permission_action is not None:
            return Action(self.permission_action)
        return Action.VIEW if self.request.method in SAFE_METHODS else Action(self.write_action)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.queryset is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a queryset.")
        self.action = self.get_permission_action()
        if not self.queryset.model_permits(request.user, self.action):
            raise PermissionDenied(self.permission_denied_message)
        self.queryset = self.queryset.restrict(request.user, Action.VIEW)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.queryset.all()

    def get_context_data(self, **kwargs):
        # What the page's buttons may offer, from the same rule.
        kwargs.setdefault("can_add", self.queryset.can_add(self.request.user))
        return super().get_context_data(**kwargs)


class ObjectPermissionMixin(RestrictedViewMixin):
    """One object: 404 when the user cannot see it, 403 when they may not take the action on it."""

    lookup_field = "pk"
    lookup_url_kwarg = "pk"

    def get_object(self, queryset=None):
        queryset = self.get_queryset() if queryset is None else queryset
        obj = get_object_or_404(queryset, **{self.lookup_field: self.kwargs[self.lookup_url_kwarg]})
        if self.action != Action.VIEW and not self.queryset.permits(self.request.user, obj, self.action):
            raise PermissionDenied(self.permission_denied_message)
        return obj


class ObjectListView(RestrictedViewMixin, ListView):
    """A paginated list of what the user may see, optionally filtered (`filterset_class`, the
    API's filterset) and with sortable headers (`columns`: (label, ordering key or None))."""

    paginate_by = 25
    write_action = Action.ADD  # a POST to a list adds to it
    filterset_class = None
    columns = ()
    default_ordering = "-created"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.filterset_class is None:
            return queryset
        self.filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        if self.filterset_class is not None:
            filters = [name for name in self.filterset.filters if name != "ordering"]
            kwargs.update(filterset=self.filterset, filter_form=self.filterset.form,
                          filtered=any(self.request.GET.get(name) for name in filters))
        if self.columns:
            kwargs["headers"] = sort_headers(self.request, self.columns, self.default_ordering)
        return super().get_context_data(**kwargs)

    def ids_permitting(self, action, rows=None):
        """The ids of the listed kind the user may take `action` on (a row's buttons); with `rows` (the
        page's), only among those, so that a page does not read every id of the table."""
        queryset = self.queryset.restrict(self.request.user, action)
        if rows is not None:
            queryset = queryset.filter(pk__in=[row.pk for row in rows])
        return set(queryset.values_list("pk", flat=True))


class ObjectActionView(ObjectPermissionMixin, View):
    """POST-only action on one object (change unless `permission_action` says otherwise):
    `act(obj, user)` returns the success message; a ValidationError becomes an error message."""

    http_method_names = ["post"]

    def act(self, obj, user) -> str:
        raise NotImplementedError

    def get_success_url(self, obj):
        return obj.get_absolute_url()

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        try:
            messages.success(request, self.act(obj, request.user))
        except ValidationError as exc:
            messages.error(request, error_text(exc, name_fields=False))
        return redirect(self.get_success_url(obj))
