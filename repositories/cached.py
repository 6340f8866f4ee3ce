"""An in-memory view of a collection, kept current shard by shard as its generation changes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from store import Collection

T = TypeVar("T")
_UNSEEN = object()


class CachedCollection(Generic[T]):
    """Decoded records of a collection by key; re-reads only the shards another writer replaced.

    `current()` costs one 8-byte read when nothing changed. The returned mapping is never mutated
    afterwards (a change builds a new one), so callers may iterate it without a lock.
    """

    def __init__(self, collection: Collection, decode: Callable[[str, dict[str, Any]], T]) -> None:
        self._collection = collection
        self._decode = decode
        self._lock = threading.Lock()
        self._generation: object = _UNSEEN
        self._tokens: dict[int, object] = {}
        self._by_shard: dict[int, dict[str, T]] = {}
        # (records, version): swapped whole, so a reader never sees records of one version with
        # the number of another. The version lets derived indexes know when to rebuild.
        self._snapshot: tuple[Mapping[str, T], int] = (MappingProxyType({}), 0)

    def snapshot(self) -> tuple[Mapping[str, T], int]:
        """Every record by key as of now, and a number that changes whenever they do."""
        generation = self._collection.generation()
        if generation != self._generation:
            # The store's lock first, then ours: the order every path takes, so a thread that reads
            # inside a transaction and a thread refreshing here cannot wait for each other.
            with self._collection.transaction(), self._lock:
                if generation != self._generation:
                    self._refresh(generation)
        return self._snapshot

    def current(self) -> Mapping[str, T]:
        """Every record by key, as of now."""
        return self.snapshot()[0]

    def _refresh(self, generation: object) -> None:
        changes = self._collection.changes(self._tokens)
        if changes:
            items = dict(self._snapshot[0])
            for shard, (token, docs) in changes.items():
                for key in self._by_shard.get(shard, {}):
                    items.pop(key, None)
                decoded = {key: self._decode(key, doc) for key, doc in docs.items()}
                items.update(decoded)
                self._by_shard[shard] = decoded
                self._tokens[shard] = token
            self._snapshot = (MappingProxyType(items), self._snapshot[1] + 1)
        self._generation = generation


U = TypeVar("U")


class DerivedIndex(Generic[T, U]):
    """An index built from a CachedCollection's records, rebuilt only when those records change."""

    def __init__(self, cache: CachedCollection[T], build: Callable[[Mapping[str, T]], U]) -> None:
        self._cache = cache
        self._build = build
        self._lock = threading.Lock()
        self._built: tuple[int, U] | None = None

    def get(self) -> U:
        """The index for the collection as of now."""
        records, version = self._cache.snapshot()
        built = self._built
        if built is None or built[0] != version:
            with self._lock:
                if self._built is None or self._built[0] != version:
                    self._built = (version, self._build(records))
                built = self._built
        return built[1]
