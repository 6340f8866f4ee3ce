"""Who joined which gathering: opt-in topics of a programme (seed 001), one topic per person.

All of a programme's gatherings meet at the same time, so joining a topic leaves the person's other
topic in that programme; leaving removes the record. Keys are "programme:email".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from repositories.cached import CachedCollection
from repositories.personal import Doc, PersonalTable, Subject, drop_if
from store import Store

TOPIC_JOINS = "topic_joins"  # "programme:email" -> topic, joined_at


def _key(programme_id: str, email: str) -> str:
    return f"{programme_id}:{email}"


class TopicJoinsRepository:
    """Opt-in topic choices by programme and person; reads are in memory."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(TOPIC_JOINS, shards=4)
        self._cache = CachedCollection(self._collection, lambda _key, doc: str(doc["topic"]))

    def topic_of(self, programme_id: str, email: str) -> str | None:
        """The topic this person joined in the programme, if any."""
        return self._cache.current().get(_key(programme_id, email))

    def joined(self, programme_id: str) -> dict[str, set[str]]:
        """Each topic of the programme with the emails that joined it."""
        prefix = f"{programme_id}:"
        topics: dict[str, set[str]] = {}
        for key, topic in self._cache.current().items():
            if key.startswith(prefix):
                topics.setdefault(topic, set()).add(key[len(prefix) :])
        return topics

    def join(self, programme_id: str, email: str, topic: str, now: datetime) -> None:
        """Join a topic (leaving the person's other topic in this programme)."""
        self._collection.put(_key(programme_id, email), {"topic": topic, "joined_at": now.isoformat()})

    def leave(self, programme_id: str, email: str) -> bool:
        """Leave the programme's topic; whether there was one."""
        return self._collection.delete(_key(programme_id, email))

    def all(self) -> Mapping[str, str]:
        """Every choice, "programme:email" -> topic (read-only)."""
        return self._cache.current()


def _theirs(key: str, doc: Doc, subject: Subject) -> bool:
    return subject.identity.is_email(key.partition(":")[2])


def _their_choice(key: str, doc: Doc, subject: Subject) -> Doc | None:
    return {"programme": key.partition(":")[0], **doc} if _theirs(key, doc, subject) else None


PERSONAL_TABLES = (PersonalTable(TOPIC_JOINS, _their_choice, drop_if(_theirs)),)
