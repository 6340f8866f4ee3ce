"""What the activity handler asks of the application: the Protocol bot.py is written against.

The bot knows activities; the handler (surfaces/teams.py) knows people, commands and cards. Actor
and person handles are opaque here: the bot only passes them back. Every method that may touch the
store is called on the bot's use-case threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from programme.identity import ConversationReference, TeamsUser

Card = dict[str, Any]
# A reply to a text message: the cards to send back, or a short plain-text confirmation.
Reply = list[Card] | str


@dataclass(frozen=True)
class Recognised:
    """The roster person behind a Teams user (opaque), or None; `look_up` says an email lookup could help."""

    person: object | None
    look_up: bool = False


@dataclass(frozen=True)
class Unrouted:
    """The text names no command this person may use; `card` answers it in a 1:1 chat (help, or why not)."""

    card: Card


class TurnHandler(Protocol):
    """The application behind the bot."""

    def recognise(self, user: TeamsUser) -> Recognised:
        """Who the sender is, by the identity rules."""
        ...

    def link(self, user: TeamsUser, person: object, reference: ConversationReference | None) -> object:
        """Remember the user's person (and 1:1 chat); returns the actor handle turns run as."""
        ...

    def command_name(self, text: str) -> str | None:
        """The canonical name of the command a message's first word names, if any (no side effects)."""
        ...

    def on_text(self, actor: object, text: str, conversation_id: str) -> Reply | Unrouted:
        """Run the text command; domain errors come back as cards."""
        ...

    def on_card_action(self, actor: object, verb: str, data: Any) -> Card:
        """Run the card verb on the card's data; domain errors come back as cards."""
        ...

    def on_meeting_end(self, conversation_id: str) -> str | None:
        """What to tell a meeting chat when its meeting ended; None if the chat is not one of ours."""
        ...

    def welcome_card(self, actor: object) -> Card:
        """The welcome card for a recognised person."""
        ...

    def not_on_roster_card(self) -> Card:
        """The answer to someone who is not on the roster."""
        ...

    def refused_card(self, message: str) -> Card:
        """A refusal (the person may not do this here)."""
        ...

    def error_card(self, message: str) -> Card:
        """Something went wrong; `message` says what, and contains no data."""
        ...
