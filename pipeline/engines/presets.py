"""Moods a mix can be made in.

A preset steers every engine: the composer (tempo range, keys, progressions,
instruments, swing, drum kit, crackle and tape wobble), the artwork (palette)
and the metadata (words for titles and tags). Chords are written relative to the
tonic as (semitones above the tonic, chord quality); see compose.CHORD_INTERVALS.
"""

from dataclasses import dataclass

Chord = tuple[int, str]

# Progressions for major keys, one chord per bar.
MAJOR_PROGRESSIONS: dict[str, tuple[Chord, ...]] = {
    "ii-V-I": ((2, "m9"), (7, "13"), (0, "maj9"), (0, "6/9")),
    "I-vi-ii-V": ((0, "maj9"), (9, "m9"), (2, "m9"), (7, "13")),
    "IV-iii-ii-I": ((5, "maj9"), (4, "m7"), (2, "m9"), (0, "maj9")),
    "IV-V-iii-vi": ((5, "maj9"), (7, "13"), (4, "m7"), (9, "m9")),
    "iii-VI-ii-V": ((4, "m7"), (9, "7b9"), (2, "m9"), (7, "13")),
    "I-VI7-ii-V": ((0, "maj9"), (9, "7b9"), (2, "m9"), (7, "9")),
    "IV-iv-iii-VI": ((5, "maj9"), (5, "m9"), (4, "m7"), (9, "7b9")),
    "ii-V-iii-vi": ((2, "m9"), (7, "13"), (4, "m7"), (9, "m9")),
    "I-iii-IV-iv": ((0, "maj9"), (4, "m7"), (5, "maj9"), (5, "m9")),
}

# Progressions for minor keys (offsets from the minor tonic), one chord per bar.
MINOR_PROGRESSIONS: dict[str, tuple[Chord, ...]] = {
    "i-iv-VII-III": ((0, "m9"), (5, "m9"), (10, "13"), (3, "maj9")),
    "VI-v-iv-i": ((8, "maj9"), (7, "m7"), (5, "m9"), (0, "m9")),
    "i-VI-ii-V": ((0, "m9"), (8, "maj9"), (2, "m7b5"), (7, "7b9")),
    "iv-v-i": ((5, "m9"), (7, "m7"), (0, "m9"), (0, "m11")),
    "i-VII-VI-V": ((0, "m9"), (10, "9"), (8, "maj9"), (7, "7b9")),
    "ii-V-i": ((2, "m7b5"), (7, "7b9"), (0, "m9"), (0, "m11")),
    "VI-VII-i": ((8, "maj9"), (10, "13"), (0, "m9"), (0, "m11")),
    "i-iv-v-VI": ((0, "m11"), (5, "m9"), (7, "m7"), (8, "maj9")),
}


