"""Publishing actions on the listings API: prepare, confirm, publish (vinted.services.publishing)."""


class ListingPublishingActions:
    """Mixed into vinted.api.views.ListingViewSet."""
