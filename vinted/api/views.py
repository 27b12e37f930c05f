"""The Vinted API's listing endpoint (the drafting work's minimal version, so that its `draft`
action has a home; the listings work owns the full CRUD viewset)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from accounts.api.viewsets import BaseViewSet

from ..models import Listing
from .draft import ListingDraftActions
from .serializers import ListingSerializer


@extend_schema_view(list=extend_schema(summary="List listings"), retrieve=extend_schema(summary="A listing"))
class ListingViewSet(ListingDraftActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Your listings (operators), everyone's (viewers read, admins change)."""

    queryset = Listing.objects.select_related("owner")
    serializer_class = ListingSerializer
