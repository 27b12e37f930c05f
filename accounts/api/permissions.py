from rest_framework import permissions

from .. import roles


def request_scopes(request) -> set[str]:
    """Scopes of this request: the token's, never more than the user's role allows now."""
    allowed = set(roles.scopes_for(request.user))
    token = request.auth
    token_scopes = getattr(token, "scopes", None)  # a personal API token (accounts.models.APIToken)
    if token_scopes is not None:
        return allowed & set(token_scopes)
    if token is not None and hasattr(token, "get"):
        claimed = token.get("scope", "")
        return allowed & set(claimed.split())
    return allowed


class HasRoleScope(permissions.BasePermission):
    """Reads need the `read` scope, writes need `write` (viewers have only read)."""

    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        needed = "read" if request.method in permissions.SAFE_METHODS else "write"
        return needed in request_scopes(request)


class IsAdminRole(permissions.BasePermission):
    message = "Only admins may do this."

    def has_permission(self, request, view):
        return roles.is_admin(request.user)
