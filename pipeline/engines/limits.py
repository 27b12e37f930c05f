"""Bounds that the pipeline's models, forms, API and commands validate against and the
engines enforce, defined once here.

A plain module (no Django, no numpy), so `pipeline.models` and the engines can both
import it without pulling in each other.
"""

MIN_DURATION_S = 30  # shortest mix, in seconds
MAX_DURATION_S = 3 * 60 * 60  # longest mix: three hours

MIN_BPM = 50  # slowest tempo a run may ask for
MAX_BPM = 110  # fastest tempo a run may ask for

MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024  # YouTube's cap on a custom thumbnail (2 MiB)
