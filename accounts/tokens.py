"""Personal API tokens, and revoking every credential a user holds.

A token is `lofi_<key>.<secret>`: `key` (12 hex digits) finds the row, the
secret (256 bits) is checked against its stored SHA-256 in constant time.
SHA-256 without a salt is enough for a random 256-bit secret (there is no
dictionary to try), and it keeps every API request cheap; passwords keep
Argon2.

`revoke_credentials(user, reason)` runs on every password change and on
deactivation (accounts.signals): it blacklists the user's outstanding JWT
refresh tokens and revokes their personal tokens. Access tokens already issued
live out their lifetime (30 minutes by default); see README.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import APIToken, User

_KEY_BYTES = 6  # 12 hex digits: the public, indexed part
_SECRET_BYTES = 32


@dataclass(frozen=True)
class IssuedToken:
    token: APIToken
    plaintext: str  # shown once, never stored


class TokenRejected(Exception):
    """Why a presented token does not authenticate: code is unknown, revoked, expired or ip_not_allowed."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_token(user: User, name: str, *, write: bool = False, expires_at=None, allowed_ips=()) -> IssuedToken:
    """Issue a token for `user`; the plaintext is returned once and only its digest is kept."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    token = APIToken(user=user, name=name, key=secrets.token_hex(_KEY_BYTES), digest=digest(secret),
                     write_enabled=write, expires_at=expires_at, allowed_ips=list(allowed_ips))
    token.full_clean()
    token.save()
    return IssuedToken(token, f"{APIToken.PREFIX}{token.key}.{secret}")


def authenticate(raw: str, ip, now=None) -> APIToken:
    """The token that `raw` names, if it is usable from `ip`; otherwise TokenRejected."""
    now = now or timezone.now()
    key, _, secret = raw.removeprefix(APIToken.PREFIX).partition(".")
    token = (APIToken.objects.select_related("user").filter(key=key).first()
             if raw.startswith(APIToken.PREFIX) and key and secret else None)
    # Compare even when no row was found, so a wrong key and a wrong secret take the same time.
    matches = hmac.compare_digest(token.digest if token else digest(""), digest(secret))
    if token is None or not matches:
        raise TokenRejected("unknown", "The API token is not valid.")
    if token.revoked_at is not None:
        raise TokenRejected("revoked", "The API token has been revoked.")
    if token.is_expired(now):
        raise TokenRejected("expired", "The API token has expired.")
    if not token.user.is_active:
        raise TokenRejected("revoked", "The API token's user is deactivated.")
    if not token.allows_ip(ip):
        raise TokenRejected("ip_not_allowed", f"The API token may not be used from {ip}.")
    touch(token, now)
    return token


def touch(token: APIToken, now) -> None:
    """Record the use, at most once per API_TOKEN_LAST_USED_INTERVAL_SECONDS (one conditional UPDATE)."""
    stale = now - timedelta(seconds=settings.API_TOKEN_LAST_USED_INTERVAL_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        APIToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk).update(
            last_used_at=now)
        token.last_used_at = now


def revoke(tokens, reason: str, now=None) -> int:
    """Revoke the still-active tokens of a queryset; returns how many."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=now or timezone.now(), revoke_reason=reason)


def revoke_reason(token: APIToken, by: User) -> str:
    """Why `by` revoking `token` is recorded: by its owner, or by an admin (anyone else's)."""
    return APIToken.RevokeReason.USER if token.user_id == by.pk else APIToken.RevokeReason.ADMIN


@transaction.atomic
def revoke_credentials(user: User, reason: str) -> dict:
    """Blacklist every outstanding refresh token of `user` and revoke their personal API tokens."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(),
                                                  blacklistedtoken__isnull=True)
    refresh = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=row) for row in outstanding],
                                                   ignore_conflicts=True)
    return {"refresh_tokens": len(refresh), "api_tokens": revoke(APIToken.objects.filter(user=user), reason)}
