from rest_framework import permissions

from lofisite.errors import APIError

from ..services import pending_documents


class HasAcceptedLegal(permissions.BasePermission):
    """API gate: answer 403 LEGAL_ACCEPTANCE_REQUIRED until the current documents are accepted."""

    def has_permission(self, request, view):
        if getattr(view, "legal_gate_exempt", False):
            return True
        if request.user and request.user.is_authenticated and pending_documents(request.user):
            raise APIError(
                "LEGAL_ACCEPTANCE_REQUIRED",
                "Accept the current legal documents first: GET /api/v1/legal/documents/, "
                "then POST /api/v1/legal/accept/.",
                403,
                {"pending": [doc.kind for doc in pending_documents(request.user)]},
            )
        return True
