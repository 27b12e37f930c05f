"""Lo-fi mixes: a procedural composer and a mixer for uploaded tracks.

Procedural mode (`compose_mix`) writes a mix as a run of short "tracks", each in its
own key and tempo. A track is built from two 4-bar sections (A and B) whose stems
(drums, hats, bass, left/right keys, lead) are synthesized once with numpy; the
track then tiles those loops with variations (intro, melody, drop-outs, filtered
bars, outro) and crossfades into the next track. Tape wow/flutter, a warm high-cut
and vinyl crackle are applied while streaming, so the same loop never sounds
identical twice. Everything is derived from the seed, so a seed and parameters
always give the same bytes.

Speed and memory: only the stems of the track(s) being played are in memory, and
audio is produced in chunks that are piped into ffmpeg. The mix is split in two
halves encoded by two ffmpeg processes at once (AAC encoding is single-threaded
and is the slowest part); the second half starts a few AAC frames early so both
encoders see the same audio around the split, and the halves are joined at a
frame boundary with ffmpeg's concat demuxer without re-encoding.

Loudness: each track is scaled when its stems are built so that its integrated
loudness (ITU-R BS.1770 gating over a 100 ms power model of its arrangement)
meets the target together with the crackle bed; no second pass over the audio.

True peak: after normalisation every mix (both modes) passes a true-peak limiter
(`limiter`) that keeps the encoded file under YouTube's -1 dBTP ceiling, with room
for the overs the AAC encoder adds; its output at a sample depends only on the audio
a few milliseconds around it, so the two encoder halves still agree at the join.

Library mode (`mix_library`) measures each upload once with ffmpeg (loudness and
exact length), then streams them in a seeded order with equal-power crossfades
to exactly the requested duration, each track gain-matched to the target.

Where each part lives (each module imports only the ones above it):

- `common`: the audio format, the duration check (bounds from `engines.limits`),
  `TrackInfo` and `MixResult`;
- `keys`: note names, `parse_key` / `key_name`, the keys users pick, chord qualities;
- `loudness`: the BS.1770 model and the loudness target;
- `limiter`: the true-peak limiter between the mix and the encoder;
- `instruments`: the voices (rhodes, piano, guitar, ...) and the drum kits;
- `arrangement`: tracks, sections and variants of a mix (`_plan`);
- `synthesis`: the track bank, the synthesized stems of one track;
- `mixdown`: the crackle bed and the mix as a signal, chunk by chunk;
- `encode`: the parallel AAC split;
- `procedural`: `compose_mix`;
- `library`: `validate_audio_file` and `mix_library`.

Names with a leading underscore are private to this package; the modules share
them, and `_encode_split` and `_library_timeline` are exported for their tests.
"""

from .arrangement import (
    BASS_FIGURES,
    COMPING,
    FILTER_WIDTH,
    KIT_BASS,
    LEAD_RHYTHMS,
    PAN,
    STEMS,
    TITLE_WORDS,
    TRACK_XFADE_S,
    VARIANTS,
    Variant,
)
from .common import CHANNELS, CHUNK, MAX_DURATION_S, MIN_DURATION_S, SR, MixResult, TrackInfo
from .encode import AAC_BITRATE, AAC_FRAME, JOIN_PREROLL, JOIN_TAIL, _encode_split
from .instruments import KITS, TIMBRES, DrumKit
from .keys import CHORD_INTERVALS, MAJOR_KEYS, MAJOR_NAMES, MINOR_KEYS, MINOR_NAMES, NOTE_NAMES, key_name, parse_key
from .library import AudioInfo, _library_timeline, mix_library, validate_audio_file
from .loudness import BLOCK, TARGET_LUFS, WELCH_N, gated_loudness
from .mixdown import FADE_IN_S, FADE_OUT_S, SEGMENT_XFADE
from .procedural import compose_mix

__all__ = [
    "AAC_BITRATE",
    "AAC_FRAME",
    "BASS_FIGURES",
    "BLOCK",
    "CHANNELS",
    "CHORD_INTERVALS",
    "CHUNK",
    "COMPING",
    "FADE_IN_S",
    "FADE_OUT_S",
    "FILTER_WIDTH",
    "JOIN_PREROLL",
    "JOIN_TAIL",
    "KITS",
    "KIT_BASS",
    "LEAD_RHYTHMS",
    "MAJOR_KEYS",
    "MAJOR_NAMES",
    "MAX_DURATION_S",
    "MINOR_KEYS",
    "MINOR_NAMES",
    "MIN_DURATION_S",
    "NOTE_NAMES",
    "PAN",
    "SEGMENT_XFADE",
    "SR",
    "STEMS",
    "TARGET_LUFS",
    "TIMBRES",
    "TITLE_WORDS",
    "TRACK_XFADE_S",
    "VARIANTS",
    "WELCH_N",
    "AudioInfo",
    "DrumKit",
    "MixResult",
    "TrackInfo",
    "Variant",
    "_encode_split",
    "_library_timeline",
    "compose_mix",
    "gated_loudness",
    "key_name",
    "mix_library",
    "parse_key",
    "validate_audio_file",
]
