"""The pipeline's health checks (listed in settings.HEALTH_CHECKS; monitoring knows no domain app)."""

import dataclasses
import os

from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning

from .engines import EngineError
from .engines.ffmpeg import ffmpeg_exe


@dataclasses.dataclass
class FfmpegCheck(HealthCheck):
    """ffmpeg is there and executable. Without it renders fail but the rest works: "degraded".

    Cheap on purpose (a health probe runs every few seconds): it looks at the file, it does not run it.
    """

    def run(self):
        try:
            path = ffmpeg_exe()
        except EngineError as exc:
            raise ServiceWarning(f"{exc}; video renders will fail") from exc
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ServiceWarning(f"ffmpeg at {path} is not an executable file; video renders will fail")
