"""The seed's health endpoints by name, under /api/v1/ (included from lofisite/api_urls.py).

- `GET health`: the overall status, for anyone (no sign-in), as /health/ gives non-admins;
- `GET health/detailed`: every check with its state, message and time (admins);
- `GET health/jobs`: task worker, queue and scheduler, and the job statistics (admins);
- `GET health/circuit-breakers`: every breaker and which are not closed (admins);
- `GET metrics`: the host's system metrics as JSON (admins; Prometheus reads /metrics).

`health` and `health/detailed` run the same checks as /health/ (settings.HEALTH_CHECKS) and answer the
same way: 200 while healthy or degraded, 503 when unhealthy, then in the error envelope (code
UNHEALTHY) with the answer they would have given in `details`. Admin-only is the rule of the admin API
(JobStat's, Action.ADMIN: AdminOnlyAPIView): 401 signed out, 403 for other roles.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from lofisite import health as health_checks
from lofisite.errors import APIError

from .. import breakers
from .. import health as operations
from ..choices import BreakerState
from .admin_serializers import JobStatSerializer
from .admin_views import AdminOnlyAPIView
from .serializers import CircuitBreakerSerializer

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
UNHEALTHY = OpenApiResponse(ENVELOPE, description="UNHEALTHY: a check failed (the database does not answer...); "
                                                  "`details` holds the answer a 200 would have given.")


class HealthStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=health_checks.STATES,
                                     help_text="healthy; degraded (a check warns, still serving); unhealthy.")


class CheckResultSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The check and its options, e.g. DiskCheck(path='/srv/var').")
    status = serializers.ChoiceField(choices=["ok", "warning", "unavailable"],
                                     help_text="warning degrades the whole; unavailable makes it unhealthy.")
    message = serializers.CharField(allow_blank=True, help_text="What is wrong; empty when ok.")
    time_seconds = serializers.FloatField(help_text="How long the check took.")


class HealthReportSerializer(HealthStatusSerializer):
    checked_at = serializers.DateTimeField()
    checks = CheckResultSerializer(many=True)


class WorkerStatusSerializer(serializers.Serializer):
    last_seen_at = serializers.DateTimeField(allow_null=True, help_text="A task or job heartbeat; null: never.")
    age_seconds = serializers.FloatField(allow_null=True)
    max_age_seconds = serializers.IntegerField()
    alive = serializers.BooleanField()


class QueueStatusSerializer(serializers.Serializer):
    ready = serializers.IntegerField(help_text="Tasks ready to run now.")
    oldest_ready_age_seconds = serializers.FloatField(allow_null=True, help_text="Null: none waiting.")
    max_age_seconds = serializers.IntegerField()
    stuck = serializers.BooleanField()


class SchedulerStatusSerializer(serializers.Serializer):
    last_tick_at = serializers.DateTimeField(allow_null=True, help_text="Null: unknown (never, or cache down).")
    age_seconds = serializers.FloatField(allow_null=True)
    max_age_seconds = serializers.IntegerField()
    alive = serializers.BooleanField()


class JobsHealthSerializer(serializers.Serializer):
    worker = WorkerStatusSerializer()
    queue = QueueStatusSerializer()
    scheduler = SchedulerStatusSerializer()
    jobs = JobStatSerializer(many=True)


class BreakersHealthSerializer(serializers.Serializer):
    not_closed = serializers.ListField(child=serializers.CharField(),
                                       help_text="Names of the breakers open or half-open (health: degraded).")
    breakers = CircuitBreakerSerializer(many=True)


class MemorySerializer(serializers.Serializer):
    total_bytes = serializers.IntegerField()
    available_bytes = serializers.IntegerField()
    percent = serializers.FloatField()


class DiskSerializer(serializers.Serializer):
    path = serializers.CharField()
    total_bytes = serializers.IntegerField()
    free_bytes = serializers.IntegerField()
    percent = serializers.FloatField()


class ProcessSerializer(serializers.Serializer):
    pid = serializers.IntegerField()
    rss_bytes = serializers.IntegerField()
    threads = serializers.IntegerField()
    uptime_seconds = serializers.FloatField()


class SystemMetricsSerializer(serializers.Serializer):
    hostname = serializers.CharField()
    cpu_count = serializers.IntegerField()
    cpu_percent = serializers.FloatField(help_text="Since the previous call in this process (0.0 on the first).")
    load_average = serializers.ListField(child=serializers.FloatField(), help_text="1, 5 and 15 minutes.")
    memory = MemorySerializer()
    swap_percent = serializers.FloatField()
    disk = DiskSerializer()
    process = ProcessSerializer(help_text="The web process that answered.")
    boot_time = serializers.DateTimeField()


def _answer(serializer_class, data, state):
    body = serializer_class(data).data
    if state == "unhealthy":
        raise APIError("UNHEALTHY", "A health check failed: the product is not working.",
                       status.HTTP_503_SERVICE_UNAVAILABLE, dict(body))
    return Response(body)


class HealthStatusView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="Overall health (anyone)", responses={200: HealthStatusSerializer, 503: UNHEALTHY},
                   description="The checks of /health/; 200 while healthy or degraded.")
    def get(self, request):
        state = health_checks.overall(health_checks.run_checks())
        return _answer(HealthStatusSerializer, {"status": state}, state)


class HealthDetailedView(AdminOnlyAPIView):
    @extend_schema(summary="Every health check: state, message, time (admins)",
                   responses={200: HealthReportSerializer, 503: UNHEALTHY})
    def get(self, request):
        data = health_checks.report(health_checks.run_checks())
        return _answer(HealthReportSerializer, data, data["status"])


class HealthJobsView(AdminOnlyAPIView):
    @extend_schema(summary="Task worker, queue, scheduler and job statistics (admins)",
                   responses=JobsHealthSerializer)
    def get(self, request):
        data = {**operations.jobs_status(), "jobs": self.queryset.order_by("name")}
        return Response(JobsHealthSerializer(data).data)


class HealthBreakersView(AdminOnlyAPIView):
    @extend_schema(summary="Circuit breakers and which are not closed (admins)",
                   responses=BreakersHealthSerializer)
    def get(self, request):
        rows = breakers.all_breakers(request.user)
        data = {"not_closed": [row.name for row in rows if row.state != BreakerState.CLOSED], "breakers": rows}
        return Response(BreakersHealthSerializer(data).data)


class SystemMetricsView(AdminOnlyAPIView):
    @extend_schema(summary="System metrics of this host as JSON (admins)", responses=SystemMetricsSerializer)
    def get(self, request):
        return Response(SystemMetricsSerializer(operations.system_metrics()).data)


# Included from lofisite/api_urls.py at /api/v1/; the paths are the seed's (no trailing slash).
urlpatterns = [
    path("health", HealthStatusView.as_view(), name="health"),
    path("health/detailed", HealthDetailedView.as_view(), name="health-detailed"),
    path("health/jobs", HealthJobsView.as_view(), name="health-jobs"),
    path("health/circuit-breakers", HealthBreakersView.as_view(), name="health-circuit-breakers"),
    path("metrics", SystemMetricsView.as_view(), name="system-metrics"),
]
