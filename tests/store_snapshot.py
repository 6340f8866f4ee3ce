"""Every record a store holds, through the store's own API: to prove an action changed nothing, or
only what it should. It names no table itself, so it keeps working whatever is stored where.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from store import Store

Record = tuple[str, ...]  # ("collection", name, key) or ("log", name, period, key)


def records(store: Store, skip: Set[str] = frozenset()) -> dict[Record, Any]:
    """Every record of every collection and log, except the tables named in `skip`."""
    state: dict[Record, Any] = {}
    for name in store.collection_names():
        if name not in skip:
            for key, doc in store.collection(name).all().items():
                state["collection", name, key] = doc
    for name in store.log_names():
        if name not in skip:
            log = store.log(name)
            for period in log.periods():
                for key, doc in log.all(period).items():
                    state["log", name, period, key] = doc
    return state


def changed(before: Mapping[Record, Any], after: Mapping[Record, Any]) -> set[Record]:
    """The records added, removed or changed between two snapshots."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
