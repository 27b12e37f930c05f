"""Serializers of the admin API (backups, system health, job statistics)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lofisite.fields import StrictBooleanField, StrictCharField

from ..choices import BackupContent
from ..models import Backup, JobStat
from .serializers import CircuitBreakerSerializer


class BackupFileSerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=["database", "media"], source="role", help_text="What the file holds.")
    name = serializers.CharField(help_text="The file's name in the backup storage.")
    size = serializers.IntegerField(help_text="Bytes as stored (encrypted, when encryption is on).")
    sha256 = serializers.CharField(help_text="SHA-256 of the stored bytes; a restore refuses a file that differs.")


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    tables = serializers.IntegerField(help_text="Tables compared in the scratch database.")
    rows = serializers.IntegerField(help_text="Rows compared in the scratch database.")
    media_files = serializers.IntegerField(required=False, help_text="Files read from the media archive.")
    differences = serializers.ListField(child=serializers.CharField(),
                                        help_text="What did not match the source at backup time; empty when ok.")
    seconds = serializers.FloatField()


class BackupSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    files = BackupFileSerializer(many=True, read_only=True)
    verification = serializers.SerializerMethodField()
    tables = serializers.SerializerMethodField()

    class Meta:
        model = Backup
        fields = ["id", "kind", "content", "status", "vendor", "server_version", "schema_version", "files", "size",
                  "sha256", "encrypted", "tables", "created_by", "started_at", "finished_at", "error",
                  "verification_status", "verification", "verified_at"]
        read_only_fields = fields

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, backup) -> dict | None:
        result = backup.verification_result
        if not result:
            return None
        return {"ok": bool(result.get("ok")), "tables": int(result.get("tables", 0)),
                "rows": int(result.get("rows", 0)),
                **({"media_files": int(result["media_files"])} if "media_files" in result else {}),
                "differences": [str(item) for item in result.get("differences", [])],
                "seconds": float(result.get("seconds", 0))}

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField(),
                                               help_text="Rows per table at backup time."))
    def get_tables(self, backup) -> dict:
        return {name: item["rows"] for name, item in backup.source_stats.get("tables", {}).items()}


class BackupCreateSerializer(serializers.Serializer):
    content = serializers.ChoiceField(choices=BackupContent.choices, default=BackupContent.DATABASE,
                                      help_text="What to back up.")
    verify = StrictBooleanField(default=True, help_text="Verify in a scratch database right away.")


class BackupRestoreSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The backup to restore.")
    confirm = StrictCharField(help_text='Must be exactly "restore backup <id>" (e.g. "restore backup 12"): '
                                              "a restore replaces every row and file taken after the backup.")

    def validate(self, data):
        if data["confirm"] != f"restore backup {data['id']}":
            raise serializers.ValidationError({"confirm": f'Type "restore backup {data["id"]}" to confirm.'})
        return data


class BackupInfoQuerySerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                  help_text="A backup's id; the newest backup without it.")


class RestoreResultSerializer(serializers.Serializer):
    restored = BackupSerializer()
    safety_backup = BackupSerializer(help_text="Taken (and verified) just before the restore.")


class JobStatSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobStat
        fields = ["name", "runs", "failures", "consecutive_failures", "total_duration_seconds", "last_status",
                  "last_error", "last_run_at", "last_success_at", "last_failure_at"]
        read_only_fields = fields


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "degraded", "unhealthy"])
    checks = serializers.DictField(child=serializers.CharField(), help_text='Check name: "OK" or what is wrong.')


class MaintenanceSerializer(serializers.Serializer):
    reason = serializers.CharField()
    since = serializers.CharField(allow_null=True)
    pid = serializers.IntegerField(allow_null=True)


class FreshnessSerializer(serializers.Serializer):
    last_success_at = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True)
    backup_id = serializers.IntegerField(allow_null=True)
    stale = serializers.BooleanField()


class SystemHealthSerializer(serializers.Serializer):
    health = HealthSerializer()
    maintenance = MaintenanceSerializer(allow_null=True, help_text="Null unless a restore is running.")
    backup = FreshnessSerializer(help_text="The newest successful database backup.")
    jobs = JobStatSerializer(many=True)
    breakers = CircuitBreakerSerializer(many=True)


class ResetStatsSerializer(serializers.Serializer):
    name = StrictCharField(required=False, max_length=100, help_text="One job's name; all jobs without it.")


class ResetStatsResultSerializer(serializers.Serializer):
    reset = serializers.IntegerField(help_text="How many jobs' counters were set to zero.")
