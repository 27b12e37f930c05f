"""The pipeline's cards on the home dashboard (listed in settings.DASHBOARD_CARDS)."""

from lofisite.dashboard import Card

from . import services
from .models import Run


def cards(request):
    user = request.user
    return [
        Card("pipeline/_dashboard_stats.html", "stat", services.dashboard_stats(user)),
        Card("pipeline/_dashboard_latest.html", "panel", {
            "latest_video": services.latest_video(user), "can_run": Run.objects.can_add(user),
        }),
    ]
