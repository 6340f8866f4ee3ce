"""Each group's meeting per month: the invite sent, its sequence, and the Teams link and chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from programme.records import Meeting, MeetingStatus, SessionInvite
from programme.sessions import month_of_period
from repositories.cached import CachedCollection
from repositories.personal import PersonalTable, Subject
from store import Store

MEETINGS = "meetings"  # "group:month" -> the meeting's invite, sequence, status, join URL, chat id
MEETING_SHARDS = 16
Doc = dict[str, Any]


def meeting_key(group_id: str, month: str) -> str:
    """The key of a group's meeting in a month."""
    return f"{group_id}:{month}"


def invite_from_doc(doc: Mapping[str, Any]) -> SessionInvite:
    return SessionInvite(
        uid=str(doc["uid"]),
        organizer=str(doc.get("organizer") or ""),
        subject=str(doc.get("subject") or ""),
        body_text=str(doc.get("body_text") or ""),
        start=datetime.fromisoformat(doc["start"]),
        end=datetime.fromisoformat(doc["end"]),
        timezone=str(doc.get("timezone") or ""),
        attendees=tuple(doc.get("attendees") or ()),
        location=str(doc.get("location", "")),
        online=bool(doc.get("online", True)),
        sequence=int(doc.get("sequence") or 0),
    )


def invite_to_doc(invite: SessionInvite) -> Doc:
    """An invite as stored with its meeting (and as an outbox entry carries it to delivery)."""
    return {
        "uid": invite.uid,
        "organizer": invite.organizer,
        "subject": invite.subject,
        "body_text": invite.body_text,
        "start": invite.start.isoformat(),
        "end": invite.end.isoformat(),
        "timezone": invite.timezone,
        "attendees": list(invite.attendees),
        "location": invite.location,
        "online": invite.online,
        "sequence": invite.sequence,
    }


def meeting_from_doc(doc: Mapping[str, Any]) -> Meeting:
    invite = doc.get("invite")
    sent = invite_from_doc(invite) if isinstance(invite, dict) and "uid" in doc else None
    if sent is not None and isinstance(doc.get("sequence"), int) and doc["sequence"] != sent.sequence:
        # The meeting's own SEQUENCE is the one versions count from (both are written together).
        sent = replace(sent, sequence=doc["sequence"])
    return Meeting(
        invite=sent,
        fingerprint=str(doc.get("fingerprint") or ""),
        status=MeetingStatus(doc.get("status") or MeetingStatus.ACTIVE.value),
        item_id=doc.get("item_id"),
        join_url=doc.get("join_url"),
        chat_id=doc.get("chat_id"),
    )


def version_fields(meeting: Meeting) -> Doc:
    """The fields a new version of a meeting (an invite, an update, a cancellation) writes."""
    if meeting.invite is None:
        return {}
    return {
        "uid": meeting.invite.uid,
        "sequence": meeting.invite.sequence,
        "fingerprint": meeting.fingerprint,
        "status": meeting.status.value,
        "invite": invite_to_doc(meeting.invite),
    }


class MeetingsRepository:
    """Meetings by group and month, read from memory.

    Three writers each own their fields of the one record: the invite sync (a new version), the
    mail delivery (the backend's item id and Teams link) and the meeting chat link. Each merges
    its fields into the stored document, so none overwrites what another wrote meanwhile.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._collection = store.collection(MEETINGS, shards=MEETING_SHARDS)
        self._cache: CachedCollection[Meeting] = CachedCollection(
            self._collection, lambda _key, doc: meeting_from_doc(doc)
        )

    def get(self, group_id: str, month: str) -> Meeting | None:
        """One meeting."""
        return self._cache.current().get(meeting_key(group_id, month))

    def of_month_sessions(self, month: str) -> dict[tuple[str, str], Meeting]:
        """The meetings of every session whose period falls in `month` ("2027-03": the monthly
        "2027-03" and every-N-weeks "2027-03-11" alike), by (group id, period)."""
        meetings: dict[tuple[str, str], Meeting] = {}
        for key, meeting in self._cache.current().items():
            group_id, sep, period = key.rpartition(":")
            if sep and month_of_period(period) == month:
                meetings[(group_id, period)] = meeting
        return meetings

    def all(self) -> dict[tuple[str, str], Meeting]:
        """Every meeting by (group id, month), for reports."""
        meetings: dict[tuple[str, str], Meeting] = {}
        for key, meeting in self._cache.current().items():
            group_id, sep, month = key.rpartition(":")
            if sep:
                meetings[(group_id, month)] = meeting
        return meetings

    def by_chat(self, conversation_id: str) -> tuple[str, str] | None:
        """(group id, month) of the meeting whose chat this is."""
        for key, meeting in self._cache.current().items():
            if meeting.chat_id == conversation_id:
                group_id, _, month = key.rpartition(":")
                return group_id, month
        return None

    def save_versions(self, meetings: Mapping[tuple[str, str], Meeting]) -> None:
        """Store new versions of meetings keyed by (group id, month): one write per shard touched.

        The item id, Teams link and chat stay as stored: they are the delivery's and the link's.
        """
        with self._store.transaction():
            docs = {}
            for (group_id, month), meeting in meetings.items():
                key = meeting_key(group_id, month)
                docs[key] = {**(self._collection.get(key) or {}), **version_fields(meeting)}
            self._collection.put_many(docs)

    def record_delivery(self, group_id: str, month: str, item_id: str | None, join_url: str | None) -> None:
        """What the mail backend returned for the meeting's invite: its item id and Teams link."""
        self._merge(group_id, month, {"item_id": item_id, "join_url": join_url})

    def link_chat(self, group_id: str, month: str, chat_id: str) -> None:
        """The Teams meeting chat of the session (its end sends the check-outs)."""
        self._merge(group_id, month, {"chat_id": chat_id})

    def _merge(self, group_id: str, month: str, fields: Mapping[str, Any]) -> None:
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
