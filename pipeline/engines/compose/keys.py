"""Keys and chords: note names, how a key is written and read, the keys offered to users,
and the chord qualities the presets' progressions use."""

import re

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj7": (0, 4, 7, 11),
    "maj9": (0, 4, 7, 11, 14),
    "6/9": (0, 4, 7, 9, 14),
    "m7": (0, 3, 7, 10),
    "m9": (0, 3, 7, 10, 14),
    "m11": (0, 3, 7, 10, 14, 17),
    "7": (0, 4, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "13": (0, 4, 10, 14, 21),
    "7b9": (0, 4, 7, 10, 13),
    "m7b5": (0, 3, 6, 10),
}

NOTE_NAMES = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
    "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}  # fmt: skip
# How each key is usually spelled: flats for major keys, sharps for most minor ones.
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


def parse_key(key: str) -> tuple[int, bool]:
    """'F#m' -> (6, True); 'Eb' -> (3, False). Accepts m/min/minor and maj/major suffixes."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(m|min|minor|maj|major)?\s*", key or "")
    if not m:
        raise ValueError(f"not a key: {key!r} (examples: C, F#m, Eb, A minor)")
    pc = NOTE_NAMES[m.group(1).upper() + m.group(2)]
    return pc, (m.group(3) or "").lower() in ("m", "min", "minor")


def key_name(pc: int, minor: bool) -> str:
    return MINOR_NAMES[pc % 12] + "m" if minor else MAJOR_NAMES[pc % 12]


# The keys a user can pick (the run form's choices): every tonic, spelled as `key_name`
# spells the keys of a mix, so a chosen key reads the same in the tracklist.
MAJOR_KEYS = tuple(key_name(pc, False) for pc in range(12))
MINOR_KEYS = tuple(key_name(pc, True) for pc in range(12))
