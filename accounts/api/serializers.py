from axes.handlers.proxy import AxesProxyHandler
from rest_framework import serializers
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from lofisite.fields import StrictCharField, StrictEmailField, StrictRegexField, StringOnlyModelSerializer

from .. import roles
from ..models import LoginEvent, User
from ..services import record_login

OTP_HELP = ("The current code from the authenticator app (or a recovery code). Required for users who "
            "have turned on two-factor sign-in; a wrong code counts as a failed sign-in.")


def add_role_claims(token, user):
    """The role and the scopes it grants, carried in the token (`scope` as in OAuth 2)."""
    token["role"] = user.role
    token["scope"] = " ".join(roles.scopes_for(user))
    return token


class TokenObtainSerializer(jwt_serializers.TokenObtainPairSerializer):
    """Adds role and scopes to the token and records the sign-in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bounded like the HTML form: an oversize username is a field error, not a 500 when
        # django-axes records the failure in a varchar(255) column.
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=150)
        self.fields["password"] = jwt_serializers.PasswordField(max_length=4096)
        self.fields["otp"] = serializers.CharField(write_only=True, required=False, max_length=32, help_text=OTP_HELP)

    @classmethod
    def get_token(cls, user):
        return add_role_claims(super().get_token(user), user)

    def validate(self, attrs):
        data = super().validate(attrs)
        request = self.context["request"]
        check_second_factor(self.user, attrs.get("otp", ""), request)
        # No user_logged_in signal for tokens: tell django-axes directly, so that a
        # successful sign-in resets the failure counter as it does for the HTML login.
        AxesProxyHandler.user_logged_in(sender=type(self), request=request, user=self.user)
        record_login(self.user, request, LoginEvent.Method.API)
        return data


def check_second_factor(user, code, request):
    """A user with a confirmed device must send `otp`; with ADMIN_REQUIRE_2FA an admin must have one."""
    from django.contrib.auth import user_login_failed
    from rest_framework import status

    from lofisite.errors import APIError

    from .. import two_factor

    if not two_factor.has_device(user):
        if two_factor.must_enrol(user):
            raise APIError("TWO_FACTOR_ENROLMENT_REQUIRED", "Admins must set up two-factor sign-in on their "
                           "profile page before they can obtain API tokens.", status.HTTP_403_FORBIDDEN)
        return
    if not code:
        raise APIError("OTP_REQUIRED", "This account uses two-factor sign-in: send the current code in `otp`.",
                       status.HTTP_401_UNAUTHORIZED, {"fields": {"otp": ["This field is required."]}})
    if two_factor.verify(user, code) is None:
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
        raise APIError("INVALID_OTP", "The two-factor code is not valid.", status.HTTP_401_UNAUTHORIZED)


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """Rotates the pair; the new tokens carry the user's current role and scopes."""

    def validate(self, attrs):
        gone = InvalidToken("The user of this token no longer exists.", code="user_not_found")
        try:
            data = super().validate(attrs)
        except User.DoesNotExist:  # simplejwt looks the user up without catching this
            raise gone
        access = AccessToken(data["access"])
        user = User.objects.filter(pk=access[jwt_api_settings.USER_ID_CLAIM]).first()
        if user is None:
            raise gone
        data["access"] = str(add_role_claims(access, user))
        if "refresh" in data:
            data["refresh"] = str(add_role_claims(RefreshToken(data["refresh"]), user))
        return data


class LogoutSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=4096)


class UserSerializer(serializers.ModelSerializer):
    scopes = serializers.SerializerMethodField()
    # Not `format: email`: empty for users created without one (e.g. by `createsuperuser`).
    email = serializers.CharField(read_only=True, help_text="An email address, or empty.")

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "scopes", "is_active",
                  "last_login", "date_joined"]
        read_only_fields = fields

    def get_scopes(self, user) -> list[str]:
        return roles.scopes_for(user)


class UserCreateSerializer(serializers.Serializer):
    username = StrictRegexField(r"^[\w.@+-]+$", max_length=150)
    email = StrictEmailField(max_length=254)
    password = StrictCharField(write_only=True, max_length=128, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=roles.Role.choices, default=roles.Role.VIEWER)

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def create(self, validated_data):
        from django.core.exceptions import ValidationError as DjangoValidationError

        from lofisite.errors import drf_validation_error

        from ..services import create_user

        try:
            return create_user(**validated_data)
        except DjangoValidationError as exc:  # per field: {"password": [...]}, {"username": [...]}
            raise drf_validation_error(exc)

    def to_representation(self, instance):
        return UserSerializer(instance, context=self.context).data


class UserUpdateSerializer(StringOnlyModelSerializer):
    role = serializers.ChoiceField(choices=roles.Role.choices, required=False)

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role", "is_active"]

    def update(self, instance, validated_data):
        from django.core.exceptions import ValidationError as DjangoValidationError

        from lofisite.errors import drf_validation_error

        from ..services import update_user

        try:
            return update_user(self.context["request"].user, instance, **validated_data)
        except DjangoValidationError as exc:  # "You cannot demote or deactivate yourself."
            raise drf_validation_error(exc)

    def to_representation(self, instance):
        return UserSerializer(instance, context=self.context).data


class LoginEventSerializer(serializers.ModelSerializer):
    device_label = serializers.CharField(read_only=True)

    class Meta:
        model = LoginEvent
        fields = ["id", "created_at", "method", "ip_address", "user_agent", "device_label", "is_new_device"]
        read_only_fields = fields
