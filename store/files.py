"""Writing a whole file so readers (and crashes) see either the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_file(path: Path, produce: Callable[[Path], None], *, mode: int = 0o644) -> None:
    """`produce` writes a temporary file beside `path`; it is fsynced and renamed over `path`."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        os.chmod(temporary, mode)
        produce(temporary)
        with temporary.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    # Make the rename itself durable.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_file(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` atomically and durably."""

    def produce(temporary: Path) -> None:
        temporary.write_bytes(data)

    replace_file(path, produce, mode=mode)
