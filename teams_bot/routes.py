"""The one routing table: text commands and card verbs, each with who may use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cards.actions import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    Command,
    EscalationCommand,
    GoalsCommand,
    GoalsOpenCommand,
    IntroSendCommand,
    PeerRecordCommand,
    RsvpCommand,
)
from cards.protocol import Verb
from cards.views import Role, WelcomeView
from cards.welcome import build_help_card, build_welcome_card
from programme.policies import Actor, require_coordinator
from programme.sessions import next_session
from service.reports import report_card
from service.services import Services

Card = dict[str, Any]
# A reply is the cards to send back, or a short plain-text confirmation.
Reply = list[Card] | str
_C = TypeVar("_C")


def roles_of(actor: Actor) -> frozenset[Role]:
    """The roles a person has in the programme right now."""
    roles = (
        {Role.PARTICIPANT} if actor.member_of or not (actor.is_facilitator or actor.is_coordinator) else set()
    )
    if actor.is_facilitator:
        roles.add(Role.FACILITATOR)
    if actor.is_coordinator:
        roles.add(Role.COORDINATOR)
    return frozenset(roles)


def _everyone(actor: Actor) -> bool:
    return True


def _facilitator(actor: Actor) -> bool:
    return actor.is_facilitator or any(g.facilitator is None for g in actor.member_of)


def _coordinator(actor: Actor) -> bool:
    return actor.is_coordinator


def _facilitator_or_coordinator(actor: Actor) -> bool:
    return _facilitator(actor) or _coordinator(actor)


@dataclass(frozen=True)
class Turn:
    """What a text command gets besides the actor: the rest of the message and where it was typed."""

    argument: str
    conversation_id: str


@dataclass(frozen=True)
class TextCommand:
    """A typed command: its words, what it does, who may use it, and the use case it runs."""

    words: tuple[str, ...]
    description: str
    allowed: Callable[[Actor], bool]
    run: Callable[[Services, Actor, Turn], Reply]


def _welcome(services: Services, actor: Actor, turn: Turn) -> Reply:
    return [build_welcome_card(WelcomeView(actor.person.name, roles_of(actor)))]


def _help(services: Services, actor: Actor, turn: Turn) -> Reply:
    return [help_card(actor)]


def _checkouts_sent(services: Services, actor: Actor, turn: Turn) -> Reply:
    prompt = services.month.prompt_checkouts(actor, turn.argument or None)
    if prompt.recipients == 0:
        return (
            "Nobody was sent the check-out: there is no register yet and nobody RSVP'd attending. "
            "Take the register (`attendance`): everyone you tick present gets the check-out."
        )
    who = "ticked present on the register" if prompt.by_register else "who RSVP'd attending"
    if prompt.queued == 0:
        return f"Everyone {who} already has the check-out."
    people = "1 person" if prompt.queued == 1 else f"{prompt.queued} people"
    told = f"Check-out prompt queued for {people} {who}."
    if not prompt.by_register:
        told += " Take the register (`attendance`) to send it to anyone else who came."
    return told


def _reminders(services: Services, actor: Actor, turn: Turn) -> Reply:
    total = 0
    for group in actor.facilitates:
        session = next_session(group, services.clock(), services.programme.settings)
        total += services.month.send_rsvp_reminders(group, session)
    return (
        f"Reminder queued for {total} people who haven't answered." if total else "Nobody needs a reminder."
    )


def _report_card(services: Services, actor: Actor) -> Card:
    require_coordinator(actor)
    return report_card(services.programme, services.clock())


TEXT_COMMANDS: tuple[TextCommand, ...] = (
    TextCommand(("help", "?"), "what you can do here", _everyone, _help),
    TextCommand(("hello", "hi", "start", "welcome"), "the welcome card again", _everyone, _welcome),
    TextCommand(
        ("rsvp", "next"),
        "your next session and your answer",
        _everyone,
        lambda s, a, _: [s.month.rsvp_card(a)],
    ),
    TextCommand(
        ("checkout",),
        "your check-out for the last session",
        _everyone,
        lambda s, a, _: [s.month.checkout_card(a)],
    ),
    TextCommand(
        ("peer", "peers"),
        "record this month's meeting with your peer, or change what you recorded",
        _everyone,
        lambda s, a, _: [s.peers.peer_check_card(a)],
    ),
    TextCommand(
        ("goals",),
        "your goals for the quarter (and what your peer shared): set, review or change them",
        _everyone,
        lambda s, a, _: [s.peers.goals_card(a)],
    ),
    TextCommand(
        ("intro", "introduce"),
        "send your introductions to your groups",
        _facilitator,
        lambda s, a, _: [s.month.intro_console(a)],
    ),
    TextCommand(
        ("coming", "who"),
        "who is coming to your next session (coordinators: coming GROUP-ID, with absence reasons)",
        _facilitator_or_coordinator,
        lambda s, a, t: [s.month.session_roster(a, t.argument or None)],
    ),
    TextCommand(
        ("attendance", "register"),
        "take the register of your session",
        _facilitator,
        lambda s, a, t: [s.month.attendance_card(a, t.argument or None)],
    ),
    TextCommand(
        ("end", "checkouts"),
        "send the check-out to everyone present (before a register: to those who RSVP'd attending)",
        _facilitator,
        _checkouts_sent,
    ),
    TextCommand(("remind",), "remind members who haven't answered", _facilitator, _reminders),
    TextCommand(
        ("link",),
        "in your session's Teams meeting chat: check-outs arrive when the meeting ends",
        _facilitator,
        lambda s, a, t: s.month.link_meeting_chat(a, t.conversation_id, t.argument or None),
    ),
    TextCommand(
        ("announce",), "compose an announcement", _coordinator, lambda s, a, _: [s.announcements.composer(a)]
    ),
    TextCommand(
        ("status",),
        "delivery counts of your latest announcement",
        _coordinator,
        lambda s, a, _: [s.announcements.latest_result(a)],
    ),
    TextCommand(
        ("report",),
        "the programme summary: attendance, answers, pairs, escalations",
        _coordinator,
        lambda s, a, _: [_report_card(s, a)],
    ),
    TextCommand(
        ("escalations",),
        "open escalations, in confidence",
        _coordinator,
        lambda s, a, _: s.month.escalation_cards(a) or "No open escalations.",
    ),
)


def commands_for(actor: Actor) -> list[TextCommand]:
    """The text commands this person may use."""
    return [command for command in TEXT_COMMANDS if command.allowed(actor)]


def help_card(actor: Actor) -> Card:
    """The help card listing this person's commands."""
    return build_help_card([(command.words[0], command.description) for command in commands_for(actor)])


