"""OpenAPI (drf-spectacular) descriptions of our simplejwt subclasses.

Without these the schema lacks the bearer scheme and `check --deploy` warns.
Imported from AccountsConfig.ready().
"""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    SimpleJWTScheme,
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)


class JWTScheme(SimpleJWTScheme):
    target_class = "accounts.api.authentication.JWTAuthentication"


class TokenObtainSerializerExtension(TokenObtainPairSerializerExtension):
    target_class = "accounts.api.serializers.TokenObtainSerializer"


class TokenRefreshSerializerSchema(TokenRefreshSerializerExtension):
    target_class = "accounts.api.serializers.TokenRefreshSerializer"
