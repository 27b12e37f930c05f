"""Small display helpers for the pipeline templates.

The number formats are `lofisite.formatting`'s (the same as the `ui` library's
`duration`, `short_duration` and `percent` filters), registered under the names
the pipeline templates use.
"""

from django import template

from lofisite.formatting import format_duration, format_percent, format_short_duration

register = template.Library()

# The pipeline templates' names for lofisite's formats, registered as they are:
# hms 4500 -> '1:15:00', seconds 0.42 -> '0.4 s', percent 0.5025 -> '50%'.
register.filter("hms", format_duration)
register.filter("seconds", format_short_duration)
register.filter("percent", format_percent)

# One colour per status across the product (see static/css/app.css .badge-*).
_BADGE = {
    "pending": "queued",
    "queued": "queued",
    "running": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "skipped": "cancelled",
    "not_uploaded": "cancelled",
    "uploading": "running",
    "uploaded": "succeeded",
    "locked_private": "warning",
    "limit_exceeded": "warning",
    "quota_exceeded": "warning",
    "enabled": "succeeded",
    "disabled": "cancelled",
}


@register.filter
def preset_label(name):
    """'rainy-night' -> 'Rainy night' (the name itself when the preset is gone)."""
    from pipeline.engines.presets import PRESETS

    preset = PRESETS.get(name)
    return preset.label if preset else name


@register.filter
def badge(status):
    """The CSS class for a status: `badge badge-<colour>`."""
    return f"badge badge-{_BADGE.get(str(status), 'queued')}"
