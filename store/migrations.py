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

SCHEMA_VERSION = 1

MIGRATIONS: dict[int, Callable[[Store], None]] = {}
