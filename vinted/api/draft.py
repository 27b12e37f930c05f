"""The listing endpoint's `draft` action (a mixin of ListingViewSet), and what the AI draft
answers share on the API: its request and answer serializers, and the gateway's errors in the
one envelope.

AI errors (lofisite.errors envelope):
- 402 AI_BUDGET_EXCEEDED: this month's AI budget is spent; nothing was sent or changed
  (details: spent_usd, budget_usd). 402 "Payment Required" says what is missing (money, not a
  slower pace: a 429 would invite retrying, which cannot help before the budget resets).
- 503 AI_UNAVAILABLE: the AI service is briefly away (timeout, its 5xx or 429, our breaker
  open); nothing changed; details.retry_after_seconds when known.
- 502 AI_BAD_ANSWER: the AI service answered, but not usable JSON, or refused the request; its
  cost is in the ledger, nothing changed.
"""

import math

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from lofisite.errors import APIError
from lofisite.openapi import ERROR_SCHEMA
from monitoring import ai

from ..drafting import DRAFT_FIELDS
from ..models import Listing
from ..services import drafts

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
AI_ERROR_RESPONSES = {
    402: OpenApiResponse(ERROR_ENVELOPE, description="AI_BUDGET_EXCEEDED: your AI budget for this month is spent; "
                                                     "nothing was sent or changed (details: spent_usd, budget_usd)."),
    502: OpenApiResponse(ERROR_ENVELOPE, description="AI_BAD_ANSWER: the AI answer was not usable (or the service "
                                                     "refused the request); its cost is recorded, nothing changed."),
    503: OpenApiResponse(ERROR_ENVELOPE, description="AI_UNAVAILABLE: the AI service is briefly unavailable; nothing "
                                                     "changed. Try again later (details.retry_after_seconds)."),
}


def api_error_for(exc: ai.AIError) -> APIError:
    """A gateway error as the API answers it (see the module docstring)."""
    if isinstance(exc, ai.BudgetExceeded):
        return APIError("AI_BUDGET_EXCEEDED", str(exc), status.HTTP_402_PAYMENT_REQUIRED,
                        {"spent_usd": str(exc.spent), "budget_usd": str(exc.budget)})
    if isinstance(exc, ai.AITransientError):
        details = {"retry_after_seconds": max(1, math.ceil(exc.retry_after))} if exc.retry_after else {}
        return APIError("AI_UNAVAILABLE", str(exc), status.HTTP_503_SERVICE_UNAVAILABLE, details)
    return APIError("AI_BAD_ANSWER", str(exc), status.HTTP_502_BAD_GATEWAY)


FIELD_CHOICES = list(DRAFT_FIELDS)


class DraftRequestSerializer(serializers.Serializer):
    overwrite = serializers.BooleanField(
        default=False, help_text="Also replace the fields you set yourself (by default a draft keeps them).")


class DraftResultSerializer(serializers.Serializer):
    listing_id = serializers.IntegerField()
    offline = serializers.BooleanField(help_text="No AI configured: only the colours were read from the pixels.")
    model = serializers.CharField(help_text="The AI model, or 'offline'.")
    filled = serializers.ListField(child=serializers.ChoiceField(FIELD_CHOICES), help_text="Fields this draft wrote.")
    kept = serializers.ListField(child=serializers.ChoiceField(FIELD_CHOICES),
                                 help_text="Fields you set yourself, which the draft left alone.")
    rejected = serializers.DictField(child=serializers.CharField(),
                                     help_text="Field -> why the AI's value could not be used (left for you).")
    needs_user = serializers.ListField(child=serializers.ChoiceField(FIELD_CHOICES),
                                       help_text="Fields the listing still lacks: fill them in.")
    cost_usd = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True,
                                        help_text="What this draft cost (USD), as in the AI ledger.")


class CatalogueRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    vinted_id = serializers.IntegerField()


class DraftedListingSerializer(serializers.ModelSerializer):
    """The fields a draft fills, and the AI's suggestion, as they are after the draft."""

    category = CatalogueRefSerializer(allow_null=True)
    brand = CatalogueRefSerializer(allow_null=True)
    size = CatalogueRefSerializer(allow_null=True)
    colours = CatalogueRefSerializer(many=True)
    hashtags = serializers.ListField(child=serializers.CharField())
    ai_confidence = serializers.DictField(child=serializers.FloatField(allow_null=True),
                                          help_text="Per field the last draft wrote: 0 to 1 (null: not given).")
    ai_rejected = serializers.DictField(child=serializers.CharField())
    edited_fields = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Listing
        fields = ["id", "status", "title", "description", "category", "brand", "no_brand", "size", "condition",
                  "colours", "price", "currency", "hashtags", "ai_price_min", "ai_price_target", "ai_price_max",
                  "ai_confidence", "ai_model", "ai_drafted_at", "ai_cost_usd", "ai_rejected", "edited_fields"]
        read_only_fields = fields


class DraftAnswerSerializer(serializers.Serializer):
    result = DraftResultSerializer()
    listing = DraftedListingSerializer()


class ListingDraftActions:
    """Mixin of the listings viewset: POST /vinted/listings/{id}/draft/."""

    @extend_schema(
        summary="Draft the listing from its photos with AI",
        description="Fills the listing's fields from its photos (AI vision model with structured output). "
                    "Each field of the answer is checked on its own: valid ones are written, invalid ones are "
                    "named in `result.rejected` and left for you. Fields you set yourself are kept unless "
                    "`overwrite` is true. Without an AI key only the colours are read from the pixels "
                    "(`result.offline`), and `result.needs_user` lists the rest. A listing that was ready goes "
                    "back to draft when a field changes.",
        request=DraftRequestSerializer,
        responses={200: DraftAnswerSerializer,
                   400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: no photo yet (field "
                                                                    "`photos`), or the listing's status cannot "
                                                                    "be drafted (published, sold, ...)."),
                   **AI_ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def draft(self, request, pk=None):
        listing = self.get_object()
        options = DraftRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        try:
            result = drafts.draft_listing(request.user, listing, overwrite=options.validated_data["overwrite"])
        except ai.AIError as exc:
            raise api_error_for(exc) from exc
        listing = (Listing.objects.restrict(request.user).select_related("category", "brand", "size")
                   .prefetch_related("colours").get(pk=listing.pk))
        return Response({"result": DraftResultSerializer(result).data,
                         "listing": DraftedListingSerializer(listing).data})
