"""What the photo templates show of the settings (limits) and the accepted types."""

from django import template
from django.conf import settings

from ..choices import EDITABLE_STATUSES
from ..models import Listing
from ..photos import ACCEPTED_TEXT

register = template.Library()


@register.simple_tag
def photo_limits():
    return {"max": settings.VINTED_PHOTOS_MAX, "max_mb": settings.VINTED_PHOTO_MAX_MB,
            "bulk_max": settings.VINTED_BULK_PHOTOS_MAX, "types": ACCEPTED_TEXT,
            "megapixels": settings.VINTED_PHOTO_MAX_MEGAPIXELS}


@register.simple_tag(takes_context=True)
def photos_editable(context, listing) -> bool:
    """Whether to offer upload, order and delete: the user may change the listing (the queryset
    rule) and its status still allows edits (the service refuses them otherwise)."""
    user = context.get("user") or context["request"].user
    return listing.status in EDITABLE_STATUSES and Listing.objects.permits(user, listing, "change")
