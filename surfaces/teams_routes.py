"""The Teams routing table: every text command and card verb, who may use it (a Permission of
programme/policies.py, declared here once), the use case it runs and the card its result becomes.

surfaces/teams.py (the bot's TurnHandler) looks commands and verbs up here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cards.actions import UNKNOWN_VERB
from cards.escalations import build_escalation_card
from cards.gatherings import build_gatherings_card
from cards.peers import build_goals_card, build_goals_recorded_card, build_peer_check_card
from cards.protocol import Verb
from cards.replies import (
    checkout_thanks_card,
    composer_reply_card,
    peer_recorded_card,
    roster_card,
    rsvp_reply_card,
    status_cards,
)
from cards.reports import build_report_card, report_card_view
from cards.rsvp import build_rsvp_card
from cards.session import build_attendance_card, build_checkout_card, build_intro_console_card
from cards.themes import build_themes_card, build_themes_overview_card
from cards.welcome import (
    build_help_card,
    build_welcome_card,
)
from programme.errors import BadActionError
from programme.policies import Actor, Permission, led_groups, may_use, roles_of
from service.commands import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    EscalationCommand,
    GatheringJoinCommand,
    GatheringLeaveCommand,
    GatheringsPageCommand,
    GoalsCommand,
    GoalsOpenCommand,
    IntroSendCommand,
    PeerRecordCommand,
    RsvpCommand,
    ThemesCommand,
)
from service.services import Services
from service.views import WelcomeView
from teams_bot.handler import Card, Reply

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
    prompt = services.checkouts.prompt(actor, turn.argument or None)
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
    total = services.rsvps.remind_unanswered(actor, turn.argument or None)
    return (
        f"Reminder queued for {'1 person' if total == 1 else f'{total} people'} who haven't answered."
        if total
        else "Nobody needs a reminder."
    )


def _report(services: Services, actor: Actor, turn: Turn) -> Reply:
    # One card per programme, each suppressed on its own numbers.
    return [
        build_report_card(report_card_view(s.report, s.name)) for s in services.reports.by_programme(actor)
    ]


def _link(services: Services, actor: Actor, turn: Turn) -> Reply:
    linked = services.meeting_links.link(actor, turn.conversation_id, turn.argument or None)
    return f"This chat is now linked to {linked.group_name} on {linked.when}."


def _status(services: Services, actor: Actor, turn: Turn) -> Reply:
    return status_cards(services.announcements.status(actor))


def _escalations(services: Services, actor: Actor, turn: Turn) -> Reply:
    return [build_escalation_card(view) for view in services.escalations.pending(actor)] or (
        "No open escalations."
    )


_QUARTER = re.compile(r"^\d{4}-Q[1-4]$", re.IGNORECASE)
_OVERVIEW_WORDS = ("all", "report", "quarter")


def _themes(services: Services, actor: Actor, turn: Turn) -> Reply:
    # One word for both audiences: whoever ran a session records its themes (`themes`, or
    # `themes GROUP-ID`); coordinators see them per quarter (`themes`, `themes 2027-Q1`).
    argument = turn.argument.strip()
    quarter = argument.upper() if _QUARTER.match(argument) else None
    overview = quarter is not None or argument.lower() in _OVERVIEW_WORDS
    if overview or (not argument and not led_groups(actor) and actor.is_coordinator):
        return [build_themes_overview_card(services.themes.overview(actor, quarter))]
    return [build_themes_card(services.themes.form(actor, argument or None))]


TEXT_COMMANDS: tuple[TextCommand, ...] = (
    TextCommand(("help", "?"), "what you can do here", Permission.EVERYONE, _help),
    TextCommand(("hello", "hi", "start", "welcome"), "the welcome card again", Permission.EVERYONE, _welcome),
    TextCommand(
        ("rsvp", "next"),
        "your next session and your answer",
        Permission.SELF,
        lambda s, a, _: [build_rsvp_card(s.rsvps.mine(a))],
    ),
    TextCommand(
        ("checkout",),
        "your check-out for the last session",
        Permission.SELF,
        lambda s, a, _: [build_checkout_card(s.checkouts.form(a))],
    ),
    TextCommand(
        ("peer", "peers"),
        "record this month's meeting with your peer, or change what you recorded",
        Permission.SELF,
        lambda s, a, _: [build_peer_check_card(s.peers.check(a))],
    ),
    TextCommand(
        ("goals",),
        "your goals for the quarter (and what your peer shared): set, review or change them",
        Permission.SELF,
        lambda s, a, _: [build_goals_card(s.goals.mine(a))],
    ),
    TextCommand(
        ("gatherings", "gathering"),
        "the open gatherings you can join or leave",
        Permission.SELF,
        lambda s, a, _: [build_gatherings_card(s.gatherings.open_for(a))],
    ),
    TextCommand(
        ("intro", "introduce"),
        "send your introductions to your groups",
        Permission.FACILITATOR,
        lambda s, a, _: [build_intro_console_card(s.introductions.console(a))],
    ),
    TextCommand(
        ("coming", "who"),
        "who is coming to your next session (coordinators: coming GROUP-ID, with absence reasons)",
        Permission.OVERSEER,
        lambda s, a, t: [roster_card(s.rsvps.roster(a, t.argument or None))],
        group_argument=True,
    ),
    TextCommand(
        ("attendance", "register"),
        "take the register of your session",
        Permission.LEADER,
        lambda s, a, t: [build_attendance_card(s.register.current(a, t.argument or None))],
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
        _link,
        group_argument=True,
    ),
    TextCommand(
        ("themes",),
        "record your session's themes for the organisation (coordinators: themes per quarter)",
        Permission.OVERSEER,
        _themes,
        # `themes GROUP-ID` names one of the leader's own groups (checked as LEADER, not OVERSEER:
        # coordinators see themes only per quarter, never one group's).
    ),
    TextCommand(
        ("announce",),
        "compose an announcement",
        Permission.COORDINATOR,
        lambda s, a, _: [composer_reply_card(s.announcements.composer(a))],
    ),
    TextCommand(
        ("status",),
        "delivery counts of the latest announcement, and any deliveries that failed",
        Permission.COORDINATOR,
        _status,
    ),
    TextCommand(
        ("report",),
        "the programme summary: attendance, answers, pairs, escalations",
        Permission.COORDINATOR,
        _report,
    ),
    TextCommand(
        ("escalations",),
        "open escalations, in confidence",
        Permission.COORDINATOR,
        _escalations,
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
            lambda s, a, c: rsvp_reply_card(s.rsvps.answer(a, narrowed(c, RsvpCommand))),
        ),
        CardVerb(
            Verb.ATTENDANCE_SUBMIT,
            Permission.LEADER,
            lambda s, a, c: build_attendance_card(s.register.record(a, narrowed(c, AttendanceCommand))),
        ),
        CardVerb(
            Verb.CHECKOUT_SUBMIT,
            Permission.MEMBER,
            lambda s, a, c: checkout_thanks_card(s.checkouts.submit(a, narrowed(c, CheckoutCommand))),
        ),
        CardVerb(
            Verb.PEER_RECORD,
            Permission.SELF,
            lambda s, a, c: peer_recorded_card(s.peers.record(a, narrowed(c, PeerRecordCommand))),
        ),
        CardVerb(
            Verb.GOALS_SUBMIT,
            Permission.SELF,
            lambda s, a, c: build_goals_recorded_card(s.goals.submit(a, narrowed(c, GoalsCommand))),
        ),
        CardVerb(
            Verb.GOALS_OPEN,
            Permission.SELF,
            lambda s, a, c: _open_goals(s, a, narrowed(c, GoalsOpenCommand)),
        ),
        CardVerb(
            Verb.INTRO_SEND,
            Permission.FACILITATOR,
            lambda s, a, c: build_intro_console_card(s.introductions.send(a, narrowed(c, IntroSendCommand))),
        ),
        CardVerb(
            Verb.ESCALATION_ACK,
            Permission.COORDINATOR,
            lambda s, a, c: build_escalation_card(s.escalations.handle(a, narrowed(c, EscalationCommand))),
        ),
        CardVerb(
            Verb.ESCALATION_RESOLVE,
            Permission.COORDINATOR,
            lambda s, a, c: build_escalation_card(s.escalations.handle(a, narrowed(c, EscalationCommand))),
        ),
        CardVerb(
            Verb.GATHERING_JOIN,
            Permission.SELF,
            lambda s, a, c: build_gatherings_card(s.gatherings.join(a, narrowed(c, GatheringJoinCommand))),
        ),
        CardVerb(
            Verb.GATHERING_LEAVE,
            Permission.SELF,
            lambda s, a, c: build_gatherings_card(s.gatherings.leave(a, narrowed(c, GatheringLeaveCommand))),
        ),
        CardVerb(
            Verb.GATHERINGS_PAGE,
            Permission.SELF,
            lambda s, a, c: build_gatherings_card(s.gatherings.page(a, narrowed(c, GatheringsPageCommand))),
        ),
        CardVerb(
            Verb.THEMES_SUBMIT,
            Permission.LEADER,
            lambda s, a, c: build_themes_card(s.themes.record(a, narrowed(c, ThemesCommand))),
        ),
        CardVerb(
            Verb.ANNOUNCE_PREVIEW,
            Permission.COORDINATOR,
            lambda s, a, c: composer_reply_card(s.announcements.announce(a, narrowed(c, AnnounceCommand))),
        ),
        CardVerb(
            Verb.ANNOUNCE_SEND,
            Permission.COORDINATOR,
            lambda s, a, c: composer_reply_card(s.announcements.announce(a, narrowed(c, AnnounceCommand))),
        ),
    )
}


def _open_goals(services: Services, actor: Actor, command: GoalsOpenCommand) -> Card:
    # Always the current quarter's card: a prompt pressed late opens the goals that can still change.
    return build_goals_card(services.goals.mine(actor))


def find_card_verb(verb: str) -> CardVerb:
    """The registered card verb, or BadActionError (the same answer parse_action gives)."""
    entry = CARD_VERBS.get(verb)
    if entry is None:
        raise BadActionError(UNKNOWN_VERB)
    return entry


def narrowed(value: object, kind: type[_C]) -> _C:
    """`value` as a `kind` (a command routed to its handler, an actor handed back by the bot)."""
    if not isinstance(value, kind):
        raise TypeError(f"{type(value).__name__} routed to a {kind.__name__} handler")
    return value
