"""What the AI draft panels need, loaded by the panels themselves (they are included in pages
that other parts of the desk own, with only `listing` or `batch` in their context):

    {% load vinted_drafts %}{% draft_panel listing %}
    {% batch_state batch as state %}
"""

from django import template

from accounts.roles import Action
from lofisite.formatting import format_percent
from monitoring import ai

from ..models import DraftBatch, Listing
from ..services import drafts

register = template.Library()

register.filter("percent", format_percent)

# One colour per status across the product (static/css/app.css .badge-*).
_BADGE = {"queued": "queued", "running": "running", "succeeded": "succeeded", "ok": "succeeded",
          "partial": "warning", "failed": "failed"}


@register.filter
def draft_badge(status):
    return f"badge badge-{_BADGE.get(str(status), 'queued')}"


def _user(context):
    return context.get("user") or context["request"].user


@register.inclusion_tag("vinted/_draft_panel.html", takes_context=True)
def draft_panel(context, listing):
    user = _user(context)
    request = context.get("request")
    return {
        "listing": listing,
        "can_change": Listing.objects.permits(user, listing, Action.CHANGE),
        "draft": drafts.last_draft(listing),
        "needs_user": drafts.field_labels(drafts.needs_user(listing)),
        "edited": drafts.field_labels(drafts.edited_draft_fields(listing)),
        "has_photos": drafts.draftable_photos(listing).exists(),
        "ai_enabled": ai.ai_enabled(),
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def batch_state(context, batch):
    """The batch's items (with the listings the user may see), whether it is still running, and
    whether the user may draft all of it now."""
    user = _user(context)
    active = batch.status in drafts.ACTIVE_BATCH_STATUSES and bool(batch.results)
    can_change = DraftBatch.objects.permits(user, batch, Action.CHANGE)
    draftable = drafts.batch_listings(user, batch, Action.CHANGE).count() if can_change else 0
    return {
        "items": drafts.batch_items(user, batch),
        "active": active,
        "progress": drafts.batch_progress(batch),
        "draftable": draftable,
        "can_draft": can_change and not active and draftable > 0,
    }
