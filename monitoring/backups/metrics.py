"""Backups' figures for /metrics (a collector listed in settings.METRICS_COLLECTORS), under the names
the BackupStale rule of monitoring/prometheus/alerts.yml reads. Absent until a backup has succeeded."""

from prometheus_client.core import GaugeMetricFamily

from ..models import Backup
from .services import freshness


def collect():
    latest = freshness()
    if latest["backup_id"] is None:
        return
    size = Backup.objects.filter(pk=latest["backup_id"]).values_list("size", flat=True).first() or 0
    yield GaugeMetricFamily("lofisite_backup_last_success_timestamp_seconds",
                            "Unix time at which the newest successful database backup finished.",
                            value=latest["last_success_at"].timestamp())
    yield GaugeMetricFamily("lofisite_backup_last_size_bytes", "Size of the newest successful database backup.",
                            value=size)
