"""`GET /api/v1/admin/export/`: the database as a JSON or SQL download (admins only).

The rule is the site administration's (`User.objects.model_permits(user, "admin")`, as the
Django admin asks it): an export holds every user's rows, password hashes included. The
file is streamed in batches (monitoring.backups.export); bad input is a 400 before any byte
is sent, and so is a pg_dump that cannot run (503).
"""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.views import APIView

from accounts.api.viewsets import RestrictedAPIMixin
from accounts.models import User
from accounts.roles import Action
from lofisite.api_files import ErrorEnvelope, FileNegotiation
from lofisite.errors import APIError

from ..backups import export
from ..backups.tables import model_labels

CONTENT_TYPES = {"json": "application/json", "sql": "application/sql"}


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=export.FORMATS, default="json")
    models = serializers.ListField(child=serializers.CharField(), required=False, default=list)


ExportedObjects = inline_serializer("ExportedObject", many=True, fields={
    "model": serializers.CharField(help_text="app_label.modelname"),
    "pk": serializers.JSONField(help_text="The row's primary key."),
    "fields": serializers.DictField(help_text="Column values; foreign keys as natural keys where the target "
                                              "model has one; secrets as their ciphertext."),
})


def _parameters():
    return [
        OpenApiParameter("format", OpenApiTypes.STR, enum=export.FORMATS, default="json",
                         description="json: Django's serialization (load with `manage.py loaddata`); sql: the "
                                     "database vendor's own SQL (SQLite dump or pg_dump plain), for an empty "
                                     "database of that vendor."),
        OpenApiParameter("models", {"type": "array", "items": {"type": "string", "enum": model_labels()}},
                         explode=True,
                         description="Only these models (app_label.ModelName) or whole apps (app_label), "
                                     "repeated: `?models=pipeline&models=vinted.Listing`. Default: every model "
                                     "(content types and permissions left out: migrate makes them)."),
    ]


class ExportView(RestrictedAPIMixin, APIView):
    queryset = User.objects.all()
    permission_action = Action.ADMIN  # the whole database, every user's rows: the site's administration
    content_negotiation_class = FileNegotiation

    @extend_schema(
        operation_id="admin_export",
        summary="Export the database (admins only)",
        description="A streamed download: JSON (Django's serialization, models in dependency order, rows in "
                    "primary-key order) or SQL for the database's own vendor. Secrets stay encrypted: "
                    "encrypted columns hold their ciphertext. Headers: Content-Disposition (attachment; "
                    "filename=lofisite-export-YYYYMMDD-HHMMSS.json|sql).",
        parameters=_parameters(),
        responses={
            (200, "application/json"): OpenApiResponse(ExportedObjects,
                                                       description="format=json: the rows as Django's "
                                                                   "serialization."),
            (200, "application/sql"): OpenApiResponse(OpenApiTypes.BINARY, description="format=sql: a SQL "
                                                      "script in the database vendor's dialect."),
            400: OpenApiResponse(ErrorEnvelope, description="VALIDATION_ERROR at `format` or `models` "
                                                            "(a name that is no model or app here)."),
            503: OpenApiResponse(ErrorEnvelope, description="EXPORT_UNAVAILABLE: pg_dump is missing or older "
                                                            "than the server (the message names both and the "
                                                            "package to install)."),
        },
    )
    def get(self, request):
        # An empty value is "not given", as for every query parameter here (lofisite.openapi).
        query = ExportQuerySerializer(data={"format": request.query_params.get("format") or "json",
                                            "models": [name for name in request.query_params.getlist("models")
                                                       if name]})
        query.is_valid(raise_exception=True)
        fmt, models = query.validated_data["format"], query.validated_data["models"]
        try:
            chunks = export.open_export(fmt=fmt, models=models)
        except export.ExportInputError as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from exc
        except export.ExportError as exc:
            raise APIError("EXPORT_UNAVAILABLE", str(exc), status.HTTP_503_SERVICE_UNAVAILABLE) from exc
        response = StreamingHttpResponse(chunks, content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.file_name(fmt, timezone.now())}"'
        return response
