"""The admin API under /api/v1/admin/: backups, system health, job statistics.

Admins only (403 envelope for other roles, 401 signed out), decided by the views' queryset rule:
Backup's rule is admin-only for every action; system/health and jobs/reset-stats ask JobStat's
rule for Action.ADMIN. A restore needs `confirm: "restore backup <id>"`, so no client (or schema
fuzzer) restores by sending a schema-valid body by chance.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.viewsets import RestrictedAPIMixin
from accounts.roles import Action
from lofisite.errors import APIError
from lofisite.health import current_health

from .. import breakers, jobs
from ..backups import maintenance, services
from ..backups.engines import BackupError
from ..models import Backup, JobStat
from .admin_serializers import (
    BackupCreateSerializer,
    BackupInfoQuerySerializer,
    BackupRestoreSerializer,
    BackupSerializer,
    ResetStatsResultSerializer,
    ResetStatsSerializer,
    RestoreResultSerializer,
    SystemHealthSerializer,
)

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
BACKUP_FAILED = OpenApiResponse(ENVELOPE, description="BACKUP_FAILED: the server could not take or restore the "
                                "backup (e.g. pg_dump missing or older than the server); the message says what to do.")


def _backup_failed(exc: BackupError) -> APIError:
    details = {}
    if isinstance(exc, services.RestoreFailed):
        details = {"rolled_back": exc.rolled_back, "safety_backup": exc.safety_id}
    return APIError("BACKUP_FAILED", str(exc), status.HTTP_503_SERVICE_UNAVAILABLE, details)


class BackupAPIMixin(RestrictedAPIMixin):
    queryset = Backup.objects.select_related("created_by")
    serializer_class = BackupSerializer


class BackupCreateView(BackupAPIMixin, generics.GenericAPIView):
    @extend_schema(summary="Back up now", request=BackupCreateSerializer,
                   responses={201: BackupSerializer, 503: BACKUP_FAILED},
                   description="Takes the backup in this request (and verifies it unless `verify` is false).")
    def post(self, request):
        form = BackupCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            backup = services.create_backup(content=form.validated_data["content"], user=request.user,
                                            verify=form.validated_data["verify"])
        except BackupError as exc:
            raise _backup_failed(exc) from exc
        return Response(BackupSerializer(backup).data, status=status.HTTP_201_CREATED)


class BackupListView(BackupAPIMixin, generics.ListAPIView):
    @extend_schema(summary="List backups", description="Newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BackupInfoView(BackupAPIMixin, generics.GenericAPIView):
    @extend_schema(summary="One backup (the newest without ?id=)", parameters=[BackupInfoQuerySerializer],
                   responses={200: BackupSerializer,
                              404: OpenApiResponse(ENVELOPE, description="NOT_FOUND: no such backup, or none yet.")})
    def get(self, request):
        query = BackupInfoQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "id" in query.validated_data:
            backup = get_object_or_404(queryset, pk=query.validated_data["id"])
        else:
            backup = queryset.first()
            if backup is None:
                raise APIError("NOT_FOUND", "No backup yet: take one with POST /api/v1/admin/backup/create/.",
                               status.HTTP_404_NOT_FOUND)
        return Response(BackupSerializer(backup).data)


class BackupVerifyView(BackupAPIMixin, generics.GenericAPIView):
    @extend_schema(summary="Verify a backup again", request=None, responses={200: BackupSerializer},
                   description="Restores it into a scratch database and compares tables, row counts and "
                               "primary-key checksums with the source at backup time; the result is stored.")
    def post(self, request, pk):
        backup = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(BackupSerializer(services.verify_backup(backup, user=request.user)).data)


class BackupRestoreView(BackupAPIMixin, generics.GenericAPIView):
    @extend_schema(summary="Restore a backup (replaces every row and file taken after it)",
                   request=BackupRestoreSerializer,
                   responses={200: RestoreResultSerializer, 404: OpenApiResponse(ENVELOPE, description="NOT_FOUND."),
                              503: OpenApiResponse(ENVELOPE, description=(
                                  "BACKUP_FAILED: the restore failed; details.rolled_back says whether the data "
                                  "was put back from the safety backup (details.safety_backup)."))},
                   description="Refused with a 400 at `backup`: a file that does not match its SHA-256, a backup "
                               "of another database vendor, or one from a newer schema than this code. Takes a "
                               "safety backup first and keeps the site in maintenance mode while it runs.")
    def post(self, request):
        form = BackupRestoreSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        backup = get_object_or_404(self.get_queryset(), pk=form.validated_data["id"])
        try:
            safety = services.restore_backup(backup, request.user)
        except BackupError as exc:
            raise _backup_failed(exc) from exc
        restored = Backup.objects.get(pk=backup.pk)
        return Response({"restored": BackupSerializer(restored).data, "safety_backup": BackupSerializer(safety).data})


class AdminOnlyAPIView(RestrictedAPIMixin, APIView):
    """An endpoint about the whole system: JobStat's rule for Action.ADMIN (admins only)."""

    queryset = JobStat.objects.all()
    permission_action = Action.ADMIN


class SystemHealthView(AdminOnlyAPIView):
    @extend_schema(summary="Health, maintenance, backup freshness, job statistics and breakers in one answer",
                   responses=SystemHealthSerializer)
    def get(self, request):
        data = {"health": current_health(), "maintenance": maintenance.status(), "backup": services.freshness(),
                "jobs": JobStat.objects.all(), "breakers": breakers.all_breakers(request.user)}
        return Response(SystemHealthSerializer(data).data)


class JobStatsResetView(AdminOnlyAPIView):
    @extend_schema(summary="Reset job statistics (one job or all)", request=ResetStatsSerializer,
                   responses=ResetStatsResultSerializer)
    def post(self, request):
        form = ResetStatsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return Response({"reset": jobs.reset_stats(form.validated_data.get("name"), by_user=request.user)})
