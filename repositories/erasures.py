"""Receipts of erasures: per placeholder, when and how many records were removed or anonymised."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from repositories.personal import PersonalTable, nothing
from store import Store

ERASURES = "erasures"  # placeholder -> erased_at, removed and anonymised counts per table


class ErasuresRepository:
    """One receipt per erased person, under their placeholder (never their email)."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(ERASURES)

    def record(
        self, placeholder: str, now: datetime, removed: Mapping[str, int], anonymised: Mapping[str, int]
    ) -> None:
        """Add an erasure's counts to its receipt (a rerun after a crash adds to the same one)."""
        previous = self._collection.get(placeholder) or {}
        self._collection.put(
            placeholder,
            {
                "erased_at": previous.get("erased_at", now.isoformat()),
                "removed": dict(Counter(previous.get("removed", {})) + Counter(removed)),
                "anonymised": dict(Counter(previous.get("anonymised", {})) + Counter(anonymised)),
            },
        )


# Receipts name no one and are never rewritten by an erasure.
PERSONAL_TABLES = (PersonalTable(ERASURES, nothing, erasable=False),)
