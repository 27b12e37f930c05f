"""Publishing actions on the listings API: prepare, publication, confirm, publish (vinted.services.publishing).

- `POST .../{id}/prepare/` {account} -> 202 the new publication (its prepare job queued).
- `GET .../{id}/publication/` -> the listing's current publication: status, the values and photo hashes
  read back from Vinted's form, the screenshot's URL, the job's progress. Publications are private to
  the listing's owner (and admins): anyone else gets a 404, as for a listing that is not theirs.
- `POST .../{id}/confirm/` -> {token, expires_at, snapshot}: the signed, time-limited confirmation.
- `POST .../{id}/publish/` {token} + header `Idempotency-Key` (required) -> 202 the publication; the
  same key again answers the same publication without a second publish.

Refusals use the one envelope: 400 for bad input (VALIDATION_ERROR per field, NOT_READY with
details.fields, CONFIRMATION_INVALID, CONFIRMATION_EXPIRED, IDEMPOTENCY_KEY_REQUIRED / _INVALID), 409 when the state
does not allow it (ALREADY_PUBLISHED, BUSY, DRY_RUN, LISTING_CHANGED, NOT_PREPARED, SUPERSEDED,
ACCOUNT_UNAVAILABLE, IDEMPOTENCY_KEY_REUSED).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import Action
from lofisite.errors import APIError
from lofisite.openapi import ERROR_SCHEMA

from ..models import Publication, VintedAccount
from ..services import publishing
from .publishing_serializers import (
    IDEMPOTENCY_HELP,
    ConfirmAnswerSerializer,
    PrepareRequestSerializer,
    PublicationSerializer,
    PublishRequestSerializer,
)

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
REFUSED_409 = OpenApiResponse(ERROR_ENVELOPE, description=(
    "The listing's state does not allow it: ALREADY_PUBLISHED, BUSY (preparing or publishing now), DRY_RUN (the "
    "account stops after prepare), LISTING_CHANGED (edited since prepare: prepare again), NOT_PREPARED, "
    "SUPERSEDED, ACCOUNT_UNAVAILABLE, IDEMPOTENCY_KEY_REUSED."))


def refused(exc: publishing.PublishRefused) -> APIError:
    return APIError(exc.code, exc.message, exc.http_status, exc.details)


def _publication_of(view, listing) -> Publication:
    """The listing's current publication if this user may see it (owner-only), else a 404."""
    publication = publishing.current_publication(listing)
    if publication is None or not Publication.objects.permits(view.request.user, publication, Action.VIEW):
        raise APIError("NOT_FOUND", "This listing has not been prepared for Vinted yet.", status.HTTP_404_NOT_FOUND)
    return publication


def _answer(publication, status_code=status.HTTP_200_OK, headers=None):
    publication = Publication.objects.select_related("account", "prepare_job", "publish_job").get(pk=publication.pk)
    return Response(PublicationSerializer(publication).data, status=status_code, headers=headers)


class ListingPublishingActions:
    """Mixed into vinted.api.views.ListingViewSet."""

    @extend_schema(
        summary="Prepare the listing on Vinted (fill the form, screenshot, stop before submitting)",
        description="Queues the prepare job: Chromium opens the account's new-item page with its session, uploads "
                    "the photos in order, fills every field, reads the values back and takes a screenshot. Follow "
                    "it with `GET .../publication/`. A new prepare replaces an earlier one.",
        request=PrepareRequestSerializer,
        responses={202: PublicationSerializer,
                   400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR (details.fields.account), "
                                                                    "or NOT_READY with details.fields."),
                   409: REFUSED_409},
    )
    @action(detail=True, methods=["post"])
    def prepare(self, request, pk=None):
        listing = self.get_object()
        body = PrepareRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account_id = body.validated_data.get("account")
        if account_id is None:
            account = publishing.default_account(listing)
        else:
            account = VintedAccount.objects.restrict(request.user, Action.CHANGE).filter(pk=account_id).first()
            if account is None:
                raise APIError("VALIDATION_ERROR", "Some fields are invalid.",
                               details={"fields": {"account": ["No such Vinted account of yours."]}})
        try:
            publication = publishing.request_prepare(listing, account, by_user=request.user)
        except publishing.PublishRefused as exc:
            raise refused(exc) from exc
        return _answer(publication, status.HTTP_202_ACCEPTED)

    @extend_schema(summary="The listing's current publication (status, read-back values, screenshot, progress)",
                   responses={200: PublicationSerializer,
                              404: OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: not prepared yet, "
                                                                               "or not yours.")})
    @action(detail=True, methods=["get"])
    def publication(self, request, pk=None):
        return _answer(_publication_of(self, self.get_object()))

    @extend_schema(
        summary="Confirm the prepared snapshot: a signed, time-limited token to publish it",
        description="The token is bound to the snapshot's hash; editing the listing, or preparing it again, makes "
                    "it useless. Refused for a dry-run account.",
        request=None,
        responses={200: ConfirmAnswerSerializer,
                   404: OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: not prepared yet, or not yours."),
                   409: REFUSED_409},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        publication = _publication_of(self, self.get_object())
        try:
            token, expires_at = publishing.issue_confirm_token(publication, by_user=request.user)
        except publishing.PublishRefused as exc:
            raise refused(exc) from exc
        return Response(ConfirmAnswerSerializer({
            "publication": publication.pk, "token": token, "expires_at": expires_at,
            "snapshot": {"values": publication.snapshot.get("values", {}),
                         "photo_hashes": publication.snapshot.get("photo_hashes", [])}}).data)

    @extend_schema(
        summary="Publish the confirmed snapshot",
        description="Queues the publish job: it fills the form from the snapshot, reads it back and compares "
                    "before submitting (any difference aborts; nothing is submitted), then records Vinted's item "
                    "id and URL. " + IDEMPOTENCY_HELP,
        request=PublishRequestSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                                     description=IDEMPOTENCY_HELP)],
        responses={202: PublicationSerializer,
                   400: OpenApiResponse(ERROR_ENVELOPE, description="IDEMPOTENCY_KEY_REQUIRED or _INVALID, "
                                                                    "CONFIRMATION_INVALID, CONFIRMATION_EXPIRED, or "
                                                                    "VALIDATION_ERROR (details.fields.token)."),
                   404: OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: not prepared yet, or not yours."),
                   409: REFUSED_409},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        listing = self.get_object()
        body = PublishRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "")
        try:
            key = publishing.clean_idempotency_key(key)
            earlier = Publication.objects.filter(idempotency_key=key, listing=listing).first()
            publication = earlier or _publication_of(self, listing)
            answered = publishing.request_publish(publication, body.validated_data["token"], key,
                                                  by_user=request.user)
        except publishing.PublishRefused as exc:
            raise refused(exc) from exc
        return _answer(answered, status.HTTP_202_ACCEPTED,
                       {"Idempotent-Replayed": "true"} if earlier is not None else None)
