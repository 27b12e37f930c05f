"""Titles, descriptions and tags for a mix, and YouTube's limits on them.

`generate_metadata` fills templates chosen by the seed and returns text already
fitted to YouTube's limits (`clean_metadata`). `validate_metadata` checks text a
person edited and reports each problem by field without changing anything.

YouTube's limits (Data API v3, videos resource):
- title: 1 to 100 characters, no "<" or ">";
- description: at most 5000 bytes of UTF-8, no "<" or ">";
- tags: at most 500 characters in total, counted the way YouTube does: a tag that
  contains a space counts two more (it is sent quoted), and the commas between tags
  count too.
"""

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .presets import get_preset

TITLE_MAX_CHARS = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARS = 500
FORBIDDEN = "<>"


@dataclass(frozen=True)
class Metadata:
    title: str
    description: str
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrackEntry:
    """A tracklist line: anything with `start_s` and `title` (compose.TrackInfo fits);
    `bpm` and `key` as composed (procedural mixes only)."""

    start_s: float
    title: str
    bpm: int | None = None
    key: str | None = None


ACTIVITIES = {
    "study": ("study", "focus", "read", "code"),
    "rainy-night": ("relax", "unwind", "think", "read"),
    "sunset": ("chill", "drive", "unwind", "daydream"),
    "sleep": ("sleep", "rest", "drift off", "breathe"),
    "jazz-cafe": ("work", "read", "sip coffee", "chill"),
}
SCENES = {
    "study": ("late night study session", "desk lamp on", "one more chapter", "quiet library"),
    "rainy-night": ("rain on the window", "city lights in the rain", "rainy night in tokyo", "cozy rainy evening"),
    "sunset": ("golden hour", "sunset on the rooftop", "summer evening", "warm sunset drive"),
    "sleep": ("deep sleep", "midnight calm", "soft night", "drifting off"),
    "jazz-cafe": ("jazz café", "morning coffee", "coffee shop corner", "smooth jazzy afternoon"),
}
TITLE_TEMPLATES = (
    "{scene} · lofi mix to {activity} to [{length}]",
    "{Scene} – {length} of lofi beats",
    "lofi {mood} · {scene} ({length})",
    "{length} {mood} lofi mix – {scene}",
    "{Scene} 🎧 chill lofi to {activity} to",
)
OPENINGS = (
    "Put this on, let the world slow down, and {activity}.",
    "A {length} lofi mix for when you need to {activity}.",
    "{Scene}: soft keys, dusty drums and warm tape hiss for {length}.",
    "Press play and {activity} — {length} of mellow lofi beats.",
)
DETAILS = (
    "Jazzy chords, swung drums and vinyl crackle, mixed into one continuous {length} session.",
    "Every track flows into the next, so nothing breaks your focus.",
    "Warm, low-key and steady: background music that stays in the background.",
)
# A mix of uploaded tracks: nothing about how it was composed, which we did not do.
LIBRARY_OPENINGS = (
    "Put this on, let the world slow down, and {activity}.",
    "A {length} lofi mix for when you need to {activity}.",
    "Press play and {activity} — {length} of mellow lofi.",
)
LIBRARY_DETAILS = (
    "{count} from our library, crossfaded into one continuous {length} session.",
    "Every track flows into the next, so nothing breaks your focus.",
)
BASE_TAGS = ("lofi", "lofi hip hop", "lofi mix", "chill beats", "relaxing music", "instrumental", "chillhop")


def format_length(seconds: float) -> str:
    """3600 -> '1 hour', 5400 -> '1.5 hours', 1800 -> '30 minutes', 30 -> '30 seconds'."""
    if seconds < 90 and round(seconds) != 60:
        return f"{round(seconds)} seconds"
    minutes = max(round(seconds / 60), 1)
    if minutes < 60:
        return f"{max(minutes, 1)} minute{'s' if minutes != 1 else ''}"
    hours = minutes / 60
    if hours == int(hours):
        return f"{int(hours)} hour{'s' if hours != 1 else ''}"
    return f"{hours:.1f} hours" if (minutes % 30 == 0) else f"{int(hours)} h {minutes % 60} min"


def format_timestamp(seconds: float) -> str:
    """YouTube chapter timestamp: 0:00, 4:05, 1:02:03."""
    s = int(seconds)
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _clean_line(text: str) -> str:
    return re.sub(r"\s+", " ", "".join(ch for ch in text if ch not in FORBIDDEN)).strip()