@dataclass(frozen=True)
class Palette:
    """Colours (RGB) for the cover: sky from top to horizon, city light tints, glow."""

    sky_top: tuple[int, int, int]
    sky_horizon: tuple[int, int, int]
    lights: tuple[tuple[int, int, int], ...]
    glow: tuple[int, int, int]
    frame: tuple[int, int, int]


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    bpm_range: tuple[int, int]
    keys: tuple[str, ...]  # e.g. "C", "F#m", "Eb"
    progressions: tuple[str, ...]  # names in MAJOR_PROGRESSIONS / MINOR_PROGRESSIONS
    keys_timbre: str  # rhodes | piano | guitar | pad | vibes
    lead_timbre: str  # flute | vibes | musicbox | rhodes
    drum_kit: str  # boombap | soft | brush | minimal
    swing: float  # where the off-beat 8th lands within the beat: 0.5 straight, 0.67 triplet
    comping: tuple[str, ...]  # chord rhythms, see compose.COMPING
    crackle: float  # vinyl crackle amount 0..1
    rain: float  # rain ambience amount 0..1
    wobble: float  # tape wow/flutter depth 0..1
    warmth: int  # tape high-cut strength 1..3 (taps of a binomial low-pass)
    duck: float  # how much the kick pushes chords and bass down (0..0.4)
    palette: Palette
    words: tuple[str, ...]  # mood words for titles, descriptions and tags


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="study",
            label="Study session",
            bpm_range=(78, 88),
            keys=("C", "F", "G", "D", "Bb", "Eb", "Am", "Dm"),
            progressions=("IV-iii-ii-I", "I-vi-ii-V", "ii-V-iii-vi", "IV-V-iii-vi", "i-iv-VII-III", "VI-v-iv-i"),
            keys_timbre="rhodes",
            lead_timbre="flute",
            drum_kit="boombap",
            swing=0.6,
            comping=("push", "half", "stabs"),
            crackle=0.5,
            rain=0.0,
            wobble=0.45,
            warmth=2,
            duck=0.22,
            palette=Palette(
                sky_top=(38, 28, 72),
                sky_horizon=(236, 132, 98),
                lights=((255, 196, 120), (255, 150, 110), (250, 226, 170), (170, 150, 255)),
                glow=(255, 170, 110),
                frame=(22, 16, 30),
            ),
            words=("study", "focus", "late night notes", "homework", "library", "calm"),
        ),
        Preset(
            name="rainy-night",
            label="Rainy night",
            bpm_range=(70, 80),
            keys=("Am", "Dm", "Em", "Cm", "F#m", "Bbm", "Gm"),
            progressions=("i-iv-VII-III", "VI-v-iv-i", "i-VI-ii-V", "iv-v-i", "VI-VII-i", "i-iv-v-VI"),
            keys_timbre="piano",
            lead_timbre="vibes",
            drum_kit="soft",
            swing=0.62,
            comping=("whole", "half", "push"),
            crackle=0.75,
            rain=0.8,
            wobble=0.6,
            warmth=3,
            duck=0.18,
            palette=Palette(
                sky_top=(8, 14, 34),
                sky_horizon=(38, 62, 104),
                lights=((255, 190, 110), (120, 200, 255), (255, 110, 160), (180, 255, 230)),
                glow=(110, 170, 255),
                frame=(8, 10, 18),
            ),
            words=("rain", "rainy night", "city lights", "cozy", "window", "midnight"),
        ),
        Preset(
            name="sunset",
            label="Sunset drive",
            bpm_range=(84, 94),
            keys=("D", "E", "A", "G", "Ab", "Bm", "C#m"),
            progressions=("IV-V-iii-vi", "I-iii-IV-iv", "I-vi-ii-V", "IV-iv-iii-VI", "i-VII-VI-V", "VI-VII-i"),
            keys_timbre="guitar",
            lead_timbre="rhodes",
            drum_kit="boombap",
            swing=0.57,
            comping=("stabs", "push", "half"),
            crackle=0.35,
            rain=0.0,
            wobble=0.35,
            warmth=1,
            duck=0.28,
            palette=Palette(
                sky_top=(70, 40, 110),
                sky_horizon=(255, 150, 90),
                lights=((255, 214, 150), (255, 140, 120), (255, 100, 140), (255, 240, 200)),
                glow=(255, 140, 90),
                frame=(30, 16, 34),
            ),
            words=("sunset", "golden hour", "summer", "drive", "warm", "evening"),
        ),
        Preset(
            name="sleep",
            label="Sleep",
            bpm_range=(60, 68),
            keys=("F", "Db", "Ab", "Eb", "Fm", "C#m"),
            progressions=("IV-iii-ii-I", "I-iii-IV-iv", "IV-iv-iii-VI", "VI-v-iv-i", "iv-v-i", "i-iv-v-VI"),
            keys_timbre="pad",
            lead_timbre="musicbox",
            drum_kit="minimal",
            swing=0.55,
            comping=("whole",),
            crackle=0.3,
            rain=0.35,
            wobble=0.5,
            warmth=3,
            duck=0.08,
            palette=Palette(
                sky_top=(6, 8, 24),
                sky_horizon=(34, 40, 86),
                lights=((200, 210, 255), (255, 220, 170), (150, 170, 255), (240, 240, 255)),
                glow=(140, 150, 255),
                frame=(6, 6, 14),
            ),
            words=("sleep", "deep sleep", "dreamy", "night", "relax", "ambient"),
        ),
        Preset(
            name="jazz-cafe",
            label="Jazz café",
            bpm_range=(88, 100),
            keys=("Bb", "Eb", "F", "G", "Ab", "Cm", "Gm"),
            progressions=("ii-V-I", "iii-VI-ii-V", "I-VI7-ii-V", "I-vi-ii-V", "ii-V-i", "i-VI-ii-V"),
            keys_timbre="vibes",
            lead_timbre="flute",
            drum_kit="brush",
            swing=0.66,
            comping=("stabs", "push"),
            crackle=0.6,
            rain=0.0,
            wobble=0.3,
            warmth=2,
            duck=0.12,
            palette=Palette(
                sky_top=(30, 18, 14),
                sky_horizon=(150, 86, 46),
                lights=((255, 200, 120), (255, 170, 90), (255, 230, 180), (230, 140, 80)),
                glow=(255, 170, 90),
                frame=(24, 14, 10),
            ),
            words=("jazz", "coffee shop", "cafe", "jazzy", "morning coffee", "smooth"),
        ),
    )
}

DEFAULT_PRESET = "study"


def get_preset(name: str) -> Preset:
    """The preset called `name`; ValueError naming the choices if there is none."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")


def preset_choices() -> list[tuple[str, str]]:
    """(name, label) pairs, for a form's choices."""
    return [(p.name, p.label) for p in PRESETS.values()]
