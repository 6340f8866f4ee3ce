"""Store: one programme's data, safe against kill -9 and shared by several processes."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any

from store import migrations
from store.errors import StoreError
from store.json_file import JsonFile, KeyedTable, json_copy, remove_stray_temps
from support.atomic_file import ensure_dir, file_identity
from support.journal import Journal

# Names become file and directory names: no separators, no dots, nothing hidden.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_META = "_meta"  # table in the main file; its leading "_" keeps it apart from collection names
_SCHEMA_KEY = "schema"
_LOG_PREFIX = "log:"
_LOG_TABLE = "_default"  # TinyDB's default table, so `TinyDB(shard_path).all()` reads a shard
_COLLECTION_PREFIX = "collection:"  # meta key of a collection kept in its own shard files
_COLLECTION_PERIOD = "all"  # such a collection is a log with one fixed partition
_GENERATION = "generation"  # per shard-file collection: a counter bumped by every write
# Open log files are cached with their parsed content: a shard-file collection keeps all of its
# shards open, and a few months of logs theirs. Each costs one file descriptor.
_OPEN_LOG_FILES = 1024
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


def _own_files(meta_keys: Iterable[str]) -> set[str]:
    """Collections with shard files of their own (registered, like logs, in the main file's meta)."""
    return {k.removeprefix(_COLLECTION_PREFIX) for k in meta_keys if k.startswith(_COLLECTION_PREFIX)}


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
        self._generation_fds: dict[str, int] = {}
        # Its own lock: reading a generation must never wait for a writer holding the store.
        self._generation_lock = threading.Lock()
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
            with self._generation_lock:
                for fd in self._generation_fds.values():
                    os.close(fd)
                self._generation_fds.clear()
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

    def collection(self, name: str, shards: int | None = None) -> Collection:
        """A keyed table: in the main file, or with `shards` in shard files of its own.

        `shards` matters only the first time a name is used: a collection with its own files keeps
        them (a collection still in the main file moves there, once). Without `shards` a name is
        opened as it was registered, else in the main file. A write to a collection with its own
        files rewrites one shard, never the main file or the other shards.
        """
        _check_name("collection", name)
        if shards is not None and (not isinstance(shards, int) or shards < 1):
            raise StoreError(f"shards must be a positive integer, not {shards!r}")
        with self._locked():
            registered = self._meta().get(_COLLECTION_PREFIX + name)
            if registered is None and shards is not None:
                self._move_to_own_files(name, shards)
                registered = {"shards": shards}
            elif registered is not None and name in self._main.table_names():
                # A move interrupted after registering: the main file's copy is stale, drop it.
                self._main.drop_table(name)
        if registered is None:
            return Collection(self, name)
        return Collection(self, name, PartitionedLog(self, name, int(registered["shards"])))

    def _move_to_own_files(self, name: str, shards: int) -> None:
        # Copy (idempotent), register, then drop the main file's table: a crash at any point
        # leaves either the old layout or the new one with a stale copy that the next open drops.
        legacy = self._main_table(name).all() if name in self._main.table_names() else {}
        files = PartitionedLog(self, name, shards)
        if legacy:
            files.put_many(_COLLECTION_PERIOD, legacy)
        self._meta().write({_COLLECTION_PREFIX + name: {"shards": shards}})
        if name in self._main.table_names():
            self._main.drop_table(name)

    def log(self, name: str, shards: int | None = None, *, new_shards: int | None = None) -> PartitionedLog:
        """High-volume records in one TinyDB file per (period, shard); the shard count is fixed per log.

        `shards=None` opens an existing log with the count it was registered with; a new one gets
        `new_shards` (default 8). A log written per person at organisation scale wants more shards,
        so that a write rewrites a few hundred records, not thousands.
        """
        _check_name("log", name)
        if shards is not None and (not isinstance(shards, int) or shards < 1):
            raise StoreError(f"shards must be a positive integer, not {shards!r}")
        with self._locked():
            meta = self._meta()
            if meta.get(_COLLECTION_PREFIX + name) is not None:
                raise StoreError(f"{name!r} is a collection, not a log")
            registered = meta.get(_LOG_PREFIX + name)
            if registered is None:
                shards = shards or new_shards or DEFAULT_SHARDS
                meta.write({_LOG_PREFIX + name: {"shards": shards}})
            elif shards is None:
                shards = int(registered["shards"])
            elif registered.get("shards") != shards:
                raise StoreError(f"log {name!r} has {registered.get('shards')} shards, not {shards}")
        return PartitionedLog(self, name, shards)

    def journal(self, name: str) -> Journal:
        """An append-only journal (one JSON line per record, a file per period) under `<path>.d/`."""
        _check_name("journal", name)
        return Journal(self._log_dir(name))

    def collection_names(self) -> list[str]:
        """Names of the collections that have been written to (or given their own files)."""
        with self._locked():
            self._main.refresh()
            return sorted((self._main.table_names() - {_META}) | _own_files(self._meta().keys()))

    def has_log(self, name: str) -> bool:
        """Whether log `name` exists (opening one with `log` would register it)."""
        with self._locked():
            return self._meta().get(_LOG_PREFIX + name) is not None

    def log_names(self) -> list[str]:
        """Names of the logs ever opened on this store (collections with their own files excluded)."""
        with self._locked():
            keys = self._meta().keys()
        logs = {key.removeprefix(_LOG_PREFIX) for key in keys if key.startswith(_LOG_PREFIX)}
        return sorted(logs - _own_files(keys))

    def files_mentioning(self, pattern: re.Pattern[str]) -> list[str]:
        """Data files (the main file and every file under `<path>.d/`) whose raw text matches, relative
        to the data file's folder: the last check of an erasure, whatever table a record was in."""
        paths = [self.path]
        for root, _dirs, files in os.walk(self.path + ".d"):
            paths.extend(os.path.join(root, name) for name in sorted(files))
        found = []
        base = os.path.dirname(self.path)
        for path in sorted(paths):
            try:
                with open(path, "rb") as handle:
                    text = handle.read().decode("utf-8", errors="replace")
            except FileNotFoundError:
                continue
            if pattern.search(text):
                found.append(os.path.relpath(path, base))
        return found

    def _generation_fd(self, name: str, create: bool) -> int | None:
        with self._generation_lock:
            fd = self._generation_fds.get(name)
            if fd is None:
                directory = self._log_dir(name)
                path = os.path.join(directory, _GENERATION)
                if create:
                    ensure_dir(directory)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                else:
                    try:
                        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
                    except FileNotFoundError:
                        return None  # never written: reading creates nothing
                self._generation_fds[name] = fd
            return fd

    def _generation(self, name: str) -> int:
        # A hint for caches, not data: read without the store lock, written in place without
        # fsync (after a machine crash every process starts with empty caches anyway).
        fd = self._generation_fd(name, create=False)
        raw = os.pread(fd, 8, 0) if fd is not None else b""
        return struct.unpack("<Q", raw)[0] if len(raw) == 8 else 0

    def _bump_generation(self, name: str) -> None:
        """Under the store lock, after a write to collection `name`."""
        fd = self._generation_fd(name, create=True)
        assert fd is not None
        os.pwrite(fd, struct.pack("<Q", self._generation(name) + 1), 0)

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
    """A keyed table: in the store's main file, or split over shard files of its own.

    Every write is durable on return. In the main file a write rewrites that file; with shard
    files it rewrites the shards it touches and bumps the collection's generation, which readers
    compare (one 8-byte read) to learn that another process wrote.
    """

    def __init__(self, store: Store, name: str, files: PartitionedLog | None = None) -> None:
        self._store = store
        self._name = name
        self._files = files

    @property
    def name(self) -> str:
        """The collection's name."""
        return self._name

    @property
    def shards(self) -> int:
        """How many shard files hold the collection (0: it lives in the main file)."""
        return self._files.shards if self._files else 0

    def _table(self) -> KeyedTable:
        return self._store._main_table(self._name)

    def get(self, key: str) -> dict[str, Any] | None:
        """A copy of the document under `key`, or None."""
        if self._files:
            return self._files.get(_COLLECTION_PERIOD, key)
        with self._store._locked():
            return self._table().get(key)

    def all(self) -> dict[str, dict[str, Any]]:
        """Copies of all documents, by key."""
        if self._files:
            return self._files.all(_COLLECTION_PERIOD)
        with self._store._locked():
            return self._table().all()

    def put(self, key: str, doc: Mapping[str, Any]) -> None:
        """Insert or replace one document; durable on return."""
        self.put_many({key: doc})

    def put_many(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Insert or replace many documents: one durable write (per shard touched)."""
        private = _private_docs(docs)
        if not private:
            return
        with self._store._locked():
            if self._files:
                self._files.put_many(_COLLECTION_PERIOD, private)
                self._bump()
            else:
                self._table().write(private)

    def replace_all(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Make the collection exactly `docs`: one durable write (per shard: atomic with one shard)."""
        private = _private_docs(docs)
        with self._store._locked():
            if self._files:
                self._files.replace_all(_COLLECTION_PERIOD, private)
                self._bump()
            else:
                self._table().write(private, replace=True)

    def delete(self, key: str) -> bool:
        """Remove `key`; True if it was there. Durable on return."""
        return bool(self.delete_many([key]))

    def delete_many(self, keys: Iterable[str]) -> list[str]:
        """Remove keys in one durable write (per shard touched); returns those that were there."""
        wanted = list(dict.fromkeys(keys))
        with self._store._locked():
            if self._files:
                gone = self._files.delete_many(_COLLECTION_PERIOD, wanted)
                if gone:
                    self._bump()
                return gone
            table = self._table()
            gone = [key for key in wanted if key in table]
            if gone:
                table.write({}, deletes=gone)
            return gone

    def __len__(self) -> int:
        if self._files:
            return self._files.count(_COLLECTION_PERIOD)
        with self._store._locked():
            return len(self._table())

    def transaction(self) -> AbstractContextManager[None]:
        """The store's lock (see Store.transaction)."""
        return self._store.transaction()

    # -- change tracking, for in-memory indexes ----------------------------------------------------
    def generation(self) -> object:
        """A token that changes whenever the collection may have changed (cheap: no lock, no parse)."""
        if self._files:
            return self._store._generation(self._name)
        try:
            return file_identity(os.stat(self._store.path))
        except FileNotFoundError:
            return None

    def changes(self, seen: Mapping[int, object]) -> dict[int, tuple[object, dict[str, dict[str, Any]]]]:
        """For each shard whose content differs from `seen` (shard -> token): its new token and docs."""
        if self._files:
            return self._files.shard_changes(_COLLECTION_PERIOD, seen)
        with self._store._locked():
            self._store._main.refresh()
            token = self._store._main.identity
            if seen.get(0) == token and 0 in seen:
                return {}
            return {0: (token, self._table().all())}

    def _bump(self) -> None:
        self._store._bump_generation(self._name)


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

    @property
    def shards(self) -> int:
        """The number of shard files per period."""
        return self._shards

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
        return bool(self.delete_many(period, [key]))

    def count(self, period: str) -> int:
        """How many records `period` holds (no copies made)."""
        _check_name("period", period)
        with self._store._locked():
            return sum(len(self._table(period, shard)) for shard in range(self._shards))

    def delete_many(self, period: str, keys: Iterable[str]) -> list[str]:
        """Remove records of `period`: one durable write per shard touched; returns those that were there."""
        _check_name("period", period)
        by_shard: dict[int, list[str]] = {}
        for key in keys:
            by_shard.setdefault(self._shard(key), []).append(key)
        gone: list[str] = []
        with self._store._locked():
            for shard, shard_keys in sorted(by_shard.items()):
                table = self._table(period, shard)
                present = [key for key in shard_keys if key in table]
                if present:
                    table.write({}, deletes=present)
                    gone.extend(present)
        return gone

    def replace_all(self, period: str, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Make `period` exactly `docs`: one durable write per shard (atomic only with one shard)."""
        _check_name("period", period)
        by_shard: dict[int, dict[str, dict[str, Any]]] = {shard: {} for shard in range(self._shards)}
        for key, doc in _private_docs(docs).items():
            by_shard[self._shard(key)][key] = doc
        with self._store._locked():
            for shard, shard_docs in by_shard.items():
                table = self._table(period, shard, for_write=True)
                if shard_docs or len(table):
                    table.write(shard_docs, replace=True)

    def shard_changes(
        self, period: str, seen: Mapping[int, object]
    ) -> dict[int, tuple[object, dict[str, dict[str, Any]]]]:
        """Each shard of `period` whose file differs from `seen` (shard -> token): new token and docs."""
        _check_name("period", period)
        changed: dict[int, tuple[object, dict[str, dict[str, Any]]]] = {}
        with self._store._locked():
            for shard in range(self._shards):
                table = self._table(period, shard)
                token = table.file_identity
                if shard in seen and seen[shard] == token:
                    continue
                changed[shard] = (token, table.all())
        return changed

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
