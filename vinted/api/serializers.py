"""Serializers of the Vinted API (the drafting work's minimal listing serializer; the listings
work owns the full one)."""

from rest_framework import serializers

from ..models import Listing


class ListingSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Listing
        fields = ["id", "owner", "status", "title", "price", "currency", "ai_model", "ai_drafted_at",
                  "created_at", "updated_at"]
        read_only_fields = fields
