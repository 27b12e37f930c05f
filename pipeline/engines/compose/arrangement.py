"""The arrangement: how a mix is laid out as tracks (key, tempo, rhythms, title) and
each track as loops of two sections in variants (intro, melody, drop-outs, outro)."""

import math
from dataclasses import dataclass, field

import numpy as np

from ..presets import MAJOR_PROGRESSIONS, MINOR_PROGRESSIONS, Preset
from .common import SR
from .instruments import KITS
from .keys import parse_key

TRACK_XFADE_S = 4.0

# Chord rhythms: (onset beat, length in beats, 0 = this bar's chord / 1 = next bar's).
COMPING: dict[str, tuple[tuple[float, float, int], ...]] = {
    "whole": ((0.0, 3.9, 0),),
    "half": ((0.0, 1.9, 0), (2.0, 1.9, 0)),
    "push": ((0.0, 2.3, 0), (2.5, 0.9, 0), (3.5, 2.4, 1)),
    "stabs": ((0.0, 0.9, 0), (1.5, 0.5, 0), (2.5, 0.9, 0), (3.5, 0.45, 0)),
}
# Bass figures: (onset beat, length, degree): R root, 3 third, 5 fifth, 8 octave, A approach.
BASS_FIGURES: dict[str, tuple[tuple[float, float, str], ...]] = {
    "pulse": ((0.0, 1.4, "R"), (2.5, 0.9, "R"), (3.5, 0.4, "A")),
    "long": ((0.0, 2.8, "R"), (3.0, 0.9, "5")),
    "bounce": ((0.0, 0.9, "R"), (1.5, 0.9, "8"), (2.5, 1.4, "5")),
    "whole": ((0.0, 3.8, "R"),),
    "walk": ((0.0, 0.9, "R"), (1.0, 0.9, "3"), (2.0, 0.9, "5"), (3.0, 0.9, "A")),
}
KIT_BASS = {
    "boombap": ("pulse", "long", "bounce"),
    "soft": ("long", "pulse"),
    "brush": ("walk", "long"),
    "minimal": ("whole",),
}
LEAD_RHYTHMS = (
    (0.0, 0.5, 1.5, 2.5),
    (0.5, 1.0, 1.5, 3.0),
    (0.0, 1.5, 2.0, 3.5),
    (1.0, 1.5, 2.0, 2.5, 3.0),
    (0.0, 0.75, 1.5, 3.0),
)

STEMS = ("drums", "hats", "bass", "keys_l", "keys_r", "lead")
# Per stem: gain into the left and right channel.
PAN = {
    "drums": (1.0, 1.0),
    "hats": (0.75, 0.95),
    "bass": (1.0, 1.0),
    "keys_l": (1.0, 0.0),
    "keys_r": (0.0, 1.0),
    "lead": (0.9, 0.85),
}


@dataclass(frozen=True)
class Variant:
    gains: dict[str, float]
    filtered: bool = False


def _gains(drums=1.0, hats=1.0, bass=1.0, keys=1.0, lead=0.0) -> dict[str, float]:
    return {"drums": drums, "hats": hats, "bass": bass, "keys_l": keys, "keys_r": keys, "lead": lead}


VARIANTS: dict[str, Variant] = {
    "intro": Variant(_gains(drums=0, hats=0, bass=0), filtered=True),
    "groove": Variant(_gains()),
    "melody": Variant(_gains(keys=0.85, lead=1.0)),
    "break": Variant(_gains(drums=0, hats=0.7)),
    "breathe": Variant(_gains(drums=0, hats=0, bass=0.7, lead=1.0)),
    "lofi": Variant(_gains(), filtered=True),
    "outro": Variant(_gains(drums=0, hats=0.4, bass=0.5), filtered=True),
}
FILTER_WIDTH = 36  # samples per moving average in "filtered" variants (~1.2 kHz first null)

