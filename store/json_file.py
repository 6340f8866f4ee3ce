"""One TinyDB JSON file, written atomically and cached until another process replaces it.

Callers hold the store's inter-process lock around every method here; nothing in this module
locks by itself.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Collection, Mapping
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from store.errors import StoreError
from support.atomic_file import FileIdentity, file_identity, fsync_dir

_Tables = dict[str, dict[str, Any]]

_TEMP_TAIL = re.compile(r"\.[0-9a-f]{16}\.tmp")
_LOG_TEMP = re.compile(r"\d+\.json\.[0-9a-f]{16}\.tmp")


def remove_stray_temps(main_path: str, logs_dir: str) -> None:
    """Delete temp files left by writers killed mid-write (call only under the store lock)."""
    directory, base = os.path.split(main_path)
    for name in os.listdir(directory):
        if name.startswith(base) and _TEMP_TAIL.fullmatch(name, len(base)):
            os.unlink(os.path.join(directory, name))
    for root, _dirs, files in os.walk(logs_dir):
        for name in files:
            if _LOG_TEMP.fullmatch(name):
                os.unlink(os.path.join(root, name))


def json_copy(value: Any, what: str) -> Any:
    """A deep copy of a JSON-compatible value, as the file would hold it."""
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise StoreError(f"{what} is not JSON-compatible: {exc}") from exc


class AtomicJSONStorage(Storage):
    """TinyDB storage: each write replaces the whole file atomically and durably.

    The parsed content is cached; `refresh` re-reads it only when the file on disk is no longer
    the one we read or wrote. We keep that file open, so its inode cannot be freed and its
    number reused by a later file, which makes the identity comparison exact.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._directory = os.path.dirname(path)
        self._data: _Tables | None = None
        self._identity: FileIdentity | None = None
        self._fd: int | None = None
        self._known = False

    def refresh(self) -> bool:
        """Load the file if it changed since we last saw it; True if the cached content changed."""
        try:
            current: FileIdentity | None = file_identity(os.stat(self.path))
        except FileNotFoundError:
            current = None
        if self._known and current == self._identity:
            return False
        self._forget()
        if current is not None:
            self._load()
        self._known = True
        return True

    def _load(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            identity = file_identity(os.fstat(fd))
            with open(fd, "rb", closefd=False) as handle:
                raw = handle.read()
            data = self._parse(raw)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._identity, self._data = fd, identity, data

    def _parse(self, raw: bytes) -> _Tables | None:
        if not raw.strip():
            return None  # TinyDB's convention for a new, empty database
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StoreError(f"{self.path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(table, dict) for table in data.values()):
            raise StoreError(f"{self.path} is not a TinyDB file (expected an object of tables)")
        return data

    def _forget(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._identity, self._data, self._known = None, None, None, False

    @property
    def identity(self) -> FileIdentity | None:
        """(device, inode, mtime, size) of the file content cached, or None."""
        return self._identity

    def read(self) -> _Tables | None:
        """The cached content (TinyDB's Table only mutates it right before calling write)."""
        return self._data

    def write(self, data: _Tables) -> None:
        """Write to a temp file in the same directory, fsync, rename over the file, fsync the directory."""
        tmp = f"{self.path}.{secrets.token_hex(8)}.tmp"
        try:
            payload = orjson.dumps(data, option=orjson.OPT_INDENT_2)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                identity = file_identity(os.fstat(fd))
                os.replace(tmp, self.path)
            except BaseException:
                os.close(fd)
                raise
            # Kept open: it pins the inode whose identity we now cache.
            self._forget()
            self._fd, self._identity, self._data, self._known = fd, identity, data, True
            fsync_dir(self._directory)
        except BaseException:
            # The cache may no longer match the disk (TinyDB already mutated it): re-read next time.
            self._forget()
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def close(self) -> None:
        """Release the held file and the cached content."""
        self._forget()


class KeyedTable:
    """A TinyDB table of `{"key": ..., "doc": ...}` records with an in-memory key -> doc id index."""

    def __init__(self, file: JsonFile, table: Table) -> None:
        self._file = file
        self._table = table
        self._index: dict[str, int] | None = None

    def reset(self) -> None:
        """Drop everything cached about the table after another process changed the file."""
        self._index = None
        # We bypass TinyDB's query cache and id counter, but reset them so any later use of the
        # Table's own methods cannot act on another process's stale view (duplicate ids).
        self._table.clear_cache()
        self._table._next_id = None

    def _records(self) -> Mapping[str, Any]:
        return self._table._read_table()

    def _key_index(self) -> dict[str, int]:
        if self._index is None:
            index: dict[str, int] = {}
            for doc_id, record in self._records().items():
                if not (
                    isinstance(record, dict)
                    and isinstance(record.get("key"), str)
                    and isinstance(record.get("doc"), dict)
                ):
                    name = self._table.name
                    raise StoreError(f"{self._file.path}: record {doc_id} of {name!r} is malformed")
                if record["key"] in index:
                    raise StoreError(f"{self._file.path}: key {record['key']!r} is stored twice")
                index[record["key"]] = int(doc_id)
            self._index = index
        return self._index

    def get(self, key: str) -> dict[str, Any] | None:
        """A copy of the document stored under `key`, or None."""
        doc_id = self._key_index().get(key)
        if doc_id is None:
            return None
        doc: dict[str, Any] = json_copy(self._records()[str(doc_id)]["doc"], "stored document")
        return doc

    def all(self) -> dict[str, dict[str, Any]]:
        """Copies of all documents by key."""
        self._key_index()  # validates the records
        docs: dict[str, dict[str, Any]] = json_copy(
            {record["key"]: record["doc"] for record in self._records().values()}, "stored documents"
        )
        return docs

    @property
    def file_identity(self) -> object:
        """Identity of the file content this table reflects (changes with every replace)."""
        return self._file.identity

    def keys(self) -> list[str]:
        """The stored keys."""
        return list(self._key_index())

    def __len__(self) -> int:
        return len(self._key_index())

    def __contains__(self, key: str) -> bool:
        return key in self._key_index()

    def write(
        self, puts: Mapping[str, dict[str, Any]], deletes: Collection[str] = (), replace: bool = False
    ) -> None:
        """One durable file write: optionally empty the table, delete keys, then insert or replace docs.

        `puts` must already be private JSON copies: they become the cached content.
        """
        index = self._key_index()

        def updater(table: dict[int, Mapping[str, Any]]) -> None:
            # Ids come from the table being written (read under the lock), never from a per-process
            # counter, so two processes cannot hand out the same id.
            next_id = max(table, default=0) + 1
            if replace:
                table.clear()
                index.clear()
            for key in deletes:
                doc_id = index.pop(key, None)
                if doc_id is not None:
                    del table[doc_id]
            for key, doc in puts.items():
                doc_id = index.get(key)
                if doc_id is None:
                    doc_id = index[key] = next_id
                    next_id += 1
                table[doc_id] = {"key": key, "doc": doc}

        try:
            self._table._update_table(updater)
        except BaseException:
            self._index = None  # the updater may have changed it before the write failed
            raise


class JsonFile:
    """A TinyDB database on an AtomicJSONStorage, with keyed tables."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.storage = AtomicJSONStorage(path)
        storage = self.storage
        self._db = TinyDB(storage=lambda: storage)
        self._tables: dict[str, KeyedTable] = {}

    def refresh(self) -> None:
        """See the latest content of the file (cheap when it has not changed)."""
        if self.storage.refresh():
            for table in self._tables.values():
                table.reset()

    def table(self, name: str) -> KeyedTable:
        """The keyed table `name` (created in the file on first write)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = KeyedTable(self, self._db.table(name))
        return table

    @property
    def identity(self) -> object:
        """Identity of the file last read or written (None when there is no file)."""
        return self.storage.identity

    def drop_table(self, name: str) -> None:
        """Remove table `name` from the file, in one durable write."""
        self._db.drop_table(name)
        self._tables.pop(name, None)

    def table_names(self) -> set[str]:
        """Names of the tables present in the file."""
        names: set[str] = self._db.tables()
        return names

    def close(self) -> None:
        """Release the file."""
        self._db.close()
