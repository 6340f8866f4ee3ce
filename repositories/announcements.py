"""Announcements coordinators sent: what, to whom (described), when, and a digest for repeats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store import Store

ANNOUNCEMENTS = "announcements"  # id -> what was sent, to whom (described) and how many
Doc = dict[str, Any]


class AnnouncementsRepository:
    """Announcements by id."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(ANNOUNCEMENTS, shards=1)

    def get(self, ident: str) -> Doc | None:
        """One announcement."""
        return self._collection.get(ident)

    def all(self) -> dict[str, Doc]:
        """Every announcement by id."""
        return self._collection.all()

    def put(self, ident: str, doc: Mapping[str, Any]) -> None:
        """Record an announcement."""
        self._collection.put(ident, doc)
