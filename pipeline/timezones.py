"""The time zones a schedule may use: tzdata's IANA names, matched whatever the case.

A folder of tzdata (`America`, `Europe`) or a path is not a zone: only names from
`zoneinfo.available_timezones()` are, so nothing typed reaches the file system.
"""

import functools
import zoneinfo


@functools.cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in timezone_names()}


def canonical_timezone(value) -> str | None:
    """'europe/paris ' -> 'Europe/Paris'; None when it names no zone."""
    if not isinstance(value, str):
        return None
    return _by_folded_name().get(value.strip().casefold())


def unknown_timezone_message(value) -> str:
    return f"Unknown time zone {str(value).strip()!r}: choose a name such as Europe/Paris, America/New_York or UTC."
