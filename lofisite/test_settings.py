"""Settings for the test suite: the real settings with LOFISITE_TESTING on."""

import os

os.environ["LOFISITE_TESTING"] = "1"

from .settings import *  # noqa: E402,F403
