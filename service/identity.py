"""Knowing who is who: Teams users linked to roster people, and where to reach them proactively."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from programme.model import Person
from store import Store

CONVERSATIONS = "conversations"  # email -> the person's 1:1 conversation reference
TEAMS_USERS = "teams_users"  # Teams user id -> email, so later turns need no member lookup
UNREACHABLE = "unreachable"  # email -> since when Teams refused delivery (blocked or removed the bot)


@dataclass(frozen=True)
class TeamsUser:
    """Who sent an activity, as the channel says (never as card data says)."""

    user_id: str
    aad_object_id: str | None
    name: str
    tenant_id: str | None
    email: str | None = None  # from TeamsInfo (email or UPN) when the roster has no aad_object_id


@dataclass(frozen=True)
class ConversationReference:
    """Enough to message a person proactively in their 1:1 chat with the bot."""

    tenant_id: str | None
    service_url: str
    conversation_id: str
    bot_id: str
    user_id: str

    def to_doc(self) -> dict[str, Any]:
        """As stored."""
        return asdict(self)

    @staticmethod
    def from_doc(doc: dict[str, Any]) -> ConversationReference:
        """From a stored document."""
        return ConversationReference(
            tenant_id=doc.get("tenant_id"),
            service_url=doc["service_url"],
            conversation_id=doc["conversation_id"],
            bot_id=doc["bot_id"],
            user_id=doc["user_id"],
        )


def match_person(people: Iterable[Person], user: TeamsUser) -> Person | None:
    """The active roster person for a Teams user: by aad_object_id first, then by email/UPN."""
    active = [p for p in people if p.active]
    if user.aad_object_id:
        wanted = user.aad_object_id.lower()
        for person in active:
            if person.aad_object_id and person.aad_object_id.lower() == wanted:
                return person
    if user.email:
        email = user.email.strip().lower()
        for person in active:
            if person.email == email:
                return person
    return None


class Directory:
    """Stored links between Teams users and people, and their conversation references."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def known_email(self, user_id: str) -> str | None:
        """The email a Teams user id was linked to before, if any."""
        doc = self._store.collection(TEAMS_USERS).get(user_id)
        return doc["email"] if doc else None

    def link(self, user: TeamsUser, person: Person, reference: ConversationReference | None) -> None:
        """Remember the user's person and (from a 1:1 chat) where to reach them."""
        with self._store.transaction():
            if self.known_email(user.user_id) != person.email:
                self._store.collection(TEAMS_USERS).put(user.user_id, {"email": person.email})
            if reference is not None:
                current = self._store.collection(CONVERSATIONS).get(person.email)
                if current != reference.to_doc():
                    self._store.collection(CONVERSATIONS).put(person.email, reference.to_doc())
                # Talking to the bot in a 1:1 chat proves they can be reached again.
                if self._store.collection(UNREACHABLE).get(person.email) is not None:
                    self._store.collection(UNREACHABLE).delete(person.email)

    def mark_unreachable(self, email: str, now: datetime) -> None:
        """Remember that Teams refused delivery to this person (their messages fall back to email)."""
        with self._store.transaction():
            if self._store.collection(UNREACHABLE).get(email) is None:
                self._store.collection(UNREACHABLE).put(email, {"since": now.isoformat()})

    def unreachable(self) -> dict[str, str]:
        """People Teams cannot reach, with since when."""
        return {email: doc["since"] for email, doc in self._store.collection(UNREACHABLE).all().items()}

    def reference_for(self, email: str) -> dict[str, Any] | None:
        """The stored 1:1 conversation reference of a person, as the Teams deliverer wants it."""
        return self._store.collection(CONVERSATIONS).get(email)
