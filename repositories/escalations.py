"""Escalations raised by check-out and peer flags (coordinators only), and facilitators' introductions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store import Store

ESCALATIONS = "escalations"  # id -> escalation (coordinators only; never shown to whom it is about)
INTRODUCTIONS = "introductions"  # "group:month" -> the facilitator's message and how often sent
Doc = dict[str, Any]


class EscalationsRepository:
    """Escalations by id, in a file of their own (a safeguarding signal must not wait on others)."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(ESCALATIONS, shards=4)

    def get(self, ident: str) -> Doc | None:
        """One escalation."""
        return self._collection.get(ident)

    def all(self) -> list[Doc]:
        """Every escalation, oldest first."""
        return sorted(self._collection.all().values(), key=lambda doc: str(doc["created_at"]))

    def put(self, ident: str, doc: Mapping[str, Any]) -> None:
        """Open or update an escalation."""
        self._collection.put(ident, doc)


class IntroductionsRepository:
    """A facilitator's introduction of a group's month, and how many times it was sent."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(INTRODUCTIONS, shards=16)

    def get(self, group_id: str, month: str) -> Doc | None:
        """The introduction of a group's month."""
        return self._collection.get(f"{group_id}:{month}")

    def put(self, group_id: str, month: str, doc: Mapping[str, Any]) -> None:
        """Record an introduction (and its send count)."""
        self._collection.put(f"{group_id}:{month}", doc)
