"""Shared UI components for every app's templates: durations, sortable headers, progress tones.

Imports no domain app (lofisite helpers sit below every app), so monitoring,
pipeline and vinted templates all format things the same way::

    {% load ui %}
    {{ 4500|duration }}                      -> 1:15:00
    {% sort_header "Created" "created" %}
        -> <th scope="col" aria-sort="none"><a href="?ordering=created">Created</a></th>
    {% include "_progress.html" with value=run.progress tone=run.status label="Progress" %}
"""

from django import template
from django.utils.html import format_html

from lofisite.formatting import format_duration, format_money, format_percent, format_short_duration
from lofisite.sorting import sort_link

register = template.Library()


@register.filter
def duration(seconds):
    """Seconds as h:mm:ss (m:ss under an hour), the one duration format of the product."""
    return format_duration(seconds)


@register.filter
def short_duration(seconds):
    """Like `duration`, with tenths under a minute: 0.42 -> '0.4 s', 75 -> '1:15'."""
    return format_short_duration(seconds)


@register.filter
def percent(fraction):
    """A 0..1 fraction as a whole percentage: 0.5025 -> '50%'."""
    return format_percent(fraction)


@register.filter
def payload_items(payload):
    """An event payload as (label, value) pairs: `elapsed_s` -> ('Elapsed', '1:15:00').

    Keys ending in `_s` hold seconds by the house convention and are shown as
    durations; other values are shown as they are.
    """
    if not isinstance(payload, dict):
        return []
    items = []
    for key, value in payload.items():
        label = str(key)
        if label.endswith("_s") and isinstance(value, (int, float)) and not isinstance(value, bool):
            label, value = label[:-2], format_duration(value)
        items.append((label.replace("_", " ").capitalize(), value))
    return items


@register.simple_tag(takes_context=True)
def sort_header(context, label, key, default="-created"):
    """A `<th>` that sorts by `key` (the filterset's public ordering name).

    Clicking toggles ascending/descending, keeps the other query parameters
    and goes back to page 1; `aria-sort` on the header says the current state.
    """
    state, url = sort_link(context["request"], key, default)
    return format_html('<th scope="col" aria-sort="{}"><a href="{}">{}</a></th>', state, url, label)


@register.filter
def money(amount, currency=""):
    """{{ figures.profit|money:figures.currency }} -> €53.50 (lofisite.formatting.format_money)."""
    return format_money(amount, currency)
