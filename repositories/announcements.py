"""Announcements coordinators sent: what, to whom (described), when, and a digest for repeats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from programme.privacy import Identity
from repositories.personal import PersonalTable, Subject
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

    def digests_sent_by(self, identity: Identity) -> list[str]:
        """The digests of the person's announcements (each hashes the sender's email)."""
        return [
            str(doc["digest"])
            for doc in self._collection.all().values()
            if identity.is_email(doc.get("sender")) and isinstance(doc.get("digest"), str) and doc["digest"]
        ]


def _sent_by(key: str, doc: Doc, subject: Subject) -> Doc | None:
    return doc if subject.identity.is_email(doc.get("sender")) else None


# Announcements stay (what was sent, and to how many), their sender replaced by the placeholder.
PERSONAL_TABLES = (PersonalTable(ANNOUNCEMENTS, _sent_by),)
