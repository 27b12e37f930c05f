"""The listing endpoint's `draft` action (a mixin of ListingViewSet), built by the drafting work."""


class ListingDraftActions:
    pass
