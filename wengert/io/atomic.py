"""Atomic file writes: a crash leaves the old file or the new one, never half of one.

`atomic_write(path, data)` writes to a temporary file in the target's directory, named
`.<name>.tmp-<pid>-<random>` so that it can be recognised, flushes and fsyncs it, renames it over
the target (os.replace) and fsyncs the directory, so that the rename itself is durable. After a
successful rename it removes the temporary files that earlier, crashed writes to the same target
left behind: those whose writing process is gone, or that are older than an hour.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from wengert._checks import PATH, InstanceOf, check

BYTES = InstanceOf((bytes, bytearray, memoryview), "bytes")
_STALE_AFTER_S = 3600.0  # a temporary file this old belongs to no write still under way


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write the bytes `data` to `path` atomically, then remove stale temporaries of `path`.

    The old file (if any) stays whole until the new one is complete on disk. On any error,
    KeyboardInterrupt included, the temporary file is removed and the target is unchanged.
    """
    check("atomic_write", "path", path, PATH)
    check("atomic_write", "data", data, BYTES, fix="Encode text first, e.g. text.encode().")
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    remove_stale_temporaries(path)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that crashed writes to `path` left; the paths removed.

    A temporary is stale when the process that wrote it no longer runs, or when it is older
    than an hour; one still being written by a live process is left alone.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    pattern = re.compile(re.escape(f".{path.name}.tmp-") + r"(\d+)-[A-Za-z0-9_]+")
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and _is_stale(entry, int(match.group(1))):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def _is_stale(entry: os.DirEntry, pid: int) -> bool:
    try:
        age = time.time() - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    return age > _STALE_AFTER_S or not _process_runs(pid)


def _process_runs(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":
        return True  # another thread of ours may be writing it; Windows: age alone decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # exists but not ours (PermissionError), or cannot tell: keep it
    return True


def _fsync_directory(directory: Path) -> None:
    try:  # not every platform can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


__all__ = ["atomic_write", "remove_stale_temporaries"]
