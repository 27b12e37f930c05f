"""The media tree as one streamed tar.gz (memory bounded whatever its size) and its safe restore.

tarfile's stream modes ("w|gz", "r|gz") read and write one block at a time. A restore extracts
into a new folder beside MEDIA_ROOT (tarfile's "data" filter: no absolute paths, links out or
device files) and then swaps the folders, so a failed extraction leaves the media as it was.
"""

import os
import shutil
import tarfile
import uuid
from pathlib import Path

from django.conf import settings

from .engines import BackupError


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def dump_media(target: Path) -> dict:
    """Write MEDIA_ROOT to `target` (tar.gz, streamed); returns {"files": n, "bytes": n}."""
    root = media_root()
    files = total = 0
    with tarfile.open(str(target), "w|gz") as archive:
        if root.is_dir():
            for folder, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for filename in sorted(filenames):
                    path = Path(folder) / filename
                    if not path.is_file() or path.is_symlink():
                        continue
                    info = archive.gettarinfo(path, arcname=str(path.relative_to(root)))
                    with open(path, "rb") as handle:
                        archive.addfile(info, handle)
                    files += 1
                    total += info.size
    return {"files": files, "bytes": total}


def scan_media(path: Path) -> dict:
    """Read the archive through (streamed) and count what it holds, as dump_media() counted it."""
    files = total = 0
    try:
        with tarfile.open(str(path), "r|gz") as archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    while handle.read(1024 * 1024):
                        pass
                    files += 1
                    total += member.size
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"The media archive cannot be read: {exc}") from exc
    return {"files": files, "bytes": total}


def restore_media(path: Path) -> None:
    root = media_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    incoming = root.with_name(f".{root.name}-restore-{token}")
    previous = root.with_name(f".{root.name}-previous-{token}")
    try:
        with tarfile.open(str(path), "r|gz") as archive:
            archive.extractall(incoming, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        raise BackupError(f"The media archive could not be extracted: {exc}") from exc
    incoming.mkdir(exist_ok=True)  # an empty archive
    if root.exists():
        os.replace(root, previous)
    os.replace(incoming, root)
    shutil.rmtree(previous, ignore_errors=True)
