"""Each group's meeting per month: the invite sent, its sequence, and the Teams link and chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from repositories.cached import CachedCollection
from repositories.personal import PersonalTable, Subject
from store import Store

MEETINGS = "meetings"  # "group:month" -> the meeting's invite, sequence, status, join URL, chat id
MEETING_SHARDS = 16
Doc = dict[str, Any]


def meeting_key(group_id: str, month: str) -> str:
    """The key of a group's meeting in a month."""
    return f"{group_id}:{month}"


class MeetingsRepository:
    """Meetings by group and month, read from memory."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._collection = store.collection(MEETINGS, shards=MEETING_SHARDS)
        self._cache: CachedCollection[Mapping[str, Any]] = CachedCollection(
            self._collection, lambda _key, doc: doc
        )

    def get(self, group_id: str, month: str) -> Doc | None:
        """A copy of one meeting record."""
        doc = self._cache.current().get(meeting_key(group_id, month))
        return dict(doc) if doc is not None else None

    def of_month(self, month: str) -> dict[str, Doc]:
        """The month's meetings by group id."""
        suffix = f":{month}"
        return {
            key[: -len(suffix)]: dict(doc)
            for key, doc in self._cache.current().items()
            if key.endswith(suffix)
        }

    def all(self) -> dict[tuple[str, str], Doc]:
        """Every meeting by (group id, month), for reports."""
        meetings: dict[tuple[str, str], Doc] = {}
        for key, doc in self._cache.current().items():
            group_id, sep, month = key.rpartition(":")
            if sep:
                meetings[(group_id, month)] = dict(doc)
        return meetings

    def by_chat(self, conversation_id: str) -> tuple[str, str] | None:
        """(group id, month) of the meeting whose chat this is."""
        for key, doc in self._cache.current().items():
            if doc.get("chat_id") == conversation_id:
                group_id, _, month = key.rpartition(":")
                return group_id, month
        return None

    def put_many(self, meetings: Mapping[tuple[str, str], Doc]) -> None:
        """Store meetings keyed by (group id, month): one write per shard touched."""
        self._collection.put_many({meeting_key(g, m): doc for (g, m), doc in meetings.items()})

    def update(self, group_id: str, month: str, fields: Mapping[str, Any]) -> None:
        """Merge fields into one meeting record (created if missing), under the store lock."""
        with self._store.transaction():
            current = self._collection.get(meeting_key(group_id, month)) or {}
            if any(current.get(name) != value for name, value in fields.items()):
                self._collection.put(meeting_key(group_id, month), {**current, **fields})


# -- personal data (service/privacy.py) ---------------------------------------------------------------


def _meeting_view(key: str, doc: Doc, subject: Subject) -> Doc | None:
    invite = doc.get("invite") or {}
    if not any(subject.identity.is_email(a) for a in invite.get("attendees") or []):
        return None
    return {
        "session": key,
        "subject": invite.get("subject"),
        "start": invite.get("start"),
        "end": invite.get("end"),
        "status": doc.get("status"),
        "join_url": doc.get("join_url"),
    }


def _leave_meeting(key: str, doc: Doc, subject: Subject) -> tuple[str, Doc]:
    invite = doc.get("invite")
    if not isinstance(invite, dict) or not isinstance(invite.get("attendees"), list):
        return key, doc
    attendees = [a for a in invite["attendees"] if not subject.identity.is_email(a)]
    if len(attendees) == len(invite["attendees"]):
        return key, doc
    # The stored fingerprint hashed the old attendee list: clear it, so the next sync of a coming
    # session sends the update that takes them off the meeting.
    return key, {**doc, "invite": {**invite, "attendees": attendees}, "fingerprint": ""}


PERSONAL_TABLES = (PersonalTable(MEETINGS, _meeting_view, _leave_meeting),)
