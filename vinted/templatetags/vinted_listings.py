"""Template helpers of the listing pages: status badges in the product's colours, problems per field."""

from django import template

register = template.Library()

# One colour per status across the product (static/css/app.css `.badge-*`): waiting grey, on its way
# blue, done green, failed red, archived muted.
_BADGE = {
    "draft": "queued",
    "ready": "running",
    "preparing": "running",
    "prepared": "running",
    "publishing": "running",
    "published": "succeeded",
    "sold": "succeeded",
    "failed": "failed",
    "archived": "archived",
}


@register.filter
def listing_badge(status):
    """The CSS class for a listing status: `badge badge-<colour>`."""
    return f"badge badge-{_BADGE.get(str(status), 'queued')}"


@register.filter
def problems(messages_by_field, name):
    """The messages of one field from a validation Report's errors or warnings."""
    return (messages_by_field or {}).get(name, [])
