"""Atomic file writes: a temporary name in the same directory, then rename, so a crash
never leaves half a specification behind. Temporary names carry `.ccmeter-` so that the
clean-up after a crash (metering.manifest.recover) removes only what ccmeter wrote.
Files get the process umask's mode (0644 by default), like any file a user creates."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

TMP_MARK = ".ccmeter-"


def file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), file_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def fsync_dir(path: Path) -> None:
    """Makes a rename in `path` durable (a directory entry is data too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
