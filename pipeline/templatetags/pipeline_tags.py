"""Small display helpers for the pipeline templates.

The number formats are `lofisite.formatting`'s (the same as the `ui` library's
`duration`, `short_duration` and `percent` filters); only the names differ.
"""

from django import template

from lofisite.formatting import format_duration, format_percent, format_short_duration

register = template.Library()

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
def hms(seconds):
    """Seconds as h:mm:ss (or m:ss under an hour); an empty string for None."""
    return format_duration(seconds)


@register.filter
def seconds(value):
    """A short duration: '0.4 s', '12.3 s', then m:ss / h:mm:ss."""
    return format_short_duration(value)


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


@register.filter
def percent(fraction):
    """A 0..1 fraction as a whole percentage: 0.5025 -> '50%'."""
    return format_percent(fraction)
