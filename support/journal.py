"""Append-only journals: one JSON line per record, one file per period, appended and fsynced.

For records written far more often than they are read whole, such as the outcome of each delivery
attempt: appending costs the record, where rewriting a TinyDB shard costs the shard. A write
killed half-way leaves a torn last line, which readers skip and the next append cuts off.
Callers hold the store's lock around every method that changes a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from support.atomic_file import ensure_dir, fsync_dir

_SUFFIX = ".jsonl"


JournalPosition = tuple[tuple[int, int], int]  # (the file's device and inode, bytes read)


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


class Journal:
    """Records appended per period under `<directory>/<period>.jsonl`."""

    def __init__(self, directory: str) -> None:
        self._directory = directory

    def _path(self, period: str) -> str:
        return os.path.join(self._directory, period + _SUFFIX)

    def append(self, period: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records durably (one write, one fsync)."""
        try:
            payload = b"".join(orjson.dumps(dict(record)) + b"\n" for record in records)
        except orjson.JSONEncodeError as exc:
            # A caller's bug, not bad data on disk: orjson's error is a TypeError, kept as one.
            raise TypeError(f"journal record is not JSON-compatible: {exc}") from exc
        if not payload:
            return
        ensure_dir(self._directory)
        path = self._path(period)
        created = not os.path.exists(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            end = self._cut_torn_tail(fd, end)
            view = memoryview(payload)
            offset = end
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self._directory)

    @staticmethod
    def _cut_torn_tail(fd: int, end: int) -> int:
        # A writer killed mid-append left a line without its newline: drop it before appending.
        if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
            return end
        start = max(0, end - (1 << 20))  # a line is far shorter than this
        tail = os.pread(fd, end - start, start)
        cut = start + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
        os.ftruncate(fd, cut)
        return cut

    def read(
        self, period: str, since: tuple[tuple[int, int], int] | None = None
    ) -> tuple[list[dict[str, Any]], tuple[tuple[int, int], int] | None]:
        """Records appended after position `since` (None: from the start), and the new position.

        A position names the file and an offset; when the file was replaced (cleared), reading
        starts again from its beginning.
        """
        try:
            fd = os.open(self._path(period), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return [], None
        try:
            identity = _identity(os.fstat(fd))
            offset = since[1] if since is not None and since[0] == identity else 0
            data = b""
            while chunk := os.pread(fd, 1 << 20, offset + len(data)):
                data += chunk
        finally:
            os.close(fd)
        complete = data[: data.rfind(b"\n") + 1]
        records: list[dict[str, Any]] = []
        for line in complete.splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a torn line that a later append already cut away on disk
            if isinstance(record, dict):
                records.append(record)
        return records, (identity, offset + len(complete))

    def clear(self, period: str) -> None:
        """Empty a period's journal (atomically: readers see all of it or an empty file)."""
        path = self._path(period)
        if not os.path.exists(path):
            return
        tmp = path + ".clearing"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(self._directory)

    def periods(self) -> list[str]:
        """Periods that have a journal file."""
        try:
            names = os.listdir(self._directory)
        except FileNotFoundError:
            return []
        return sorted(name[: -len(_SUFFIX)] for name in names if name.endswith(_SUFFIX))
