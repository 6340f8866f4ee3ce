"""Writing a whole file so readers (and crashes) see either the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from support.atomic_file import fsync_dir

# Owner-only by default: what the product writes (mail files, reports, exports) is about people.
# Files meant for others (the Teams app package) ask for 0o644 explicitly.
PRIVATE = 0o600


def replace_file(path: Path, produce: Callable[[Path], None], *, mode: int = PRIVATE) -> None:
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
    fsync_dir(str(path.parent))  # make the rename itself durable


def write_file(path: Path, data: bytes, *, mode: int = PRIVATE) -> None:
    """Write `data` to `path` atomically and durably."""

    def produce(temporary: Path) -> None:
        temporary.write_bytes(data)

    replace_file(path, produce, mode=mode)
