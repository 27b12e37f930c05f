"""What the photo templates show of the settings (limits) and the accepted types."""

from django import template
from django.conf import settings

from ..photos import ACCEPTED_TEXT

register = template.Library()


@register.simple_tag
def photo_limits():
    return {"max": settings.VINTED_PHOTOS_MAX, "max_mb": settings.VINTED_PHOTO_MAX_MB,
            "bulk_max": settings.VINTED_BULK_PHOTOS_MAX, "types": ACCEPTED_TEXT,
            "megapixels": settings.VINTED_PHOTO_MAX_MEGAPIXELS}
