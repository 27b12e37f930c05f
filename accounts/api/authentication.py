from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's authentication with distinct codes for expired and invalid tokens."""

    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError:
            raise InvalidToken({"detail": "The access token has expired; refresh it.", "code": "token_expired"})
        except TokenError:
            raise InvalidToken({"detail": "The access token is invalid.", "code": "invalid_token"})
