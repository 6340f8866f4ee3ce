"""Store: one programme's data, safe against kill -9 and shared by several processes."""

from __future__ import annotations

import fcntl
import os
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any

from store import migrations
from store.atomic_file import JsonFile, KeyedTable, ensure_dir, json_copy, remove_stray_temps
from store.errors import StoreError

# Names become file and directory names: no separators, no dots, nothing hidden.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_META = "_meta"  # table in the main file; its leading "_" keeps it apart from collection names
_SCHEMA_KEY = "schema"
_LOG_PREFIX = "log:"
_LOG_TABLE = "_default"  # TinyDB's default table, so `TinyDB(shard_path).all()` reads a shard
# Open log files are cached with their parsed content; years of periods x shards would not fit.
_OPEN_LOG_FILES = 32
DEFAULT_SHARDS = 8


def _check_name(kind: str, name: str) -> str:
    if not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise StoreError(f"invalid {kind} name {name!r}: letters, digits, '-' and '_', not first")
    return name


def _check_key(key: str) -> str:
    if not isinstance(key, str):
        raise StoreError(f"key {key!r} is not a string")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StoreError(f"key {key!r} is not valid Unicode") from exc
    return key


def _private_doc(key: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Our own JSON copy of a caller's document, so later changes to theirs cannot reach the cache."""
    _check_key(key)
    if not isinstance(doc, Mapping):
        raise StoreError(f"document for {key!r} is not a mapping")
    copy: dict[str, Any] = json_copy(dict(doc), f"document for {key!r}")
    return copy


def _private_docs(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: _private_doc(key, doc) for key, doc in docs.items()}


class Store:
    """One programme's data: a main TinyDB JSON file at `path`, high-volume logs under `<path>.d/`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.path.abspath(os.fspath(path))
        self._logs_dir = self._path + ".d"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._version = 0  # 0 until the schema is checked at open
        self._main = JsonFile(self._path)
        self._log_files: OrderedDict[str, JsonFile] = OrderedDict()
        ensure_dir(os.path.dirname(self._path))
        self._lock_fd = os.open(self._path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            with self._locked():
                remove_stray_temps(self._path, self._logs_dir)
                self._open_schema()
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> str:
        """Absolute path of the main file."""
        return self._path

    @property
    def schema_version(self) -> int:
        """Schema version of the data (equals migrations.SCHEMA_VERSION once opened)."""
        return self._version

    def close(self) -> None:
        """Release files and the lock file; the store cannot be used afterwards."""
        with self._thread_lock:
            if self._closed:
                return
            if self._depth:
                raise StoreError("cannot close a store inside its own transaction")
            self._closed = True
            self._main.close()
            for file in self._log_files.values():
                file.close()
            self._log_files.clear()
            os.close(self._lock_fd)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[None]:
        """Hold the store's exclusive lock (re-entrant) so several reads and writes see no other writer."""
        return self._locked()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            if self._closed:
                raise StoreError(f"store {self._path} is closed")
            if self._depth == 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                if self._depth == 1:
                    self._check_schema_unchanged()
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _meta(self) -> KeyedTable:
        return self._main_table(_META)

    def _main_table(self, name: str) -> KeyedTable:
        self._main.refresh()
        return self._main.table(name)

    def _open_schema(self) -> None:
        meta = self._meta()
        stamp = meta.get(_SCHEMA_KEY)
        if stamp is None:
            if self._main.table_names() - {_META}:
                raise StoreError(f"{self._path} holds data but no schema version")
            meta.write({_SCHEMA_KEY: {"version": migrations.SCHEMA_VERSION}})
            self._version = migrations.SCHEMA_VERSION
            return
        version = stamp.get("version")
        if not isinstance(version, int) or version < 1:
            raise StoreError(f"{self._path} has an invalid schema version {version!r}")
        if version > migrations.SCHEMA_VERSION:
            raise StoreError(
                f"{self._path} was written with schema version {version}; this code understands up to "
                f"{migrations.SCHEMA_VERSION}: upgrade the software before opening it"
            )
        while version < migrations.SCHEMA_VERSION:
            step = migrations.MIGRATIONS.get(version)
            if step is None:
                raise StoreError(f"no migration from schema version {version}")
            self._version = version
            step(self)
            version += 1
            self._meta().write({_SCHEMA_KEY: {"version": version}})
        self._version = version

    def _check_schema_unchanged(self) -> None:
        # A newer program may have migrated the data while this one runs: stop rather than write
        # old-shaped records into it. Cheap: the stamp is re-read only when the main file changed.
        if self._version == 0:
            return
        stamp = self._meta().get(_SCHEMA_KEY)
        if stamp is None or stamp.get("version") != self._version:
            raise StoreError(f"{self._path} changed schema version while open; restart to use it")

    def collection(self, name: str) -> Collection:
        """A small keyed table in the main file (one TinyDB table per name)."""
        return Collection(self, _check_name("collection", name))

    def log(self, name: str, shards: int | None = None) -> PartitionedLog:
        """High-volume records in one TinyDB file per (period, shard); the shard count is fixed per log.

        `shards=None` opens an existing log with the count it was registered with (8 for a new one).
        """
        _check_name("log", name)
        if shards is not None and (not isinstance(shards, int) or shards < 1):
            raise StoreError(f"shards must be a positive integer, not {shards!r}")
        with self._locked():
            meta = self._meta()
            registered = meta.get(_LOG_PREFIX + name)
            if registered is None:
                shards = shards or DEFAULT_SHARDS
                meta.write({_LOG_PREFIX + name: {"shards": shards}})
            elif shards is None:
                shards = int(registered["shards"])
            elif registered.get("shards") != shards:
                raise StoreError(f"log {name!r} has {registered.get('shards')} shards, not {shards}")
        return PartitionedLog(self, name, shards)

    def collection_names(self) -> list[str]:
        """Names of the collections that have been written to."""
        with self._locked():
            self._main.refresh()
            return sorted(self._main.table_names() - {_META})

    def log_names(self) -> list[str]:
        """Names of the logs ever opened on this store."""
        with self._locked():
            keys = self._meta().keys()
        return sorted(key.removeprefix(_LOG_PREFIX) for key in keys if key.startswith(_LOG_PREFIX))

    def _log_dir(self, name: str) -> str:
        return os.path.join(self._logs_dir, name)

    def _log_table(self, name: str, period: str, shard: int, for_write: bool) -> KeyedTable:
        directory = os.path.join(self._log_dir(name), period)
        path = os.path.join(directory, f"{shard}.json")
        file = self._log_files.get(path)
        if file is None:
            file = self._log_files[path] = JsonFile(path)
            if len(self._log_files) > _OPEN_LOG_FILES:
                self._log_files.popitem(last=False)[1].close()
        else:
            self._log_files.move_to_end(path)
        if for_write:
            ensure_dir(directory)
        file.refresh()
        return file.table(_LOG_TABLE)


class Collection:
    """A small keyed table in the store's main file; every write rewrites that file."""

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self._name = name

    @property
    def name(self) -> str:
        """The collection's name."""
        return self._name

    def _table(self) -> KeyedTable:
        return self._store._main_table(self._name)

    def get(self, key: str) -> dict[str, Any] | None:
        """A copy of the document under `key`, or None."""
        with self._store._locked():
            return self._table().get(key)

    def all(self) -> dict[str, dict[str, Any]]:
        """Copies of all documents, by key."""
        with self._store._locked():
            return self._table().all()

    def put(self, key: str, doc: Mapping[str, Any]) -> None:
        """Insert or replace one document; durable on return."""
        private = {key: _private_doc(key, doc)}
        with self._store._locked():
            self._table().write(private)

    def put_many(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Insert or replace many documents in one durable write."""
        private = _private_docs(docs)
        if not private:
            return
        with self._store._locked():
            self._table().write(private)

    def replace_all(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Make the collection exactly `docs`, in one durable write."""
        private = _private_docs(docs)
        with self._store._locked():
            self._table().write(private, replace=True)

    def delete(self, key: str) -> bool:
        """Remove `key`; True if it was there. Durable on return."""
        with self._store._locked():
            table = self._table()
            if key not in table:
                return False
            table.write({}, deletes=[key])
            return True

    def __len__(self) -> int:
        with self._store._locked():
            return len(self._table())


class PartitionedLog:
    """High-volume keyed records split by period and by a stable hash of the key.

    Each (period, shard) is its own file, so a write costs the size of one shard of one period,
    however many years of history the log holds.
    """

    def __init__(self, store: Store, name: str, shards: int) -> None:
        self._store = store
        self._name = name
        self._shards = shards

    @property
    def name(self) -> str:
        """The log's name."""
        return self._name

    def _shard(self, key: str) -> int:
        # crc32, not hash(): Python salts str hashes per process.
        return zlib.crc32(_check_key(key).encode("utf-8")) % self._shards

    def _table(self, period: str, shard: int, for_write: bool = False) -> KeyedTable:
        return self._store._log_table(self._name, period, shard, for_write)

    def put(self, period: str, key: str, doc: Mapping[str, Any]) -> None:
        """Insert or replace one record of `period`; durable on return."""
        _check_name("period", period)
        private = {key: _private_doc(key, doc)}
        with self._store._locked():
            self._table(period, self._shard(key), for_write=True).write(private)

    def put_many(self, period: str, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Insert or replace many records of `period`: one durable write per shard touched."""
        _check_name("period", period)
        by_shard: dict[int, dict[str, dict[str, Any]]] = {}
        for key, doc in _private_docs(docs).items():
            by_shard.setdefault(self._shard(key), {})[key] = doc
        with self._store._locked():
            for shard, shard_docs in sorted(by_shard.items()):
                self._table(period, shard, for_write=True).write(shard_docs)

    def get(self, period: str, key: str) -> dict[str, Any] | None:
        """A copy of the record under `key` in `period`, or None."""
        _check_name("period", period)
        with self._store._locked():
            return self._table(period, self._shard(key)).get(key)

    def delete(self, period: str, key: str) -> bool:
        """Remove one record; True if it was there. Durable on return."""
        _check_name("period", period)
        with self._store._locked():
            table = self._table(period, self._shard(key))
            if key not in table:
                return False
            table.write({}, deletes=[key])
            return True

    def all(self, period: str) -> dict[str, dict[str, Any]]:
        """Copies of every record of `period`, by key."""
        _check_name("period", period)
        docs: dict[str, dict[str, Any]] = {}
        with self._store._locked():
            for shard in range(self._shards):
                docs.update(self._table(period, shard).all())
        return docs

    def periods(self) -> list[str]:
        """Periods that have records (or had), sorted."""
        with self._store._locked():
            try:
                entries = os.listdir(self._store._log_dir(self._name))
            except FileNotFoundError:
                return []
        return sorted(entry for entry in entries if _NAME.fullmatch(entry))
