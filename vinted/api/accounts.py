"""The Vinted accounts API: accounts (never their secrets), session import (write-only), the ledger.

The base viewset restricts the queryset once per request: each user sees only their own accounts
(admins all); someone else's account is a 404. Choices where the issue is silent:

- `POST .../{id}/session/` and `POST .../{id}/check/` answer the account (200) with the status the
  check left: a session Vinted refuses is still a 200 whose `status` and `what_to_do` say so. When
  Vinted does not answer at all (timeouts, 5xx, 429, the breaker open) they answer 503
  VINTED_UNAVAILABLE; an imported session is kept then.
- `dry_run` in a PATCH is for admins only: anyone else gets 403 PERMISSION_DENIED and nothing of
  the PATCH is saved.
- DELETE of an account that publications refer to answers 409 CONFLICT.
- `GET .../{id}/ledger/` pages its calls with `limit`/`offset` like every list.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from accounts.roles import Action
from lofisite.errors import APIError
from lofisite.pagination import LimitOffsetPagination
from monitoring.jobs import TransientError

from .. import ledger
from ..models import VintedAccount, VintedCall
from ..services import accounts as services
from .account_serializers import (
    LedgerSerializer,
    SessionImportSerializer,
    VintedAccountCreateSerializer,
    VintedAccountSerializer,
    VintedAccountUpdateSerializer,
)

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
UNAVAILABLE = OpenApiResponse(ENVELOPE, description="VINTED_UNAVAILABLE: Vinted did not answer the check "
                                                    "(timeout, 5xx, 429 or the breaker is open); try again later.")
SESSION_ERROR = OpenApiResponse(ENVELOPE, description="VALIDATION_ERROR at `session`: empty, not a Cookie header "
                                                      "or cookie export, no access_token_web, or too long.")


def account_answer(view, account, status_code=status.HTTP_200_OK):
    account = view.get_queryset().get(pk=account.pk)
    data = VintedAccountSerializer(account, context=view.get_serializer_context()).data
    headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
    return Response(data, status=status_code, headers=headers)


def unavailable(exc) -> APIError:
    return APIError("VINTED_UNAVAILABLE", f"Vinted did not answer the check: {exc}",
                    status.HTTP_503_SERVICE_UNAVAILABLE)


# The ledger pages like every list: the same `limit` (at least 1; above API_MAX_PAGE_SIZE it is clamped, so the
# schema states no maximum) and `offset` (at least 0), from the paginator's own schema.
LEDGER_PAGE_PARAMETERS = [
    OpenApiParameter(parameter["name"], parameter["schema"], description=parameter["description"])
    for parameter in LimitOffsetPagination().get_schema_operation_parameters(None)
]


@extend_schema_view(
    list=extend_schema(summary="List Vinted accounts", description="Yours; an admin sees everyone's."),
    retrieve=extend_schema(summary="A Vinted account"),
)
@method_decorator(sensitive_post_parameters("session", "user_agent"), name="dispatch")  # error reports
class VintedAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Vinted accounts: label, site, status and the ledger; the session goes in and never comes out."""

    queryset = VintedAccount.objects.select_related("owner")
    serializer_class = VintedAccountSerializer
    filter_backends = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(summary="Add an account (no session yet, dry run on)", request=VintedAccountCreateSerializer,
                   responses={201: VintedAccountSerializer})
    def create(self, request, *args, **kwargs):
        serializer = VintedAccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.create_account(request.user, **serializer.validated_data)
        return account_answer(self, account, status.HTTP_201_CREATED)

    @extend_schema(summary="Change the label or site; admins also dry_run", request=VintedAccountUpdateSerializer,
                   responses={200: VintedAccountSerializer, 403: OpenApiResponse(
                       ENVELOPE, description="PERMISSION_DENIED: not your account to change, or `dry_run` "
                                             "sent by someone who is not an admin.")})
    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        serializer = VintedAccountUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        dry_run = data.pop("dry_run", None)
        with transaction.atomic():  # a refused dry_run keeps the label and site unchanged too
            if dry_run is not None:
                services.set_dry_run(account, dry_run, request.user)
            services.update_account(request.user, account, **data)
        return account_answer(self, account)

    @extend_schema(summary="Delete an account with its ledger and inbox", responses={
        204: OpenApiResponse(description="Deleted."),
        409: OpenApiResponse(ENVELOPE, description="CONFLICT: publications refer to this account.")})
    def destroy(self, request, *args, **kwargs):
        account = self.get_object()
        try:
            services.delete_account(account, request.user)
        except ValidationError as exc:
            raise APIError("CONFLICT", " ".join(exc.messages), status.HTTP_409_CONFLICT) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Import a session (write-only) and check it", request=SessionImportSerializer,
                   responses={200: VintedAccountSerializer, 400: SESSION_ERROR, 503: UNAVAILABLE})
    @action(detail=True, methods=["post"])
    def session(self, request, pk=None):
        account = self.get_object()
        serializer = SessionImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.import_session(account, serializer.validated_data["session"],
                                    user_agent=serializer.validated_data.get("user_agent", ""), by_user=request.user)
        except TransientError as exc:
            raise unavailable(exc) from exc
        return account_answer(self, account)

    @extend_schema(summary="Check the session now (one request to Vinted)", request=None,
                   responses={200: VintedAccountSerializer, 503: UNAVAILABLE})
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        account = self.get_object()
        try:
            services.check_session(account)
        except TransientError as exc:
            raise unavailable(exc) from exc
        return account_answer(self, account)

    @extend_schema(summary="Unblock a blocked or cooling-down account (admins)", request=None, responses={
        200: VintedAccountSerializer, 400: OpenApiResponse(description="VALIDATION_ERROR: it is not blocked."),
        403: OpenApiResponse(description="PERMISSION_DENIED: admins only."),
        404: OpenApiResponse(description="NOT_FOUND")})
    @action(detail=True, methods=["post"], permission_action=Action.ADMIN)
    def unblock(self, request, pk=None):
        account = services.unblock(self.get_object(), request.user)
        return account_answer(self, account)

    @extend_schema(summary="The risk ledger: last 24 h at a glance and the calls, newest first",
                   parameters=LEDGER_PAGE_PARAMETERS,
                   responses={200: LedgerSerializer})
    @action(detail=True, methods=["get"])
    def ledger(self, request, pk=None):
        account = self.get_object()
        calls = VintedCall.objects.restrict(request.user).filter(account=account)
        page = self.paginator.paginate_queryset(calls, request, view=self)
        return Response(LedgerSerializer({
            "summary": ledger.summary(account), "count": self.paginator.count,
            "next": self.paginator.get_next_link(), "previous": self.paginator.get_previous_link(),
            "calls": page}).data)
