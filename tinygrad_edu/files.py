"""Files that survive a power loss: what the library's atomic writers share.

A file is written under a temporary name, synced to disk, and renamed into place: a reader then
sees the old file or the whole new one, never a part. The rename is an entry of the folder, so the
folder is synced too; without both syncs some filesystems (ext4 with delayed allocation, XFS) can
leave the final name pointing at an empty file after a power loss. ``Module.save`` and the MNIST
download write this way.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO

__all__ = ["sync_file", "sync_directory"]


def sync_file(file: IO[bytes] | IO[str]) -> None:
    """Flush ``file``'s buffer and fsync it: its data is on disk when this returns."""
    file.flush()
    os.fsync(file.fileno())


def sync_directory(folder: Path) -> None:
    """fsync a folder, so that a rename into it survives a power loss.

    Where a folder cannot be opened (Windows) or its filesystem cannot sync one, there is nothing
    more to do: the file's own data was synced before the rename.
    """
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)
