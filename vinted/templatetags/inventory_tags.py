"""Template helpers of the inventory page."""

from django import template

from ..choices import ListingStatus

register = template.Library()

# One colour per status across the product (ARCHITECTURE "UI conventions").
_BADGE = {
    ListingStatus.DRAFT: "queued",
    ListingStatus.READY: "running",
    ListingStatus.PREPARING: "running",
    ListingStatus.PREPARED: "running",
    ListingStatus.PUBLISHING: "running",
    ListingStatus.PUBLISHED: "succeeded",
    ListingStatus.FAILED: "failed",
    ListingStatus.SOLD: "succeeded",
    ListingStatus.ARCHIVED: "archived",
}


@register.filter
def listing_badge(status):
    """The CSS class of a listing status badge: `badge badge-<colour>`."""
    return f"badge badge-{_BADGE.get(status, 'queued')}"
