"""Schema version of the store's data and the steps that upgrade older data.

`MIGRATIONS[n]` upgrades a store from version n to n + 1. Steps run at open, under the store's
lock, one at a time; the new version is stamped durably after each step, so a crash re-runs only
the step that was interrupted: write steps so that running one twice does no harm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.database import Store

SCHEMA_VERSION = 2


def _collections_may_have_own_files(store: Store) -> None:
    """1 -> 2: a collection may move from the main file to shard files of its own.

    Nothing to rewrite here: `Store.collection(name, shards=...)` moves a collection the first
    time its owner asks for the new layout. The version stops older code, which would look for
    such a collection in the main file only, from opening the data.
    """


MIGRATIONS: dict[int, Callable[[Store], None]] = {1: _collections_may_have_own_files}
