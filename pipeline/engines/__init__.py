"""Media engines of the lo-fi pipeline.

Plain functions over paths and numbers; nothing here imports Django or a project
app, so the pipeline services call them with arguments and store what they return.
Every engine writes its output through `atomic_output`: a temporary file in the
target directory that is renamed into place only when the output is complete.
"""

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Progress = Callable[[float], None]
Log = Callable[[str], None]


class EngineError(Exception):
    """A media operation failed; the message is meant for the operator."""


class TransientEngineError(EngineError):
    """A failure that may well go away on a retry (timeout, killed process)."""


def write_error(exc: OSError, path: Path | str) -> EngineError:
    """Turn an OSError raised while writing `path` into a readable EngineError."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return EngineError(f"disk full while writing {path}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return EngineError(f"cannot write to {path}: permission denied")
    if exc.errno == errno.EROFS:
        return EngineError(f"cannot write to {path}: read-only file system")
    return EngineError(f"cannot write to {path}: {exc.strerror or exc}")


@contextmanager
def atomic_output(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it to `path` if the block succeeds.

    The temporary name keeps the real suffix so tools that pick a format from the
    extension still work. On any failure the temporary file is removed, so a crashed
    or failed engine never leaves a half-written file under the final name.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
        os.close(fd)
    except OSError as exc:
        raise write_error(exc, path) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        # Only errors about our own output are write errors; others (a missing input,
        # say) keep their meaning and are the engine's to explain.
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) or exc.filename in (str(tmp), str(path)):
            raise write_error(exc, path) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
