"""Personal API tokens over the API: list them, and revoke one (DELETE). Admins see and revoke everyone's.

Tokens are made on the profile page or with `manage.py users token create`, never here: a token
should come from a signed-in (second-factor verified) person, not from another token.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from .. import tokens
from ..models import APIToken
from ..roles import Action


class APITokenSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    token = serializers.CharField(source="display", read_only=True, help_text="The prefix; the secret is never shown.")
    scopes = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = APIToken
        fields = ["id", "username", "name", "token", "write_enabled", "scopes", "allowed_ips", "created_at",
                  "expires_at", "last_used_at", "revoked_at", "revoke_reason", "status"]
        read_only_fields = fields

    def get_scopes(self, token) -> list[str]:
        return sorted(token.scopes)

    def get_status(self, token) -> str:
        return token.status(self.context["now"])


class APITokenViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Your personal API tokens (admins: everyone's). DELETE revokes a token; it stays listed as revoked."""

    serializer_class = APITokenSerializer
    # Revoking one's own credential is safe, so a read-only role (whose JWT has only the `read`
    # scope) may do it too; someone else's token still needs `write` (accounts.api.permissions).
    owner_scope = "read"

    def get_queryset(self):
        action = Action.DELETE if self.request.method == "DELETE" else Action.VIEW
        return APIToken.objects.restrict(self.request.user, action).select_related("user")

    def get_serializer_context(self):
        from django.utils import timezone

        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        token = self.get_object()
        tokens.revoke(APIToken.objects.filter(pk=token.pk), tokens.revoke_reason(token, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)
