"""API of the price drops (part 3), under /api/v1/vinted/:

- `price-rules/`: CRUD of the rules (filters `account`, `listing`). Owner-only like the accounts: each
  seller sees and changes the rules of their own accounts (admins all); someone else's is a 404. A rule
  is for an account (`account`) and optionally one listing of it (`listing`; empty: the account's
  default). Exactly one of `percent` (0 < p < 100) / `amount` (> 0); `after_days`, `every_days` 1..3650
  (`services.MAX_DAYS`, checked by `services.clean_rule` like the form's); `floor`, `margin_percent` >= 0.
  A second default of an account, or a second rule of one listing, is 400 at `listing`.
  `account` and `listing` cannot change afterwards (delete and add instead).
- `price-changes/`: a listing's price history (filter `listing`), read-only; whoever sees the listing
  sees its history.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from accounts.roles import Action

from ..forms_price_rules import PriceChangeFilterSet, PriceRuleFilterSet
from ..models import Listing, PriceChange, PriceDropRule, VintedAccount
from ..services import price_drops as services
from .serializers import MoneyField

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
FIELD_ERRORS = OpenApiResponse(ENVELOPE, description="VALIDATION_ERROR with `details.fields`.")


class PriceRuleSerializer(serializers.ModelSerializer):
    account_label = serializers.CharField(source="account.label", read_only=True)
    summary = serializers.SerializerMethodField(help_text='e.g. "-10 % every 7 days after 7 days".')

    class Meta:
        model = PriceDropRule
        fields = ["id", "account", "account_label", "listing", "after_days", "every_days", "percent", "amount",
                  "floor", "margin_percent", "is_active", "summary", "created_at", "updated_at"]
        read_only_fields = fields

    def get_summary(self, rule) -> str:
        return services.describe(rule)


@extend_schema_field(OpenApiTypes.INT)
class _UserRows(serializers.PrimaryKeyRelatedField):
    """An id among the rows the request's user may change (others read as "does not exist")."""

    def __init__(self, model, **options):
        self.model = model
        super().__init__(**options)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return self.model.objects.none()
        return self.model.objects.restrict(request.user, Action.CHANGE)


def _amount(**options):
    return MoneyField(required=False, allow_null=True, **options)


class PriceRuleUpdateSerializer(serializers.Serializer):
    after_days = serializers.IntegerField(required=False, min_value=1, max_value=services.MAX_DAYS,
                                          help_text="Days without a sale before the first drop.")
    every_days = serializers.IntegerField(required=False, min_value=1, max_value=services.MAX_DAYS,
                                          help_text="Days between two drops.")
    percent = _amount(help_text="Lower by this percentage (0 < p < 100); or give `amount`.")
    amount = _amount(help_text="Lower by this amount; or give `percent`.")
    floor = _amount(help_text="Never below this (nor below the listing's minimum price).")
    margin_percent = _amount(help_text="Never below the purchase cost plus this margin (%).")
    is_active = serializers.BooleanField(required=False)


class PriceRuleCreateSerializer(PriceRuleUpdateSerializer):
    account = _UserRows(VintedAccount, help_text="One of your Vinted accounts.")
    listing = _UserRows(Listing, required=False, allow_null=True,
                        help_text="A listing of that account; empty: the account's default rule.")


class PriceChangeSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", read_only=True, allow_null=True,
                               help_text="Who changed it by hand; null for an automatic drop.")

    class Meta:
        model = PriceChange
        fields = ["id", "listing", "rule", "reason", "old_price", "new_price", "by", "at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List price drop rules", description="Of your accounts; filter account, listing."),
    retrieve=extend_schema(summary="A price drop rule"),
    destroy=extend_schema(summary="Delete a price drop rule", responses={204: OpenApiResponse(description="Deleted.")}),
)
class PriceRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, BaseViewSet):
    queryset = PriceDropRule.objects.select_related("account")
    serializer_class = PriceRuleSerializer
    filterset_class = PriceRuleFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def answer(self, rule, status_code=status.HTTP_200_OK):
        rule = PriceDropRule.objects.select_related("account").get(pk=rule.pk)
        return Response(PriceRuleSerializer(rule, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(summary="Add a price drop rule", request=PriceRuleCreateSerializer,
                   responses={201: PriceRuleSerializer, 400: FIELD_ERRORS})
    def create(self, request, *args, **kwargs):
        body = PriceRuleCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        account, listing = fields.pop("account"), fields.pop("listing", None)
        rule = services.create_rule(request.user, account, listing=listing, **fields)
        return self.answer(rule, status.HTTP_201_CREATED)

    @extend_schema(summary="Change a price drop rule", request=PriceRuleUpdateSerializer,
                   responses={200: PriceRuleSerializer, 400: FIELD_ERRORS})
    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        body = PriceRuleUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        return self.answer(services.update_rule(request.user, rule, **body.validated_data))

    def perform_destroy(self, instance):
        services.delete_rule(self.request.user, instance)


@extend_schema_view(
    list=extend_schema(summary="Price history", description="Newest first; filter `listing`."),
    retrieve=extend_schema(summary="One price change"),
)
class PriceChangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    queryset = PriceChange.objects.select_related("by")
    serializer_class = PriceChangeSerializer
    filterset_class = PriceChangeFilterSet


def register(router) -> None:
    """Add this module's viewsets to the API router (lofisite.api_urls)."""
    router.register("vinted/price-rules", PriceRuleViewSet, basename="vinted-price-rule")
    router.register("vinted/price-changes", PriceChangeViewSet, basename="vinted-price-change")