def generate_metadata(
    preset: str,
    duration_s: float,
    bpm: int | None,
    key: str | None,
    seed: int,
    tracklist: Sequence[TrackEntry] | None = None,
    *,
    library: bool = False,
) -> Metadata:
    """Title, description and tags for a mix, varied by `seed`, fitted to YouTube's limits.

    Tempo and key are those the tracklist says were composed (else `bpm`/`key`); a `library`
    mix of uploaded tracks states neither and makes no claim about its sound."""
    mood = get_preset(preset)
    rng = random.Random(f"{preset}:{seed}")
    scene = rng.choice(SCENES.get(mood.name, (mood.label.lower(),)))
    activity = rng.choice(ACTIVITIES.get(mood.name, ("relax",)))
    values = {
        "scene": scene,
        "Scene": scene[:1].upper() + scene[1:],
        "activity": activity,
        "mood": mood.words[0],
        "length": format_length(duration_s),
        "count": _count_tracks(tracklist or ()),
    }
    title = rng.choice(TITLE_TEMPLATES).format(**values)

    openings, details = (LIBRARY_OPENINGS, LIBRARY_DETAILS) if library else (OPENINGS, DETAILS)
    parts = [rng.choice(openings).format(**values), rng.choice(details).format(**values)]
    facts = [f"Mood: {mood.label}"]
    keys, tempos = _composed(tracklist or (), "key", key), _composed(tracklist or (), "bpm", bpm)
    if keys and not library:
        facts.append(f"Key: {' / '.join(keys)}")
        key = keys[0]
    else:
        key = None
    if tempos and not library:
        low, high = min(tempos), max(tempos)
        facts.append(f"Tempo: {low} BPM" if low == high else f"Tempo: {low}–{high} BPM")
    parts.append(" · ".join(facts))
    if tracklist:
        lines = [f"{format_timestamp(t.start_s)} {_clean_line(t.title)}" for t in tracklist]
        parts.append("Tracklist\n" + "\n".join(lines))
    hashtags = ["#lofi", f"#{re.sub(r'[^a-z0-9]', '', mood.words[0].lower())}", "#chillbeats"]
    parts.append(" ".join(dict.fromkeys(hashtags)))
    description = "\n\n".join(parts)

    tags = [*BASE_TAGS, *mood.words, f"lofi {mood.words[0]}", f"{activity} music", scene]
    if key:
        tags.append(f"lofi in {key}")
    return clean_metadata(title, description, tags)


def _composed(tracklist, name, fallback) -> list:
    """Distinct values of `name` over the tracklist, in order; else the fallback alone."""
    values = list(dict.fromkeys(getattr(t, name, None) for t in tracklist if getattr(t, name, None)))
    return values or ([fallback] if fallback else [])


def _count_tracks(tracklist) -> str:
    count = len({t.title for t in tracklist})
    return f"{count} track{'s' if count != 1 else ''}" if count else "Tracks"


def tags_length(tags: Sequence[str]) -> int:
    """Length of a tag list as YouTube counts it (quotes around tags with spaces, commas)."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


def unique_tags(tags) -> list[str]:
    """Stripped, non-empty tags, each once whatever its case (the first spelling is kept)."""
    unique: dict[str, str] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            unique.setdefault(tag.casefold(), tag)
    return list(unique.values())


def clean_metadata(title: str, description: str, tags: Sequence[str]) -> Metadata:
    """Make generated text acceptable to YouTube: strip < and >, trim to the limits.

    The title is cut at a word with an ellipsis, the description at a line (or at a
    character, never inside a UTF-8 sequence), and tags are dropped from the end.
    """
    title = _clean_line(title) or "lofi mix"
    if len(title) > TITLE_MAX_CHARS:
        cut = title[: TITLE_MAX_CHARS - 1]
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
        title = cut.rstrip(" -–·,;:") + "…"

    text = "".join(ch for ch in description if ch not in FORBIDDEN).strip()
    description = text
    if len(text.encode()) > DESCRIPTION_MAX_BYTES:
        lines = text.split("\n")
        while lines and len("\n".join(lines).encode()) > DESCRIPTION_MAX_BYTES:
            lines.pop()
        description = "\n".join(lines).rstrip()
        if not description:  # one enormous line: cut by bytes, dropping a split character
            description = text.encode()[:DESCRIPTION_MAX_BYTES].decode("utf-8", "ignore")

    cleaned = unique_tags(_clean_line(tag.replace(",", " "))[:100] for tag in tags)
    while tags_length(cleaned) > TAGS_MAX_CHARS:
        cleaned.pop()
    return Metadata(title, description, cleaned)


def validate_metadata(title: str, description: str, tags: Sequence[str]) -> dict[str, str]:
    """Problems with user-edited metadata as {field: message}; empty when YouTube accepts it."""
    errors: dict[str, str] = {}
    if not title or not title.strip():
        errors["title"] = "The title cannot be empty."
    elif len(title) > TITLE_MAX_CHARS:
        errors["title"] = f"The title is {len(title)} characters; YouTube allows at most {TITLE_MAX_CHARS}."
    elif any(ch in title for ch in FORBIDDEN):
        errors["title"] = "The title cannot contain < or >."

    size = len((description or "").encode("utf-8"))
    if size > DESCRIPTION_MAX_BYTES:
        errors["description"] = (
            f"The description is {size} bytes; YouTube allows at most {DESCRIPTION_MAX_BYTES} "
            "(accented letters and emoji take more than one byte)."
        )
    elif any(ch in (description or "") for ch in FORBIDDEN):
        errors["description"] = "The description cannot contain < or >."

    bad = [t for t in tags if not t.strip() or "," in t or any(ch in t for ch in FORBIDDEN)]
    total = tags_length(tags)
    if bad:
        errors["tags"] = f"Tags cannot be empty or contain commas, < or >: {', '.join(repr(t) for t in bad[:3])}."
    elif total > TAGS_MAX_CHARS:
        errors["tags"] = (
            f"The tags add up to {total} characters; YouTube allows at most {TAGS_MAX_CHARS} "
            "(a tag with spaces counts 2 more for its quotes, and each comma counts)."
        )
    return errors
