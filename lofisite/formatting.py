"""How numbers read across the product (pages, admin, commands); imports no app.

The `ui` template library (lofisite/templatetags/ui.py) and the pipeline's template
tags expose these as filters; the management commands print with the compact forms.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


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


def format_compact_duration(seconds) -> str:
    """The terminal's duration: 30 -> '30s', 605 -> '10m05s', 3720 -> '1h02m'; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_bytes(size) -> str:
    """The terminal's file size in powers of ten: 512 -> '512 B', 1_500_000 -> '1.5 MB'; '-' when unknown."""
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return "-"


CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def format_money(amount, currency="") -> str:
    """A sum of money with its currency: (Decimal('1234.5'), 'EUR') -> '€1,234.50', -3 GBP -> '-£3.00',
    (12, 'PLN') -> '12.00 PLN'; '–' when there is no amount."""
    if amount is None or amount == "":
        return "–"
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return "–"
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency}".rstrip()
