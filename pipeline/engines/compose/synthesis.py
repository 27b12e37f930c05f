"""Track synthesis: the track bank, which synthesizes the stems of a track's two
sections (voice-led chords, bass, drums, lead), keeps them compactly, predicts their
loudness, and mixes one loop of a section in a variant on demand."""

import math

import numpy as np

from ..presets import MAJOR_PROGRESSIONS, MINOR_PROGRESSIONS, Preset
from .arrangement import BASS_FIGURES, COMPING, FILTER_WIDTH, LEAD_RHYTHMS, PAN, VARIANTS, _TrackPlan
from .common import SR
from .instruments import _HIT_VELOCITY, KITS, TIMBRES, _drum_samples, _midi_hz, _time
from .keys import CHORD_INTERVALS
from .loudness import _K_WELCH, BLOCK, _binomial_response, _box_response, _spectrum


def _voicing(root: int, quality: str, previous: list[int] | None) -> list[int]:
    """Chord notes between E3 and G5, as close as possible to the previous voicing."""
    intervals = CHORD_INTERVALS[quality]
    if len(intervals) > 4:  # rich chords drop the root: the bass plays it
        intervals = intervals[1:]
    pcs = sorted({(root + i) % 12 for i in intervals})
    candidates = []
    for rotation in range(len(pcs)):
        order = pcs[rotation:] + pcs[:rotation]
        for low in range(52, 64):
            if low % 12 != order[0]:
                continue
            notes = [low]
            for pc in order[1:]:
                notes.append(notes[-1] + ((pc - notes[-1]) % 12 or 12))
            candidates.append(notes)
    candidates = [v for v in candidates if v[-1] <= 79] or candidates
    if previous is None:
        return min(candidates, key=lambda v: abs(sum(v) / len(v) - 63))
    centre = sum(previous) / len(previous)
    return min(candidates, key=lambda v: abs(sum(v) / len(v) - centre) + 0.5 * abs(v[-1] - previous[-1]))


def _swing_time(beat: float, swing: float) -> float:
    """Warp a straight position (in beats) so off-beat 8ths land at `swing` of the beat."""
    whole = math.floor(beat)
    frac = beat - whole
    warped = frac / 0.5 * swing if frac < 0.5 else swing + (frac - 0.5) / 0.5 * (1 - swing)
    return whole + warped


def _add_circular(loop: np.ndarray, wave: np.ndarray, at: int, gain: float) -> None:
    """Add `wave` * `gain` into a loop at `at`; what runs past the end wraps to the start."""
    n = len(loop)
    wave = wave[:n]
    at %= n
    first = min(len(wave), n - at)
    loop[at : at + first] += gain * wave[:first]
    if first < len(wave):
        loop[: len(wave) - first] += gain * wave[first:]


def _taps(x: np.ndarray, delays_ms: tuple[int, ...], gain: float, decay_s: float) -> np.ndarray:
    """A cheap room: decaying echoes of a circular loop at irregular delays."""
    out = x.copy()
    for ms in delays_ms:
        d = int(ms * SR / 1000)
        g = np.float32(gain * math.exp(-ms / 1000 / decay_s))
        out[d:] += g * x[:-d]
        out[:d] += g * x[-d:]
    return out


