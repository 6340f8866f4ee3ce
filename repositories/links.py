"""Teams links: which Teams user is which person, where to reach each person, who cannot be reached."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from repositories.cached import CachedCollection, DerivedIndex
from repositories.personal import Doc, PersonalTable, Subject, drop_if, key_is_email, own_by_email_key
from store import Store

TEAMS_USERS = "teams_users"  # Teams user id -> email, so later turns need no member lookup
AAD_LINKS = "aad_links"  # email -> the Entra ID user id first seen for a roster row that had none
CONVERSATIONS = "conversations"  # email -> the person's 1:1 conversation reference
UNREACHABLE = "unreachable"  # email -> since when Teams refused delivery (blocked or removed the bot)
LINK_SHARDS = 64  # one first contact rewrites ~1/64 of the links, not everyone's


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
    def from_doc(doc: Mapping[str, Any]) -> ConversationReference:
        """From a stored document."""
        return ConversationReference(
            tenant_id=doc.get("tenant_id"),
            service_url=doc["service_url"],
            conversation_id=doc["conversation_id"],
            bot_id=doc["bot_id"],
            user_id=doc["user_id"],
        )


class TeamsLinksRepository:
    """Links between Teams users and people; every read is an in-memory lookup."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._users = store.collection(TEAMS_USERS, shards=LINK_SHARDS)
        self._aad = store.collection(AAD_LINKS, shards=LINK_SHARDS)
        self._conversations = store.collection(CONVERSATIONS, shards=LINK_SHARDS)
        self._unreachable = store.collection(UNREACHABLE, shards=LINK_SHARDS)
        self._user_emails = CachedCollection(self._users, lambda _key, doc: str(doc["email"]))
        self._aad_ids = CachedCollection(self._aad, lambda _key, doc: str(doc["aad_object_id"]).lower())
        self._references = CachedCollection(
            self._conversations, lambda _key, doc: ConversationReference.from_doc(doc)
        )
        self._unreachable_since = CachedCollection(self._unreachable, lambda _key, doc: str(doc["since"]))
        self._email_by_aad = DerivedIndex(self._aad_ids, lambda links: {aad: e for e, aad in links.items()})

    # -- reads -----------------------------------------------------------------------------------
    def known_email(self, user_id: str) -> str | None:
        """The email a Teams user id was linked to before, if any."""
        return self._user_emails.current().get(user_id)

    def aad_object_id_for(self, email: str) -> str | None:
        """The Entra ID user id linked to a roster row that has none of its own."""
        return self._aad_ids.current().get(email)

    def email_for_aad_object_id(self, aad_object_id: str) -> str | None:
        """The roster row (without an id of its own) this Entra ID user id was linked to."""
        return self._email_by_aad.get().get(aad_object_id.lower())

    def reference(self, email: str) -> ConversationReference | None:
        """The person's 1:1 conversation reference."""
        return self._references.current().get(email)

    def unreachable(self) -> Mapping[str, str]:
        """People Teams cannot reach, with since when."""
        return self._unreachable_since.current()

    def teams_ids_of(self, email: str) -> list[str]:
        """Every Teams id tied to the person: their Teams user ids and 1:1 conversation (privacy tools)."""
        ids = [
            user_id
            for user_id, known in self._user_emails.current().items()
            if known.strip().lower() == email
        ]
        reference = self.reference(email)
        if reference is not None:
            ids.extend(i for i in (reference.user_id, reference.conversation_id) if i)
        return ids

    # -- writes ----------------------------------------------------------------------------------
    def link_user(self, user_id: str, email: str) -> None:
        """Remember which person a Teams user id is (written only when it changes)."""
        if self.known_email(user_id) != email:
            self._users.put(user_id, {"email": email})

    def link_aad_object_id(self, email: str, aad_object_id: str) -> None:
        """Tie a roster row without an Entra ID user id to the first one seen for it."""
        self._aad.put(email, {"aad_object_id": aad_object_id})

    def save_reference(self, email: str, reference: ConversationReference) -> None:
        """Store where to reach the person, and that they can be reached (writes only changes)."""
        if self.reference(email) == reference and email not in self.unreachable():
            return  # the usual turn: nothing changed, so no lock and no write
        with self._store.transaction():
            if self.reference(email) != reference:
                self._conversations.put(email, reference.to_doc())
            if email in self.unreachable():
                self._unreachable.delete(email)

    def save_references(self, references: Mapping[str, ConversationReference]) -> None:
        """Store many people's conversation references at once (e.g. installs made through Graph)."""
        with self._store.transaction():
            self._conversations.put_many({email: ref.to_doc() for email, ref in references.items()})
            gone = [email for email in references if email in self.unreachable()]
            self._unreachable.delete_many(gone)

    def mark_unreachable(self, emails: Iterable[str], now: datetime) -> None:
        """Remember that Teams refused delivery to these people: one write per shard touched."""
        with self._store.transaction():
            known = self.unreachable()
            fresh = {email: {"since": now.isoformat()} for email in emails if email not in known}
            self._unreachable.put_many(fresh)


def _is_their_user(key: str, doc: Doc, subject: Subject) -> bool:
    return subject.identity.is_email(doc.get("email"))


def _their_user(key: str, doc: Doc, subject: Subject) -> Doc | None:
    return doc if _is_their_user(key, doc, subject) else None


PERSONAL_TABLES = (
    PersonalTable(TEAMS_USERS, _their_user, drop_if(_is_their_user)),
    *(
        PersonalTable(name, own_by_email_key, drop_if(key_is_email))
        for name in (CONVERSATIONS, UNREACHABLE, AAD_LINKS)
    ),
)