TITLE_WORDS = (
    ("late", "paper", "quiet", "slow", "soft", "blue", "little", "sleepy", "warm", "hazy", "faded", "amber"),
    ("bus home", "lanterns", "window seat", "coffee", "rooftops", "letters", "streetlights", "tea", "pages",
     "daydream", "polaroids", "sidewalks", "umbrellas", "radio", "notebook", "clouds"),
)  # fmt: skip



@dataclass
class _Segment:
    start: int  # offset within the track, samples
    section: int
    variant: str


@dataclass
class _TrackPlan:
    index: int
    seed: tuple[int, int]
    start: int  # global sample position
    length: int
    loop_len: int  # samples in one 4-bar section
    bpm: float
    tonic: int
    minor: bool
    progressions: tuple[str, str]
    comping: str
    bass: str
    drum_rows: tuple[int, int, int]
    title: str
    segments: list[_Segment] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.length


def _plan(duration_frames: int, preset: Preset, bpm: float | None, key: str | None, seed: int) -> list[_TrackPlan]:
    """Lay out the tracks of a mix: keys, tempos, sections and the variant of every loop."""
    fixed_key = parse_key(key) if key else None
    xfade = int(TRACK_XFADE_S * SR)
    plans: list[_TrackPlan] = []
    position = 0
    index = 0
    while position < duration_frames:
        rng = np.random.default_rng([seed, index, 1])
        tonic, minor = fixed_key or parse_key(str(rng.choice(preset.keys)))
        pool = MINOR_PROGRESSIONS if minor else MAJOR_PROGRESSIONS
        names = [p for p in preset.progressions if p in pool]
        if len(names) < 2:  # a key override in the other mode than the preset's usual one
            names = list(pool)
        first, second = rng.choice(names, 2, replace=False)
        tempo = float(bpm or rng.integers(preset.bpm_range[0], preset.bpm_range[1] + 1))
        loop_len = round(16 * 60 / tempo * SR)
        kit = KITS[preset.drum_kit]
        # Tracks run 2-3 minutes; the last one only as long as the mix needs.
        loops = int(rng.integers(9, 14))
        remaining = duration_frames - position
        last = remaining <= (loops + 4) * loop_len  # rather one longer track than a stub at the end
        if last:
            loops = max(1, math.ceil(remaining / loop_len))
        title = f"{rng.choice(TITLE_WORDS[0])} {rng.choice(TITLE_WORDS[1])}"
        plan = _TrackPlan(
            index=index,
            seed=(seed, index),
            start=position,
            length=loops * loop_len,
            loop_len=loop_len,
            bpm=tempo,
            tonic=tonic,
            minor=minor,
            progressions=(str(first), str(second)),
            comping=str(rng.choice(preset.comping)),
            bass=str(rng.choice(KIT_BASS[preset.drum_kit])),
            drum_rows=(
                int(rng.integers(len(kit.kick))),
                int(rng.integers(len(kit.snare))),
                int(rng.integers(len(kit.hat))),
            ),
            title=title,
        )
        plan.segments = [
            _Segment(i * loop_len, section, variant) for i, (section, variant) in enumerate(_form(loops, rng))
        ]
        plans.append(plan)
        if last:
            return plans
        position = plan.end - xfade
        index += 1
    return plans


def _form(loops: int, rng: np.random.Generator) -> list[tuple[int, str]]:
    """Which section and variant each loop of a track plays."""
    if loops == 1:
        return [(0, "groove")]
    if loops == 2:
        return [(0, "intro"), (0, "groove")]
    body: list[tuple[int, str]] = []
    cycle = ((0, "groove"), (0, "melody"), (1, "groove"), (1, "melody"))
    for i in range(loops - 2):
        section, variant = cycle[i % 4]
        roll = rng.random()
        if i > 0 and variant == "groove":
            if roll < 0.15:
                variant = "lofi"
            elif roll < 0.3:
                variant = "break"
        elif i > 1 and variant == "melody" and roll < 0.12:
            variant = "breathe"
        body.append((section, variant))
    return [(0, "intro"), *body, (0, "outro")]