def find_text_command(text: str) -> tuple[TextCommand | None, str]:
    """The command named by a message's first word, and the rest as its argument."""
    word, _, rest = text.strip().partition(" ")
    word = word.lower().strip("!.?") or word
    for command in TEXT_COMMANDS:
        if word in command.words:
            return command, rest.strip()
    return None, ""


CardHandler = Callable[[Services, Actor, Any], Card]

# Every verb's use case; parse_action has already validated the payload into a typed command.
CARD_VERBS: dict[str, CardHandler] = {
    Verb.RSVP_ANSWER: lambda s, a, c: s.month.answer_rsvp(a, _is(c, RsvpCommand)),
    Verb.ATTENDANCE_SUBMIT: lambda s, a, c: s.month.record_attendance(a, _is(c, AttendanceCommand)),
    Verb.CHECKOUT_SUBMIT: lambda s, a, c: s.month.submit_checkout(a, _is(c, CheckoutCommand)),
    Verb.PEER_RECORD: lambda s, a, c: s.peers.record_meeting(a, _is(c, PeerRecordCommand)),
    Verb.GOALS_SUBMIT: lambda s, a, c: s.peers.submit_goals(a, _is(c, GoalsCommand)),
    Verb.GOALS_OPEN: lambda s, a, c: _open_goals(s, a, _is(c, GoalsOpenCommand)),
    Verb.INTRO_SEND: lambda s, a, c: s.month.send_introductions(a, _is(c, IntroSendCommand)),
    Verb.ESCALATION_ACK: lambda s, a, c: s.month.handle_escalation(a, _is(c, EscalationCommand)),
    Verb.ESCALATION_RESOLVE: lambda s, a, c: s.month.handle_escalation(a, _is(c, EscalationCommand)),
    Verb.ANNOUNCE_PREVIEW: lambda s, a, c: s.announcements.announce(a, _is(c, AnnounceCommand)),
    Verb.ANNOUNCE_SEND: lambda s, a, c: s.announcements.announce(a, _is(c, AnnounceCommand)),
}


def _open_goals(services: Services, actor: Actor, command: GoalsOpenCommand) -> Card:
    # Always the current quarter's card: a prompt pressed late opens the goals that can still change.
    return services.peers.goals_card(actor)


def _is(command: Command, kind: type[_C]) -> _C:
    if not isinstance(command, kind):
        raise TypeError(f"{type(command).__name__} routed to a {kind.__name__} handler")
    return command
