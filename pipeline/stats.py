"""The pipeline's business counts for `manage.py stats` (listed in settings.STATS_COLLECTORS)."""

from django.db.models import Count, Q, Sum

from monitoring.costs import spend_usd
from monitoring.stats import by_status

from .choices import RunStatus, UploadStatus
from .models import Run, Video

ON_YOUTUBE = (UploadStatus.UPLOADED, UploadStatus.LOCKED_PRIVATE)


def counts(now=None) -> dict:
    finished = Video.objects.exclude(video="")
    totals = finished.aggregate(seconds=Sum("duration_s"), size=Sum("size_bytes"),
                                youtube=Count("id", filter=Q(upload_status__in=ON_YOUTUBE)))
    return {
        "runs_by_status": by_status(Run.objects.all(), "status", RunStatus),
        "videos": {
            "total": finished.count(),
            "on_youtube": totals["youtube"] or 0,
            "audio_hours": round((totals["seconds"] or 0) / 3600, 2),
            "size_bytes": totals["size"] or 0,
        },
        "uploads_by_status": by_status(Video.objects.all(), "upload_status", UploadStatus),
        "ai_cost_usd": {"today": float(spend_usd(days=1, request_type_prefix="pipeline.", now=now)),
                        "last_30_days": float(spend_usd(days=30, request_type_prefix="pipeline.", now=now))},
    }
