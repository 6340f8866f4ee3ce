"""Escalations raised by check-out and peer flags (coordinators only), and facilitators' introductions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from programme.privacy import Identity
from repositories.personal import WITHHELD, PersonalTable, Subject, Withheld, drop_if
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

    def about_and_raised_by(self, identity: Identity) -> tuple[set[str], set[str]]:
        """Ids of the escalations about a person, and of those they raised about someone else."""
        about: set[str] = set()
        raised: set[str] = set()
        for key, doc in self._collection.all().items():
            if identity.is_email(doc.get("about")):
                about.add(key)
            elif identity.is_email(doc.get("raised_by")):
                raised.add(key)
        return about, raised


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


# -- personal data (service/privacy.py) ---------------------------------------------------------------


def _escalation_view(key: str, doc: Doc, subject: Subject) -> Doc | Withheld | None:
    me = subject.identity.is_email
    if me(doc.get("raised_by")):
        return {
            "id": doc.get("id", key),
            "source": doc.get("source"),
            "about": "you" if me(doc.get("about")) else doc.get("about"),
            "flags": doc.get("flags"),
            "created_at": doc.get("created_at"),
            "status": doc.get("status"),
        }
    if me(doc.get("about")):
        return WITHHELD  # raised by someone else, in confidence
    return None


def _introduced_by(key: str, doc: Doc, subject: Subject) -> bool:
    return subject.identity.is_email(doc.get("facilitator"))


def _introduction_view(key: str, doc: Doc, subject: Subject) -> Doc | None:
    return doc if _introduced_by(key, doc, subject) else None


# Escalations about the person go; those they raised about someone else stay for the coordinators
# (a safeguarding signal is not theirs to take away), raised by the placeholder.
PERSONAL_TABLES = (
    PersonalTable(ESCALATIONS, _escalation_view, drop_if(lambda key, doc, s: key in s.escalations)),
    PersonalTable(INTRODUCTIONS, _introduction_view, drop_if(_introduced_by)),
)
