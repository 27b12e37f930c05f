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


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+$", max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=roles.Role.choices, default=roles.Role.VIEWER)

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def create(self, validated_data):
        from django.core.exceptions import ValidationError as DjangoValidationError

        from ..services import create_user

        try:
            return create_user(**validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages})

    def to_representation(self, instance):
        return UserSerializer(instance, context=self.context).data


class UserUpdateSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=roles.Role.choices, required=False)

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role", "is_active"]

    def validate(self, attrs):
        request = self.context["request"]
        if self.instance == request.user and (attrs.get("role", roles.Role.ADMIN) != roles.Role.ADMIN
                                              or attrs.get("is_active") is False):
            raise serializers.ValidationError("You cannot demote or deactivate yourself.")
        return attrs

    def update(self, instance, validated_data):
        from ..services import assign_role

        role = validated_data.pop("role", None)
        instance = super().update(instance, validated_data)
        return assign_role(instance, role) if role else instance

    def to_representation(self, instance):
        return UserSerializer(instance, context=self.context).data


class LoginEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoginEvent
        fields = ["id", "created_at", "method", "ip_address", "user_agent", "device_label", "is_new_device"]
        read_only_fields = fields
