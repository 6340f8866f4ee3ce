"""The one routing table: text commands and card verbs, each with who may use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cards.actions import UNKNOWN_VERB
from cards.protocol import Verb
from cards.welcome import build_help_card, build_welcome_card
from programme.errors import BadActionError
from programme.policies import Actor, Permission, may_use, require, roles_of
from service.commands import (
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
from service.reports import report_card
from service.services import Services
from service.views import WelcomeView

Card = dict[str, Any]
# A reply is the cards to send back, or a short plain-text confirmation.
Reply = list[Card] | str
_C = TypeVar("_C")


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
    permission: Permission
    run: Callable[[Services, Actor, Turn], Reply]
    # Whether the rest of the message may name a group (`coming GROUP-ID`): then the use case
    # also checks the permission on that group.
    group_argument: bool = False

    def allowed(self, actor: Actor) -> bool:
        """Whether this person may use the command at all (what help offers them)."""
        return may_use(self.permission, actor)


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
    total = services.month.remind_unanswered(actor, turn.argument or None)
    return (
        f"Reminder queued for {total} people who haven't answered." if total else "Nobody needs a reminder."
    )


def _report_card(services: Services, actor: Actor) -> Card:
    require(Permission.COORDINATOR, actor)
    return report_card(services.programme, services.clock())


TEXT_COMMANDS: tuple[TextCommand, ...] = (
    TextCommand(("help", "?"), "what you can do here", Permission.EVERYONE, _help),
    TextCommand(("hello", "hi", "start", "welcome"), "the welcome card again", Permission.EVERYONE, _welcome),
    TextCommand(
        ("rsvp", "next"),
        "your next session and your answer",
        Permission.SELF,
        lambda s, a, _: [s.month.rsvp_card(a)],
    ),
    TextCommand(
        ("checkout",),
        "your check-out for the last session",
        Permission.SELF,
        lambda s, a, _: [s.month.checkout_card(a)],
    ),
    TextCommand(
        ("peer", "peers"),
        "record this month's meeting with your peer, or change what you recorded",
        Permission.SELF,
        lambda s, a, _: [s.peers.peer_check_card(a)],
    ),
    TextCommand(
        ("goals",),
        "your goals for the quarter (and what your peer shared): set, review or change them",
        Permission.SELF,
        lambda s, a, _: [s.peers.goals_card(a)],
    ),
    TextCommand(
        ("intro", "introduce"),
        "send your introductions to your groups",
        Permission.FACILITATOR,
        lambda s, a, _: [s.month.intro_console(a)],
    ),
    TextCommand(
        ("coming", "who"),
        "who is coming to your next session (coordinators: coming GROUP-ID, with absence reasons)",
        Permission.OVERSEER,
        lambda s, a, t: [s.month.session_roster(a, t.argument or None)],
        group_argument=True,
    ),
    TextCommand(
        ("attendance", "register"),
        "take the register of your session",
        Permission.LEADER,
        lambda s, a, t: [s.month.attendance_card(a, t.argument or None)],
        group_argument=True,
    ),
    TextCommand(
        ("end", "checkouts"),
        "send the check-out to everyone present (before a register: to those who RSVP'd attending)",
        Permission.LEADER,
        _checkouts_sent,
        group_argument=True,
    ),
    TextCommand(
        ("remind",),
        "remind members who haven't answered",
        Permission.LEADER,
        _reminders,
        group_argument=True,
    ),
    TextCommand(
        ("link",),
        "in your session's Teams meeting chat: check-outs arrive when the meeting ends",
        Permission.LEADER,
        lambda s, a, t: s.month.link_meeting_chat(a, t.conversation_id, t.argument or None),
        group_argument=True,
    ),
    TextCommand(
        ("announce",),
        "compose an announcement",
        Permission.COORDINATOR,
        lambda s, a, _: [s.announcements.composer(a)],
    ),
    TextCommand(
        ("status",),
        "delivery counts of the latest announcement, and any deliveries that failed",
        Permission.COORDINATOR,
        lambda s, a, _: s.announcements.status(a),
    ),
    TextCommand(
        ("report",),
        "the programme summary: attendance, answers, pairs, escalations",
        Permission.COORDINATOR,
        lambda s, a, _: [_report_card(s, a)],
    ),
    TextCommand(
        ("escalations",),
        "open escalations, in confidence",
        Permission.COORDINATOR,
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


@dataclass(frozen=True)
class CardVerb:
    """A card button: its verb, who may press it, and the use case it runs.

    The router checks `permission` before it even parses the card's data; a verb whose data names a
    group (an RSVP, a register, a check-out) has the same permission checked on that group by its use
    case, because only the use case knows the group.
    """

    verb: Verb
    permission: Permission
    run: CardHandler


# Every verb's use case; parse_action has already validated the payload into a typed command.
CARD_VERBS: dict[str, CardVerb] = {
    entry.verb: entry
    for entry in (
        CardVerb(
            Verb.RSVP_ANSWER,
            Permission.MEMBER,
            lambda s, a, c: s.month.answer_rsvp(a, _is(c, RsvpCommand)),
        ),
        CardVerb(
            Verb.ATTENDANCE_SUBMIT,
            Permission.LEADER,
            lambda s, a, c: s.month.record_attendance(a, _is(c, AttendanceCommand)),
        ),
        CardVerb(
            Verb.CHECKOUT_SUBMIT,
            Permission.MEMBER,
            lambda s, a, c: s.month.submit_checkout(a, _is(c, CheckoutCommand)),
        ),
        CardVerb(
            Verb.PEER_RECORD,
            Permission.SELF,
            lambda s, a, c: s.peers.record_meeting(a, _is(c, PeerRecordCommand)),
        ),
        CardVerb(
            Verb.GOALS_SUBMIT,
            Permission.SELF,
            lambda s, a, c: s.peers.submit_goals(a, _is(c, GoalsCommand)),
        ),
        CardVerb(
            Verb.GOALS_OPEN,
            Permission.SELF,
            lambda s, a, c: _open_goals(s, a, _is(c, GoalsOpenCommand)),
        ),
        CardVerb(
            Verb.INTRO_SEND,
            Permission.FACILITATOR,
            lambda s, a, c: s.month.send_introductions(a, _is(c, IntroSendCommand)),
        ),
        CardVerb(
            Verb.ESCALATION_ACK,
            Permission.COORDINATOR,
            lambda s, a, c: s.month.handle_escalation(a, _is(c, EscalationCommand)),
        ),
        CardVerb(
            Verb.ESCALATION_RESOLVE,
            Permission.COORDINATOR,
            lambda s, a, c: s.month.handle_escalation(a, _is(c, EscalationCommand)),
        ),
        CardVerb(
            Verb.ANNOUNCE_PREVIEW,
            Permission.COORDINATOR,
            lambda s, a, c: s.announcements.announce(a, _is(c, AnnounceCommand)),
        ),
        CardVerb(
            Verb.ANNOUNCE_SEND,
            Permission.COORDINATOR,
            lambda s, a, c: s.announcements.announce(a, _is(c, AnnounceCommand)),
        ),
    )
}


def _open_goals(services: Services, actor: Actor, command: GoalsOpenCommand) -> Card:
    # Always the current quarter's card: a prompt pressed late opens the goals that can still change.
    return services.peers.goals_card(actor)


def find_card_verb(verb: str) -> CardVerb:
    """The registered card verb, or BadActionError (the same answer parse_action gives)."""
    entry = CARD_VERBS.get(verb)
    if entry is None:
        raise BadActionError(UNKNOWN_VERB)
    return entry


def _is(command: Command, kind: type[_C]) -> _C:
    if not isinstance(command, kind):
        raise TypeError(f"{type(command).__name__} routed to a {kind.__name__} handler")
    return command
