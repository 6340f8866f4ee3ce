"""Escalations raised by check-out and peer flags (coordinators only), and facilitators' introductions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from programme.answers import EscalationStatus, Flag
from programme.privacy import Identity
from programme.records import Escalation, Introduction
from repositories.answers import parse_moment
from repositories.personal import WITHHELD, PersonalTable, Subject, Withheld, drop_if
from store import Store

ESCALATIONS = "escalations"  # id -> escalation (coordinators only; never shown to whom it is about)
INTRODUCTIONS = "introductions"  # "group:month" -> the facilitator's message and how often sent
Doc = dict[str, Any]
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)  # an escalation stored without its date sorts first


def escalation_from_doc(key: str, doc: Doc) -> Escalation:
    return Escalation(
        id=str(doc.get("id") or key),
        raised_by=str(doc.get("raised_by") or ""),
        about=str(doc.get("about") or ""),
        source="peer" if doc.get("source") == "peer" else "checkout",
        flags=frozenset(Flag(f) for f in doc.get("flags") or ()),
        created_at=parse_moment(doc.get("created_at")) or _LONG_AGO,
        status=EscalationStatus(doc.get("status") or EscalationStatus.OPEN.value),
        handled_by=doc.get("handled_by") or None,
    )


def escalation_to_doc(escalation: Escalation) -> Doc:
    return {
        "id": escalation.id,
        "raised_by": escalation.raised_by,
        "about": escalation.about,
        "source": escalation.source,
        "flags": sorted(f.value for f in escalation.flags),
        "created_at": escalation.created_at.isoformat(),
        "status": escalation.status.value,
        "handled_by": escalation.handled_by,
    }


def introduction_from_doc(doc: Doc) -> Introduction:
    return Introduction(
        facilitator=str(doc.get("facilitator") or ""),
        message=str(doc.get("message") or ""),
        sends=int(doc.get("sends") or 0),
    )


def introduction_to_doc(introduction: Introduction) -> Doc:
    return {
        "facilitator": introduction.facilitator,
        "message": introduction.message,
        "sends": introduction.sends,
    }


class EscalationsRepository:
    """Escalations by id, in a file of their own (a safeguarding signal must not wait on others)."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(ESCALATIONS, shards=4)

    def get(self, ident: str) -> Escalation | None:
        """One escalation."""
        doc = self._collection.get(ident)
        return escalation_from_doc(ident, doc) if doc is not None else None

    def all(self) -> list[Escalation]:
        """Every escalation, oldest first."""
        records = [escalation_from_doc(key, doc) for key, doc in self._collection.all().items()]
        return sorted(records, key=lambda record: record.created_at)

    def put(self, escalation: Escalation) -> None:
        """Open or update an escalation (stored under its id)."""
        self._collection.put(escalation.id, escalation_to_doc(escalation))

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

    def get(self, group_id: str, month: str) -> Introduction | None:
        """The introduction of a group's month."""
        doc = self._collection.get(f"{group_id}:{month}")
        return introduction_from_doc(doc) if doc is not None else None

    def put(self, group_id: str, month: str, introduction: Introduction) -> None:
        """Record an introduction (and its send count)."""
        self._collection.put(f"{group_id}:{month}", introduction_to_doc(introduction))


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
