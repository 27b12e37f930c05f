"""DRF serializers of the Vinted listings and catalogue. Writes are checked here for shape (types,
the limits that are settings) and by vinted.services.listings / vinted.validation for meaning, so
the API and the pages give the same messages."""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from lofisite.fields import StrictCharField, StringOnlyModelSerializer

from ..choices import Condition, Currency, PackageSize
from ..models import Brand, Category, Colour, Listing, Size
from ..services.listings import BULK_ACTIONS

MONEY_PATTERN = r"^\d{1,8}(\.\d{1,2})?$"


class ListingSerializer(StringOnlyModelSerializer):
    """A listing as the listing page shows it. Catalogue fields are ids (see /vinted/catalogue/);
    `condition` is Vinted's status_id and `package_size` its package_size_id."""

    url = serializers.HyperlinkedIdentityField(view_name="api:vinted-listing-detail")
    owner = serializers.CharField(source="owner.username", read_only=True)
    colours = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    hashtags = serializers.ListField(child=serializers.CharField(), read_only=True,
                                     help_text="Without '#', lower case.")
    edited_fields = serializers.ListField(child=serializers.CharField(), read_only=True,
                                          help_text="Fields set by hand; an AI re-draft keeps them unless asked.")
    ai_confidence = serializers.DictField(child=serializers.FloatField(), read_only=True,
                                          help_text="Per field, 0 to 1.")
    ai_rejected = serializers.DictField(child=serializers.CharField(), read_only=True,
                                        help_text="Fields the last AI draft could not fill, with the reason.")
    profit = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True,
                                      help_text="Sale price minus fees minus purchase cost; null until sold.")
    days_to_sell = serializers.IntegerField(read_only=True, allow_null=True)
    vinted_url = serializers.CharField(read_only=True, help_text="The item on Vinted; empty until published.")

    class Meta:
        model = Listing
        fields = ["id", "url", "owner", "status", "title", "description", "category", "brand", "no_brand", "size",
                  "condition", "colours", "price", "min_price", "measurements", "currency", "package_size",
                  "hashtags", "ai_price_min", "ai_price_target", "ai_price_max", "ai_confidence", "ai_model",
                  "ai_drafted_at", "ai_rejected", "edited_fields", "batch", "vinted_item_id", "vinted_url",
                  "purchase_cost", "purchase_date", "source", "sku", "storage_location",
                  "sale_price", "sale_fees", "profit", "days_to_sell",
                  "created_at", "updated_at", "ready_at", "listed_at", "sold_at"]
        read_only_fields = fields


@extend_schema_field({"type": "string", "pattern": MONEY_PATTERN, "example": "25.00"})
class MoneyField(serializers.DecimalField):
    """An amount as a string ("25.00"), as answers give it: the schema says string, so a JSON number is
    refused instead of being taken silently; no sign, at most 2 decimals."""

    default_error_messages = {"not_a_string": 'Give the amount as a string, e.g. "25.00".'}

    def __init__(self, **options):
        super().__init__(max_digits=10, decimal_places=2, **options)

    def run_validation(self, data=serializers.empty):
        if data == "":  # DRF would read "" as null; the schema's pattern says it is not an amount
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


def _money(**options):
    return MoneyField(required=False, allow_null=True, **options)


class ListingWriteSerializer(serializers.Serializer):
    """Any subset of a listing's fields (a draft saves with any of them; only "ready" demands all)."""

    title = StrictCharField(required=False, allow_blank=True, max_length=settings.VINTED_TITLE_MAX_CHARS)
    description = StrictCharField(required=False, allow_blank=True,
                                  max_length=settings.VINTED_DESCRIPTION_MAX_CHARS)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.filter(is_active=True),
                                                  required=False, allow_null=True)
    brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.filter(is_active=True),
                                               required=False, allow_null=True)
    no_brand = serializers.BooleanField(required=False, help_text="The item has no brand.")
    size = serializers.PrimaryKeyRelatedField(queryset=Size.objects.filter(is_active=True),
                                              required=False, allow_null=True)
    condition = serializers.ChoiceField(choices=Condition.choices, required=False, allow_null=True,
                                        help_text="Vinted's status_id.")
    colours = serializers.PrimaryKeyRelatedField(queryset=Colour.objects.filter(is_active=True), many=True,
                                                 required=False, help_text="One or two colour ids.")
    price = _money(min_value=Decimal(settings.VINTED_PRICE_MIN))
    currency = serializers.ChoiceField(choices=Currency.choices, required=False)
    package_size = serializers.ChoiceField(choices=PackageSize.choices, required=False, allow_null=True,
                                           help_text="Vinted's package_size_id.")
    hashtags = serializers.ListField(child=StrictCharField(max_length=50), required=False,
                                     help_text=f"Up to {settings.VINTED_HASHTAGS_MAX} single words; '#' optional.")
    purchase_cost = _money(min_value=Decimal("0"))
    purchase_date = serializers.DateField(required=False, allow_null=True)
    source = StrictCharField(required=False, allow_blank=True, max_length=200)
    sku = StrictCharField(required=False, allow_blank=True, max_length=64)
    storage_location = StrictCharField(required=False, allow_blank=True, max_length=100)
    min_price = _money(min_value=Decimal("0"), help_text="The lowest price you accept (offers, the price drop "
                                                          "floor); not above the price.")
    measurements = StrictCharField(required=False, allow_blank=True, max_length=300,
                                   help_text="e.g. chest 52 cm, length 70 cm.")


class MarkSoldSerializer(serializers.Serializer):
    sale_price = MoneyField(min_value=Decimal("0"))
    sale_fees = _money(min_value=Decimal("0"), help_text="Fees and shipping the seller paid.")
    sold_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Now when left out.")


class ValidationReportSerializer(serializers.Serializer):
    ready = serializers.BooleanField(help_text="True when nothing blocks marking it ready.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Per field, what blocks 'ready'.")
    warnings = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                     help_text="Per field, worth a look; does not block.")


class BulkActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
                                min_length=1, max_length=500)


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    succeeded = serializers.ListField(child=serializers.IntegerField())
    failed = serializers.DictField(child=serializers.CharField(), help_text="Listing id -> why it was refused.")
    batch = serializers.IntegerField(allow_null=True, help_text="The draft batch of a re-draft, to follow.")


class CategorySerializer(serializers.ModelSerializer):
    needs_size = serializers.BooleanField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "vinted_id", "parent", "size_group", "needs_size", "is_active"]


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "vinted_id", "is_active"]


class SizeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Size
        fields = ["id", "name", "vinted_id", "group", "order", "is_active"]


class ColourSerializer(serializers.ModelSerializer):
    class Meta:
        model = Colour
        fields = ["id", "name", "vinted_id", "hex", "is_active"]


@extend_schema_serializer(many=False)  # the one answer of a `list` route, not a page of them
class CatalogueSerializer(serializers.Serializer):
    categories = CategorySerializer(many=True)
    brands = BrandSerializer(many=True)
    sizes = SizeSerializer(many=True)
    colours = ColourSerializer(many=True)
