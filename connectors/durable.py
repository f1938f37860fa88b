"""Making a rename durable: the one directory fsync every writer of whole files uses (publication,
the central snapshots, the store's read-back)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename or a new entry in it survives a crash (POSIX). Windows
    cannot open a directory: there is nothing to do. Other errors are the caller's."""
    if os.name == "nt":  # pragma: no cover - no directory handles
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
