"""Settings for bench/bench_web.py only: the product's settings plus a bench urlconf that adds a bare
JSON view (the baseline the API and /health/live/ are compared with). Never used by the product.

`DASHBOARD_CACHE_SECONDS=0` in the environment (lofisite.settings reads it) gives the uncached
dashboard of the comparison; that server also gets `BENCH_CACHE_PREFIX`, a key prefix of its own: with
the other server's cache shared (same Redis index or cache folder) it read the cached server's entries
(a hit: "uncached" was cached) and deleted them (a set with timeout 0 deletes), so the two measured
nearly the same thing.
"""

import os
from pathlib import Path

from lofisite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Static files collected by the bench into its temporary folder (the manifest storage needs them).
if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])

if os.environ.get("BENCH_CACHE_PREFIX"):
    CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]  # noqa: F405
