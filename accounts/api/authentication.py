from rest_framework import authentication as authentication_base
from rest_framework import exceptions, permissions, status
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from lofisite.errors import APIError


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's authentication with distinct codes for expired and invalid tokens."""

    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError:
            raise InvalidToken({"detail": "The access token has expired; refresh it.", "code": "token_expired"})
        except TokenError:
            raise InvalidToken({"detail": "The access token is invalid.", "code": "invalid_token"})


class APITokenRejected(APIError, exceptions.AuthenticationFailed):
    """401 with its own envelope code (TOKEN_REVOKED, ...); still an AuthenticationFailed for DRF."""


class APITokenAuthentication(authentication_base.BaseAuthentication):
    """Personal API tokens: `Authorization: Token lofi_<key>.<secret>`.

    `request.auth` is the APIToken; its `scopes` ({"read"} or {"read", "write"}) are a ceiling on the
    role, like the JWT's `scope`. A read-only token is refused every unsafe method here, with its own
    code (403 TOKEN_READ_ONLY), whatever the view would allow.
    """

    keyword = "Token"
    _CODES = {"unknown": "INVALID_TOKEN", "revoked": "TOKEN_REVOKED", "expired": "TOKEN_EXPIRED",
              "ip_not_allowed": "TOKEN_IP_NOT_ALLOWED"}

    def authenticate(self, request):
        from ..services import client_ip
        from ..tokens import TokenRejected, authenticate

        header = authentication_base.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise APITokenRejected("INVALID_TOKEN", "Send the header as `Authorization: Token <token>`.",
                                   status.HTTP_401_UNAUTHORIZED)
        try:
            token = authenticate(header[1].decode("latin-1"), client_ip(request))
        except TokenRejected as exc:
            raise APITokenRejected(self._CODES[exc.code], str(exc), status.HTTP_401_UNAUTHORIZED)
        if not token.write_enabled and request.method not in permissions.SAFE_METHODS:
            raise APIError("TOKEN_READ_ONLY", "This API token is read-only; create a token that allows writes.",
                           status.HTTP_403_FORBIDDEN)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
