"""Template helpers of the inbox: the unread badge of the Vinted sub-navigation, message kinds and
delivery statuses in the product's badge colours."""

from django import template

from ..services.inbox import unread_total

register = template.Library()

# Kinds: a buyer's offer stands out (amber); Vinted's own status and action lines are muted.
_KIND_BADGE = {"offer_request_message": "warning", "status_message": "cancelled", "action_message": "cancelled"}
_STATUS_BADGE = {"sending": "running", "sent": "succeeded", "failed": "failed"}


@register.simple_tag(takes_context=True)
def inbox_unread(context) -> int:
    """Unread buyer messages in the signed-in user's own conversations (0 when signed out)."""
    request = context.get("request")
    if request is None:
        return 0
    if not hasattr(request, "_vinted_inbox_unread"):  # once per request, however many times it shows
        try:
            request._vinted_inbox_unread = unread_total(request.user)
        except Exception:  # a badge is decoration: never let it break a page
            request._vinted_inbox_unread = 0
    return request._vinted_inbox_unread


@register.filter
def message_kind_badge(kind):
    return f"badge badge-{_KIND_BADGE.get(str(kind), 'queued')}"


@register.filter
def reply_badge(status):
    return f"badge badge-{_STATUS_BADGE.get(str(status), 'queued')}"
