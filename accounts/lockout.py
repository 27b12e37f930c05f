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
