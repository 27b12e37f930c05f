"""How numbers read across the product (pages, admin, commands); imports no app.

The `ui` template library (lofisite/templatetags/ui.py) exposes these as filters.
"""


def format_duration(seconds) -> str:
    """90 -> '1:30', 4500 -> '1:15:00'; '' for None or a value that is not a number."""
    try:
        seconds = int(round(float(seconds)))
    except (TypeError, ValueError):
        return ""
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return sign + (f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}")


def format_short_duration(seconds) -> str:
    """Like format_duration, with tenths under a minute: 0.42 -> '0.4 s', 75 -> '1:15'."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return ""
    return f"{value:.1f} s" if abs(value) < 60 else format_duration(value)


def format_percent(fraction) -> str:
    """A 0..1 fraction as a whole percentage: 0.5025 -> '50%'; '' when there is none."""
    try:
        return f"{float(fraction) * 100:.0f}%"
    except (TypeError, ValueError):
        return ""
