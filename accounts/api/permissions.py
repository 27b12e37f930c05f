"""The one API permission class (NetBox's `BaseViewSet.initial` + `HTTP_ACTIONS`).

`HasRoleScope` (the name the settings list) decides every API request:

1. the token's scopes are a ceiling on the role: reads need `read`, writes need `write`
   (`request_scopes`: a JWT's `scope` claim, or a token object's `scopes` set); the one
   exception is a view's `owner_scope`: the scope that suffices for acting on one's own
   object (revoking one's own API token needs only `read`, so every role may do it);
2. the view's queryset rule for the request's action: `model_permits()` / `can_add()`
   for the request, `permits()` for the one object it acts on.

The base viewset (`accounts.api.viewsets.RestrictedAPIMixin`) has already narrowed
`queryset` to what the user may see, so an invisible object is a 404 and a visible one
the user may not change is a 403.
"""

from rest_framework import permissions

from .. import roles

Action = roles.Action

HTTP_ACTIONS = {
    "GET": Action.VIEW,
    "HEAD": Action.VIEW,
    "OPTIONS": Action.VIEW,
    "POST": Action.ADD,
    "PUT": Action.CHANGE,
    "PATCH": Action.CHANGE,
    "DELETE": Action.DELETE,
}


def request_scopes(request) -> set[str]:
    """Scopes of this request: the token's, never more than the user's role allows now."""
    allowed = set(roles.scopes_for(request.user))
    token = request.auth
    scopes = getattr(token, "scopes", None)  # a personal API token
    if scopes is not None:
        return allowed & set(scopes)
    if token is not None and hasattr(token, "get"):  # a JWT
        claimed = token.get("scope", "")
        return allowed & set(claimed.split())
    return allowed  # a browser session


def request_action(request, view) -> Action:
    """The action a request takes: the view's `permission_action` if it names one, else by
    HTTP method; a POST to one object (an action such as `retry`) changes it."""
    named = getattr(view, "permission_action", None)
    if named is not None:
        return Action(named)
    action = HTTP_ACTIONS.get(request.method, Action.CHANGE)
    if action == Action.ADD and getattr(view, "detail", False):
        return Action.CHANGE
    return action


def _rule(view):
    """The view's restricted queryset class (the rule), or None for a view about no model."""
    queryset = getattr(view, "queryset", None)
    return queryset if hasattr(queryset, "model_permits") else None


def _needed_scope(request) -> str:
    return "read" if request.method in permissions.SAFE_METHODS else "write"


def _owner_exception(request, view, scopes) -> bool:
    """The view's `owner_scope` is enough for a request on one object; that it is the user's own
    is checked in `has_object_permission` (the object's `user`)."""
    owner_scope = getattr(view, "owner_scope", None)
    return owner_scope is not None and owner_scope in scopes and bool(getattr(view, "detail", False))


class HasRoleScope(permissions.BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        scopes = request_scopes(request)
        if _needed_scope(request) not in scopes and not _owner_exception(request, view, scopes):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # a method the view does not offer: DRF answers 405
        rule = _rule(view)
        return rule is None or rule.model_permits(request.user, request_action(request, view))

    def has_object_permission(self, request, view, obj):
        if _needed_scope(request) not in request_scopes(request) and getattr(obj, "user_id", None) != request.user.pk:
            return False  # came in on the owner exception, but the object is not theirs
        action = request_action(request, view)
        if action == Action.VIEW:
            return True  # the queryset was restricted for viewing already
        if not type(obj)._default_manager.permits(request.user, obj, action):
            self.message = "You may not change this: it belongs to another user."
            return False
        return True
