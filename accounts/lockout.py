"""What a locked-out client sees (django-axes AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from lofisite.errors import envelope


def lockout_response(request, original_response=None, credentials=None):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-in attempts. This account is locked for {minutes} minutes "
        "from this address. Try again later or ask an admin to unlock it."
    )
    if request.path.startswith("/api/"):
        body = envelope("ACCOUNT_LOCKED", message, 403, {"cooloff_minutes": minutes},
                        request_id=getattr(request, "id", None))
        response = JsonResponse(body, status=403)
        response["Retry-After"] = str(minutes * 60)
        return response
    return render(request, "accounts/locked.html", {"message": message}, status=403)


def _attempts(username: str):
    from axes.models import AccessAttempt

    # Sign-in forms record what was typed; "Ada" and "ada" are the same account (see create_user).
    return AccessAttempt.objects.filter(username__iexact=username)


def status(username: str) -> dict:
    """What the admin sees on a user's page: failed sign-ins on record and the addresses locked out now."""
    from django.utils import timezone

    attempts = _attempts(username)
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    locked = attempts.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since)
    return {"failures": sum(attempts.values_list("failures_since_start", flat=True)),
            "locked_addresses": sorted({ip or "unknown address" for ip in locked.values_list("ip_address", flat=True)})}


def unlock(username: str) -> int:
    """Clear django-axes' failed sign-ins for `username` (from every address); returns how many records went.

    The account can sign in again at once, from the browser and the API.
    """
    from axes.utils import reset

    spellings = set(_attempts(username).values_list("username", flat=True))
    return sum(reset(username=name) for name in spellings)
