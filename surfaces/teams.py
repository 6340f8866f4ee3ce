"""The Teams surface: the bot's TurnHandler over the use cases. It finds each text command and card
verb in the routing table (surfaces/teams_routes.py), runs it, and maps domain errors to cards in one
place (`problem_card`).

teams_bot/bot.py calls this through its TurnHandler protocol; nothing here knows botbuilder.
"""

from __future__ import annotations

import logging
from typing import Any

from cards.actions import parse_action
from cards.welcome import (
    build_error_card,
    build_not_on_roster_card,
    build_refused_card,
    build_welcome_card,
)
from programme.errors import NotAllowedError, ProgrammeError
from programme.facilitators import ExternalFacilitator
from programme.identity import ConversationReference, TeamsUser
from programme.model import Person
from programme.policies import Actor, refusal_to, require, roles_of
from service.services import Services
from service.views import WelcomeView
from surfaces.teams_routes import (
    CARD_VERBS,
    Turn,
    find_card_verb,
    find_text_command,
    help_card,
    narrowed,
)
from teams_bot.handler import Card, Recognised, Reply, Unrouted

log = logging.getLogger(__name__)


def problem_card(error: ProgrammeError) -> Card:
    """The one mapping of domain errors to cards: a refusal, or what is wrong (never the data sent)."""
    if isinstance(error, NotAllowedError):
        return build_refused_card(str(error))
    return build_error_card(str(error))


class TeamsSurface:
    """The bot's TurnHandler (teams_bot/handler.py) over the use cases."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def recognise(self, user: TeamsUser) -> Recognised:
        found = self._services.directory.recognise(user)
        # The handle of an external facilitator is their list entry: `link` makes them that actor.
        return Recognised(found.external or found.person, found.look_up)

    def link(self, user: TeamsUser, person: object, reference: ConversationReference | None) -> Actor:
        if isinstance(person, ExternalFacilitator):
            self._services.directory.link(user, person.as_person(), reference)
            return self._services.facilitators.actor(person)
        person = narrowed(person, Person)
        self._services.directory.link(user, person, reference)
        return self._services.programme.actor(person)

    def command_name(self, text: str) -> str | None:
        command, _ = find_text_command(text)
        return command.words[0] if command is not None else None

    def on_text(self, actor: object, text: str, conversation_id: str) -> Reply | Unrouted:
        actor = narrowed(actor, Actor)
        command, argument = find_text_command(text)
        if command is None:
            # Unknown text gets this person's help, not silence.
            return Unrouted(help_card(actor))
        if not command.allowed(actor):
            # Another role's command says why not.
            return Unrouted(build_refused_card(refusal_to(command.permission, actor)))
        try:
            return command.run(self._services, actor, Turn(argument, conversation_id))
        except ProgrammeError as error:
            return [problem_card(error)]

    def on_card_action(self, actor: object, verb: str, data: Any) -> Card:
        actor = narrowed(actor, Actor)
        try:
            entry = find_card_verb(verb)
            # Who may press it is decided before its data is even read.
            require(entry.permission, actor)
            return entry.run(self._services, actor, parse_action(verb, data or {}))
        except ProgrammeError as error:
            log.info(
                "card action %s refused: %s", verb if verb in CARD_VERBS else "unknown", type(error).__name__
            )
            return problem_card(error)

    def on_meeting_end(self, conversation_id: str) -> str | None:
        if self._services.meeting_links.meeting_ended(conversation_id) is None:
            return None
        return (
            "Thank you all. If you're on the register (or, before it is taken, RSVP'd attending), "
            "your check-out has arrived in your chat with me: two minutes, and only the people "
            "circle sees any flags."
        )

    def welcome_card(self, actor: object) -> Card:
        actor = narrowed(actor, Actor)
        return build_welcome_card(WelcomeView(actor.person.name, roles_of(actor)))

    def not_on_roster_card(self) -> Card:
        return build_not_on_roster_card()

    def refused_card(self, message: str) -> Card:
        return build_refused_card(message)

    def error_card(self, message: str) -> Card:
        return build_error_card(message)
