"""The bot's everyday replies: welcome, not on the roster, help, refused and error cards."""

from __future__ import annotations

from collections.abc import Sequence

from cards.common import CardJson, card, facts, heading, text
from service.views import Role, WelcomeView

_CAN_DO = {
    Role.PARTICIPANT: (
        "Answer your group's invitations, and change your answer until the session starts",
        "Give a two-minute check-out after each session",
        "Record your monthly meeting with your peer and set quarterly goals together",
    ),
    Role.FACILITATOR: (
        "Send introductions to your whole group with one click",
        "See who is coming to your sessions",
        "Take attendance on one card, pre-filled from the answers",
        "Start the check-out at the end of a session",
    ),
    Role.COORDINATOR: (
        "Send announcements to everyone, a role, a weekday, a group or the facilitators",
        "See and handle escalations, in confidence",
        "See attendance, answer rates and pairs that have not met",
    ),
}
_ROLE_TITLES = {
    Role.PARTICIPANT: "As a participant",
    Role.FACILITATOR: "As a facilitator",
    Role.COORDINATOR: "As a coordinator",
}


def build_welcome_card(view: WelcomeView) -> CardJson:
    """Greets a person and lists what each of their roles lets them do."""
    body = [heading(f"Welcome, {view.name}"), text("I run the peer reflection programme here in Teams.")]
    for role in Role:  # fixed order: participant, facilitator, coordinator
        if role in view.roles:
            body.append(text(_ROLE_TITLES[role], bold=True, separator=True))
            body.extend(text(f"\u2022 {item}") for item in _CAN_DO[role])
    body.append(text("Type **help** to see your commands.", subtle=True))
    return card(body, fallback_text=f"Welcome, {view.name}: type help to see your commands.")


def build_not_on_roster_card() -> CardJson:
    """Tells someone the programme does not know them, politely, with what to do next."""
    message = (
        "I couldn't find you on the programme's staff list, so there is nothing for you here yet. "
        "Please ask your programme coordinator to add you; once they have, say hello again."
    )
    return card([heading("Hello!"), text(message)], fallback_text=message)


def build_help_card(commands: Sequence[tuple[str, str]]) -> CardJson:
    """The commands this person can use, as (command, description) pairs."""
    if not commands:
        return card(
            [heading("Help"), text("There are no commands for you at the moment.")],
            fallback_text="There are no commands for you at the moment.",
        )
    return card(
        [heading("What you can ask me"), facts(commands)],
        fallback_text="Commands: " + ", ".join(command for command, _ in commands),
    )


def build_refused_card(reason: str) -> CardJson:
    """A clear "you can't do that" with the reason; the action changed nothing."""
    return card(
        [
            heading("You can't do that"),
            text(reason, color="attention"),
            text("Nothing was changed.", subtle=True),
        ],
        fallback_text=f"You can't do that: {reason} Nothing was changed.",
    )


def build_error_card(message: str) -> CardJson:
    """A clear message about bad input or a failure; the caller passes our own wording, never user text."""
    return card(
        [
            heading("That didn't work"),
            text(message, color="attention"),
            text("Nothing was saved. Please check and try again.", subtle=True),
        ],
        fallback_text=f"That didn't work: {message} Nothing was saved.",
    )
