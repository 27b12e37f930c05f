from rest_framework import serializers
from rest_framework_simplejwt import serializers as jwt_serializers

from .. import roles
from ..models import LoginEvent, User
from ..services import record_login


class TokenObtainSerializer(jwt_serializers.TokenObtainPairSerializer):
    """Adds role and scopes to the token and records the sign-in."""

    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token["role"] = user.role
        token["scope"] = " ".join(roles.scopes_for(user))
        return token

    def validate(self, attrs):
        data = super().validate(attrs)
        record_login(self.user, self.context["request"], LoginEvent.Method.API)
        return data


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    pass


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class UserSerializer(serializers.ModelSerializer):
    scopes = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "scopes", "is_active",
                  "last_login", "date_joined"]
        read_only_fields = fields

    def get_scopes(self, user) -> list[str]:
        return roles.scopes_for(user)


class MeSerializer(UserSerializer):
    legal_pending = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "legal_pending"]
        read_only_fields = fields

    def get_legal_pending(self, user) -> list[str]:
        from legal.services import pending_documents

        return [doc.kind for doc in pending_documents(user)]


class LoginEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoginEvent
        fields = ["id", "created_at", "method", "ip_address", "user_agent", "device_label", "is_new_device"]
        read_only_fields = fields
