"""Relist and sold actions on the listings API (vinted.services.relist)."""


class ListingRelistActions:
    """Mixed into vinted.api.views.ListingViewSet."""
