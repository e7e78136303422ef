"""Files the toolkit writes: always atomically, never half-written after a crash."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, *, mode: int = 0o600, dir_mode: int = 0o700) -> None:
    """Write `text` to a temporary file beside `path`, fsync it, then rename it over `path`.

    A reader sees the old file or the new one, never a mix. `mode` defaults to 0600
    because most of what the toolkit writes is state that belongs to one user; a new
    parent directory is created `dir_mode` (0700) for the same reason.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
