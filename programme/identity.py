"""Who sent an activity and where to reach a person: value types both the Teams adapter and the use
cases speak (the rules that use them are in service/identity.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TeamsUser:
    """Who sent an activity, as the channel says (never as card data says)."""

    user_id: str
    aad_object_id: str | None
    name: str
    tenant_id: str | None
    email: str | None = None  # from TeamsInfo (email or UPN), for roster rows without an aad id


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
