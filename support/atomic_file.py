"""Durable file-system steps: fsync a directory, create one durably, tell file versions apart."""

from __future__ import annotations

import os

# (st_dev, st_ino, st_mtime_ns, st_size): changes with every replace or write of a file.
FileIdentity = tuple[int, int, int, int]


def file_identity(st: os.stat_result) -> FileIdentity:
    """What tells one version of a file from another: it changes with every replace or write."""
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def fsync_dir(path: str) -> None:
    """Make renames and new entries in directory `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: str) -> None:
    """Create `path` and its missing parents, fsyncing each parent so the new entries are durable."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        ensure_dir(parent)
    try:
        os.mkdir(path)
    except FileExistsError:
        # Another process won the race; it fsyncs the parent itself.
        return
    fsync_dir(parent or ".")