class _TrackBank:
    """The synthesized stems of one track's two sections, and its loudness gain."""

    def __init__(self, plan: _TrackPlan, preset: Preset):
        self.plan = plan
        self.preset = preset
        self.beat = plan.loop_len / 16  # samples per beat (exact: loops are whole samples)
        self.rng = np.random.default_rng([*plan.seed, 2])
        self._notes: dict[tuple[str, int, int], np.ndarray] = {}
        self.drum_samples = _drum_samples(preset.drum_kit, self.rng)
        # Stems are kept as 16-bit integers with a scale (half the memory of float32; the
        # rounding is 96 dB below each stem's peak), their statistics taken before that.
        self.sections: list[dict[str, tuple[np.ndarray, float]]] = []
        self.stats: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        for index, progression in enumerate(plan.progressions):
            stems = self._section(progression, index)
            self._notes.clear()  # notes repeat within a section; dropping them keeps the peak low
            for stem in stems.values():
                for _ in range(preset.warmth):  # binomial high-cut: tape and a worn needle
                    wrap = stem[-1]
                    stem[1:] += stem[:-1]
                    stem[0] += wrap
                    stem *= np.float32(0.5)
            self.stats.append({name: self._stem_stats(stem) for name, stem in stems.items()})
            self.sections.append({name: _quantize(stem) for name, stem in stems.items()})
            del stems  # before the next section is synthesized
        self.gain = 1.0
        self._clips: dict[tuple[int, str], np.ndarray] = {}

    # -- notes and stems

    def _note(self, timbre: str, midi: int, beats: float) -> np.ndarray:
        key = (timbre, midi, round(beats * 4))  # quarter-beat lengths: fewer distinct notes
        if key not in self._notes:
            hold = round(beats * 4) / 4 * self.beat / SR
            self._notes[key] = TIMBRES[timbre](_midi_hz(midi), hold).astype(np.float32)
        return self._notes[key]

    def _at(self, bar: int, beat: float, jitter_ms: float = 6.0) -> int:
        swung = _swing_time(beat, self.preset.swing)
        return int((bar * 4 + swung) * self.beat + self.rng.normal(0, jitter_ms) * SR / 1000)

    def _section(self, progression: str, index: int) -> dict[str, np.ndarray]:
        plan, preset = self.plan, self.preset
        chords = (MINOR_PROGRESSIONS if plan.minor else MAJOR_PROGRESSIONS)[progression]
        length = plan.loop_len
        stems = {name: np.zeros(length, dtype=np.float32) for name in ("drums", "hats", "bass", "keys", "lead")}
        roots = [(plan.tonic + offset) % 12 for offset, _ in chords]

        # Keys: voice-led chords in the track's comping rhythm, strummed slightly.
        strum = {"guitar": 0.022, "piano": 0.012, "pad": 0.0}.get(preset.keys_timbre, 0.007)
        voicings: list[list[int]] = []
        for root, (_, quality) in zip(roots, chords, strict=True):
            voicings.append(_voicing(root, quality, voicings[-1] if voicings else None))
        rhythm = COMPING[plan.comping]
        anticipates = any(which for _, _, which in rhythm)
        for bar in range(4):
            for onset, beats, which in rhythm:
                if onset == 0 and anticipates:
                    continue  # the previous bar already struck this chord early
                notes = voicings[(bar + which) % 4]
                velocity = (0.8 if onset == 0 else 0.62) * self.rng.uniform(0.85, 1.0)
                at = self._at(bar, onset)
                for i, midi in enumerate(notes):
                    wave = self._note(preset.keys_timbre, midi, beats)
                    gain = 0.22 * velocity * self.rng.uniform(0.85, 1.0)
                    _add_circular(stems["keys"], wave, at + int(i * strum * SR), gain)

        # Bass: roots and fifths under the chords, with approach notes into the next bar.
        for bar, (root, (_, quality)) in enumerate(zip(roots, chords, strict=True)):
            low = 36 + (root - 36) % 12  # C2..B2
            third = 3 if quality.startswith("m") else 4
            for onset, beats, degree in BASS_FIGURES[plan.bass]:
                midi = {
                    "R": low,
                    "3": low + third,
                    "5": low + 7,
                    "8": low + 12,
                    "A": 36 + (roots[(bar + 1) % 4] - 36) % 12 - 1,
                }[degree]
                velocity = (0.9 if onset == 0 else 0.7) * self.rng.uniform(0.85, 1.0)
                wave = self._note("bass", midi, beats)
                _add_circular(stems["bass"], wave, self._at(bar, onset, 4.0), 0.3 * velocity)

        # Drums: the track's rows for three bars, a fill on the fourth.
        kit = KITS[preset.drum_kit]
        k_row, s_row, h_row = plan.drum_rows
        rows = (kit.kick[k_row], kit.snare[(s_row + index) % len(kit.snare)], kit.hat[h_row])
        kick_at: list[int] = []
        for bar in range(4):
            kick, snare, hat = kit.fill if bar == 3 else rows
            for step in range(16):
                beat = step / 4
                for row, sample, stem in ((kick, "kick", "drums"), (snare, "snare", "drums"), (hat, "hat", "hats")):
                    hit = row[step]
                    if hit == "-":
                        continue
                    at = self._at(bar, beat, 4.0 if sample == "kick" else 7.0)
                    wave = self.drum_samples["open" if hit == "o" else sample]
                    level = {"kick": 0.55, "snare": 0.45, "hat": 0.8}[sample]
                    _add_circular(stems[stem], wave, at, level * _HIT_VELOCITY[hit] * self.rng.uniform(0.8, 1.0))
                    if sample == "kick":
                        kick_at.append(at)

        # Lead: a pentatonic call-and-response motif over the four bars.
        scale = (0, 3, 5, 7, 10) if plan.minor else (0, 2, 4, 7, 9)
        pitches = sorted(n for n in range(62, 88) if (n - plan.tonic) % 12 in scale)
        if preset.lead_timbre == "musicbox":
            pitches = [p + 12 for p in pitches]
        motif_rhythm = LEAD_RHYTHMS[int(self.rng.integers(len(LEAD_RHYTHMS)))]
        position = int(self.rng.integers(3, len(pitches) - 4))
        motif = []
        for _ in motif_rhythm:
            position = int(np.clip(position + self.rng.choice((-2, -1, -1, 1, 1, 2)), 0, len(pitches) - 1))
            motif.append(position)
        for bar in (0, 2):
            answer = bar == 2
            for i, onset in enumerate(motif_rhythm):
                degree = motif[i]
                if answer and i >= len(motif) - 2:  # the answer ends differently
                    degree = int(np.clip(degree + self.rng.choice((-2, -1, 1)), 0, len(pitches) - 1))
                nxt = motif_rhythm[i + 1] if i + 1 < len(motif_rhythm) else 5.0
                beats = min(2.0, max(0.4, nxt - onset - 0.1))
                wave = self._note(preset.lead_timbre, pitches[degree], beats)
                _add_circular(stems["lead"], wave, self._at(bar, onset), 0.26 * self.rng.uniform(0.8, 1.0))

        # Sidechain feel: chords and bass duck a little under every kick.
        duck = np.ones(length, dtype=np.float32)
        kernel = (preset.duck * np.exp(-_time(int(0.25 * SR)) / 0.09)).astype(np.float32)
        for at in kick_at:
            _add_circular(duck, kernel, at, -1.0)
        np.maximum(duck, 0.0, out=duck)

        # In place where possible: these loops are megabytes each.
        keys = stems["keys"]
        keys *= duck
        keys_l = keys_r = keys
        if preset.keys_timbre in ("rhodes", "vibes"):  # the classic suitcase auto-pan, 1 cycle / 2 beats
            pan = np.sin(np.float32(np.pi / self.beat) * np.arange(length, dtype=np.float32))
            pan *= np.float32(0.35)
            keys_l = keys * (1 + pan)
            keys_r *= 1 - pan
        lead = stems["lead"]
        lead += 0.3 * np.roll(lead, int(0.75 * self.beat)) + 0.12 * np.roll(lead, int(1.5 * self.beat))
        drums = stems["drums"]
        drums *= np.float32(1.3)
        np.tanh(drums, out=drums)  # tape-ish drum glue
        drums /= np.float32(1.3)
        duck *= np.float32(0.5)  # the bass ducks half as much as the chords
        duck += np.float32(0.5)
        stems["bass"] *= duck
        return {
            "drums": drums,
            "hats": stems["hats"],
            "bass": stems["bass"],
            "keys_l": _taps(keys_l, (29, 47, 71, 103, 149, 211, 293), 0.3, 0.3),
            "keys_r": _taps(keys_r, (37, 59, 83, 127, 173, 241, 331), 0.3, 0.3),
            "lead": lead,
        }

    @staticmethod
    def _stem_stats(stem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean-square power of each 100 ms of the loop, and the loop's spectral shape."""
        blocks = len(stem) // BLOCK
        profile = np.square(stem[: blocks * BLOCK], dtype=np.float32).reshape(blocks, BLOCK).mean(axis=1)
        return profile.astype(np.float64), _spectrum(stem)

    # -- loudness model

    def variant_power(self, section: int, variant: str) -> np.ndarray:
        """K-weighted power (left + right) of each 100 ms of a loop in a variant, before gain.

        Stems are treated as uncorrelated, so their powers add; each stem's spectral
        shape gives the effect of K-weighting, the variant's filter and the tape high-cut.
        """
        v = VARIANTS[variant]
        weight = _K_WELCH * _binomial_response(self.preset.warmth)
        if v.filtered:
            weight = weight * _box_response(FILTER_WIDTH)
        total = 0.0
        for name, (profile, spectrum) in self.stats[section].items():
            pan = PAN[name][0] ** 2 + PAN[name][1] ** 2
            total = total + profile * (float(np.sum(spectrum * weight)) * v.gains[name] ** 2 * pan)
        return total

    # -- rendering

    def clip(self, section: int, variant: str) -> np.ndarray:
        """One loop of a section mixed in a variant, as (frames, 2) float32, with gain applied."""
        key = (section, variant)
        if key not in self._clips:
            if len(self._clips) >= 2:  # the loop playing and the one fading in
                self._clips.pop(next(iter(self._clips)))
            v = VARIANTS[variant]
            sides = [np.zeros(self.plan.loop_len, dtype=np.float32) for _ in (0, 1)]
            for name, (stem, scale) in self.sections[section].items():
                for side, pan in zip(sides, PAN[name], strict=True):
                    if gain := v.gains[name] * pan * self.gain:
                        side += np.float32(gain * scale) * stem
            out = np.column_stack(sides)
            if v.filtered:
                out = _circular_box(_circular_box(out, FILTER_WIDTH), FILTER_WIDTH)
            self._clips[key] = out
        return self._clips[key]


def _quantize(x: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(x).max()) / 32767 or 1.0
    return np.round(x / np.float32(scale)).astype(np.int16), scale


def _circular_box(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average over a circular loop, via a cumulative sum (O(n) for any width).

    float32 is enough: audio sums stay small, the error is far below the 16-bit floor.
    """
    c = np.cumsum(np.concatenate([x[-width:], x]), axis=0)
    return (c[width:] - c[:-width]) * np.float32(1 / width)
