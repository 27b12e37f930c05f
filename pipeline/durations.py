"""Durations as people write and read them: "1:30", "1:00:00", "45m", "1h 30m".

Parsing lives here (the forms and the commands read what people type); reading them
back is `lofisite.formatting.format_duration`, the product's one duration format.
No Django here.
"""

import re

_UNIT_RE = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """Seconds from '90', '1:30', '1:00:00', '45m', '1h 30m', '90 s'."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}", text):
        parts = [int(part) for part in text.split(":")]
        if any(part >= 60 for part in parts[1:]):
            raise ValueError(text)
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + part
        return seconds
    match = _UNIT_RE.match(text)
    if match and any(match.groups()):
        hours, minutes, secs = (int(group or 0) for group in match.groups())
        return hours * 3600 + minutes * 60 + secs
    raise ValueError(text)
