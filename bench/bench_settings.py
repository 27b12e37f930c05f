"""Settings for bench/bench_web.py only: the product's settings plus a bench urlconf that adds a bare
JSON view (the baseline the API and /health/live/ are compared with). Never used by the product.

`DASHBOARD_CACHE_SECONDS=0` in the environment (lofisite.settings reads it) gives the uncached
dashboard of the comparison.
"""

import os
from pathlib import Path

from lofisite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Static files collected by the bench into its temporary folder (the manifest storage needs them).
if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
