"""Connecting the YouTube channel: Google's OAuth consent with PKCE (the browser flow on this
site and the command's loopback flow share it) and the check that credentials really work.

Credentials are verified before anything is saved: a refresh-token grant, then
`channels.list mine=true` for the channel's real id and title. The calls go through the
`youtube` circuit breaker with its timeout and no sleeping retries.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from monitoring.breakers import BreakerOpen, breaker

from . import youtube

SCOPES = "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube"


@dataclass(frozen=True)
class VerifiedChannel:
    channel_id: str
    title: str


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def consent_url(client_id: str, redirect_uri: str, state: str, challenge: str) -> str:
    query = urlencode({
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "scope": SCOPES,
        "access_type": "offline", "prompt": "consent", "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
    return f"{settings.YOUTUBE_AUTH_URL}?{query}"


def exchange_code(*, client_id, client_secret, code, redirect_uri, verifier) -> str:
    """Trade the authorization code for a refresh token; a ValidationError says why not."""
    guard = breaker("youtube", counts_as_failure=lambda exc: isinstance(exc, httpx.TransportError))
    try:
        response = guard.call(httpx.post, settings.YOUTUBE_TOKEN_URL, timeout=guard.timeout, data={
            "grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret, "redirect_uri": redirect_uri, "code_verifier": verifier,
        })
    except BreakerOpen as exc:
        raise ValidationError(f"YouTube is not answering now ({exc}). Nothing was saved.")
    except httpx.HTTPError as exc:
        raise ValidationError(f"Could not reach Google's token endpoint ({exc.__class__.__name__}). "
                              "Nothing was saved.")
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200:
        reason = payload.get("error_description") or payload.get("error") or response.reason_phrase
        hint = " Check the client id and secret." if payload.get("error") == "invalid_client" else ""
        raise ValidationError(f"Google refused the authorization ({response.status_code}: {reason}).{hint} "
                              "Nothing was saved.")
    token = payload.get("refresh_token")
    if not token:
        raise ValidationError("Google returned no refresh token. Remove this site's access at "
                              "https://myaccount.google.com/permissions and connect again.")
    return token


def verify_credentials(*, client_id: str, client_secret: str, refresh_token: str) -> VerifiedChannel:
    """The channel these credentials upload to; a ValidationError (by field) when they do not work."""
    guard = breaker("youtube", counts_as_failure=lambda exc: isinstance(exc, youtube.YouTubeTransientError))
    config = youtube.YouTubeConfig(
        client_id=client_id, client_secret=client_secret, refresh_token=refresh_token,
        token_url=settings.YOUTUBE_TOKEN_URL, api_base=settings.YOUTUBE_API_BASE,
        upload_base=settings.YOUTUBE_UPLOAD_BASE, timeout=guard.timeout, max_retries=0)
    try:
        with youtube.YouTubeClient(config) as client:
            channel = guard.call(client.my_channel)
    except BreakerOpen as exc:
        raise ValidationError(f"YouTube is not answering now ({exc}). Nothing was saved.")
    except youtube.YouTubeAuthError as exc:
        field = "client_secret" if exc.reason == "invalid_client" else "refresh_token"
        text = ("Google does not know this client id and secret." if field == "client_secret"
                else "Google refused this refresh token (expired, revoked or for another client).")
        raise ValidationError({field: f"{text} Nothing was saved."})
    except youtube.YouTubeTransientError as exc:
        raise ValidationError(f"Could not reach YouTube ({exc.hint or exc.message}). Nothing was saved.")
    except youtube.YouTubeError as exc:
        raise ValidationError(f"YouTube refused the credentials: {exc.hint or exc.message} Nothing was saved.")
    except httpx.HTTPError as exc:
        raise ValidationError(f"Could not reach YouTube ({exc.__class__.__name__}). Nothing was saved.")
    return VerifiedChannel(channel_id=channel["id"], title=channel["title"])
