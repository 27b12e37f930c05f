"""OpenAPI (drf-spectacular) descriptions of our simplejwt subclasses.

Without these the schema lacks the bearer scheme and `check --deploy` warns.
Imported from AccountsConfig.ready().
"""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    SimpleJWTScheme,
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer


class JWTScheme(SimpleJWTScheme):
    target_class = "accounts.api.authentication.JWTAuthentication"


class TokenObtainSerializerExtension(TokenObtainPairSerializerExtension):
    target_class = "accounts.api.serializers.TokenObtainSerializer"

    def map_serializer(self, auto_schema, direction):
        from rest_framework import serializers

        from .serializers import OTP_HELP

        fixed = inline_serializer("Fixed", fields={
            "username": serializers.CharField(write_only=True, max_length=150),
            "password": serializers.CharField(write_only=True, max_length=4096),
            "otp": serializers.CharField(write_only=True, required=False, max_length=32, help_text=OTP_HELP),
            "access": serializers.CharField(read_only=True),
            "refresh": serializers.CharField(read_only=True),
        })
        return auto_schema._map_serializer(fixed, direction)


class TokenRefreshSerializerSchema(TokenRefreshSerializerExtension):
    target_class = "accounts.api.serializers.TokenRefreshSerializer"


class APITokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.APITokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A personal API token from your profile page or `manage.py users token create`: "
                           "`Authorization: Token lofi_<key>.<secret>`. Read-only tokens may not write (403).",
        }
