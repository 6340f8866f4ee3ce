"""Announcements coordinators sent: what, to whom (described), when, and a digest for repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from programme.privacy import Identity
from programme.records import Announcement
from repositories.answers import parse_moment
from repositories.personal import PersonalTable, Subject
from store import Store

ANNOUNCEMENTS = "announcements"  # id -> what was sent, to whom (described) and how many
Doc = dict[str, Any]
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def announcement_from_doc(doc: Doc) -> Announcement:
    return Announcement(
        title=str(doc.get("title") or ""),
        audience=str(doc.get("audience") or ""),
        sender=str(doc.get("sender") or ""),
        sent_at=parse_moment(doc.get("sent_at")) or _LONG_AGO,
        recipients=int(doc.get("recipients") or 0),
        period=str(doc.get("period") or ""),
        digest=str(doc.get("digest") or ""),
    )


def announcement_to_doc(announcement: Announcement) -> Doc:
    return {
        "title": announcement.title,
        "audience": announcement.audience,
        "sender": announcement.sender,
        "sent_at": announcement.sent_at.isoformat(),
        "recipients": announcement.recipients,
        "period": announcement.period,
        "digest": announcement.digest,
    }


class AnnouncementsRepository:
    """Announcements by id."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(ANNOUNCEMENTS, shards=1)

    def get(self, ident: str) -> Announcement | None:
        """One announcement."""
        doc = self._collection.get(ident)
        return announcement_from_doc(doc) if doc is not None else None

    def all(self) -> dict[str, Announcement]:
        """Every announcement by id."""
        return {key: announcement_from_doc(doc) for key, doc in self._collection.all().items()}

    def put(self, ident: str, announcement: Announcement) -> None:
        """Record an announcement."""
        self._collection.put(ident, announcement_to_doc(announcement))

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
