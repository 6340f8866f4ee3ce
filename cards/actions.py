"""Card actions in, typed commands (service/commands.py) out: `parse_action(verb, data)` for an
adaptiveCard/action invoke.

`data` is Teams' merge of the action's own data with the card's input values. Input values are
untrusted: anything missing, mistyped or out of range raises BadActionError, whose message names
the field but never repeats what the person typed (it may be confidential). Who acted is not in
here: the bot takes identity from the activity and checks permissions itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from cards.common import MAX_TEXT, MAX_TITLE
from cards.protocol import (
    ANNOUNCE_AUDIENCE,
    ANNOUNCE_AUDIENCE_VALUE,
    ANNOUNCE_TEXT,
    ANNOUNCE_TITLE,
    CHECKOUT_FLAGS,
    CHECKOUT_HELPFUL,
    CHECKOUT_NOT_HELPFUL,
    CHECKOUT_RATING,
    DATA_AGAIN,
    DATA_ANSWER,
    DATA_GROUP,
    DATA_ID,
    DATA_MONTH,
    DATA_PAGE,
    DATA_PROGRAMME,
    DATA_QUARTER,
    DATA_ROUND,
    DATA_TOPIC,
    GOALS_CAPACITY_NOW,
    GOALS_CAPACITY_PLAN,
    GOALS_TRAINING,
    INTRO_MESSAGE,
    MAX_CAPACITY,
    MAX_GOALS,
    MIN_CAPACITY,
    PEER_FLAGS,
    PEER_MET,
    PRESENT_PREFIX,
    RSVP_NOTE,
    RSVP_REASON,
    THEME_PREFIX,
    THEMES_NOTE,
    Verb,
    goal_shared_id,
    goal_text_id,
)
from programme.announcements import AudienceKind
from programme.answers import AbsenceReason, Flag, Goal, RsvpAnswer
from programme.errors import BadActionError
from programme.sessions import period_date
from service.commands import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    Command,
    EscalationAction,
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

_REFERENCE = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
# Programme months and quarters are this century's: a year like 0000 or 9999 is forged (and
# out of range for date arithmetic).
_MONTH = re.compile(r"20\d\d-(0[1-9]|1[0-2])")
# A session's period (programme.sessions): its month, or an every-N-weeks session's date.
_PERIOD = re.compile(r"20\d\d-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")
_QUARTER = re.compile(r"20\d\d-Q[1-4]")
_INTEGER = re.compile(r"[+-]?\d{1,9}")
_GOAL_TEXT_KEY = re.compile(r"goal(\d+)_text")
_EMAIL_KEY = re.compile(r"[^\s,]{3,254}")
# A group has at most 8 members; far more toggles than that is a forged payload.
_MAX_REGISTER = 50
# A programme lists at most 30 themes (programme.programmes.MAX_THEMES).
_MAX_THEMES = 30
_E = TypeVar("_E", bound=StrEnum)


UNKNOWN_VERB = "This card's button is not one I know. It may be from an older version of the app."


def parse_action(verb: str, data: Mapping[str, Any]) -> Command:
    """The typed command for a card action, or BadActionError saying which field is wrong."""
    parser = _PARSERS.get(verb)
    if parser is None:
        raise BadActionError(UNKNOWN_VERB)
    if not isinstance(data, Mapping):
        raise BadActionError("The card sent no data.")
    return parser(data)


def _rsvp(data: Mapping[str, Any]) -> RsvpCommand:
    answer = _choice(data, DATA_ANSWER, RsvpAnswer, "The answer")
    if answer is not RsvpAnswer.NOT_ATTENDING:
        # The reason inputs are not on the clicked button's card, and reasons belong to absences only.
        return RsvpCommand(_reference(data, DATA_GROUP, "group"), _period(data), answer, None, "")
    if not _text(data, RSVP_REASON, "The reason"):
        raise BadActionError("Please choose a reason for not attending.")
    return RsvpCommand(
        _reference(data, DATA_GROUP, "group"),
        _period(data),
        answer,
        _choice(data, RSVP_REASON, AbsenceReason, "The reason"),
        _text(data, RSVP_NOTE, "The note"),
    )


def _attendance(data: Mapping[str, Any]) -> AttendanceCommand:
    group, month = _reference(data, DATA_GROUP, "group"), _period(data)
    present: set[str] = set()
    absent: set[str] = set()
    for key, value in data.items():
        if not (isinstance(key, str) and key.startswith(PRESENT_PREFIX)):
            continue
        email = key[len(PRESENT_PREFIX) :]
        if not _EMAIL_KEY.fullmatch(email):
            raise BadActionError("The register lists a member it cannot identify.")
        (present if _boolean(value, "A register tick") else absent).add(email)
    if not present and not absent:
        raise BadActionError("The register came back without any members.")
    if len(present) + len(absent) > _MAX_REGISTER:
        raise BadActionError("The register lists more members than a group can have.")
    return AttendanceCommand(group, month, frozenset(present), frozenset(absent))


def _checkout(data: Mapping[str, Any]) -> CheckoutCommand:
    return CheckoutCommand(
        _reference(data, DATA_GROUP, "group"),
        _period(data),
        _text(data, CHECKOUT_HELPFUL, "What was helpful"),
        _text(data, CHECKOUT_NOT_HELPFUL, "What was not helpful"),
        _integer(data, CHECKOUT_RATING, "The rating", 1, 5),
        _flags(data, CHECKOUT_FLAGS),
    )


def _peer_record(data: Mapping[str, Any]) -> PeerRecordCommand:
    round_number = data.get(DATA_ROUND)
    if isinstance(round_number, bool) or not isinstance(round_number, int) or round_number < 1:
        raise BadActionError("The card's pairing round is missing or not valid.")
    met = _text(data, PEER_MET, "Whether you met")
    if met not in ("yes", "no"):
        raise BadActionError("Please say whether you met (yes or no).")
    return PeerRecordCommand(round_number, _month(data), met == "yes", _flags(data, PEER_FLAGS))


def _quarter(data: Mapping[str, Any]) -> str:
    quarter = data.get(DATA_QUARTER)
    if not isinstance(quarter, str) or not _QUARTER.fullmatch(quarter):
        raise BadActionError("The card's quarter is missing or not valid (expected YYYY-Qn).")
    return quarter


def _goals_open(data: Mapping[str, Any]) -> GoalsOpenCommand:
    return GoalsOpenCommand(_quarter(data))


def _goals(data: Mapping[str, Any]) -> GoalsCommand:
    quarter = _quarter(data)
    for key, value in data.items():
        found = _GOAL_TEXT_KEY.fullmatch(key) if isinstance(key, str) else None
        if found and int(found[1]) > MAX_GOALS and isinstance(value, str) and value.strip():
            raise BadActionError(f"At most {MAX_GOALS} goals can be set.")
    goals = []
    for number in range(1, MAX_GOALS + 1):
        goal_text = _text(data, goal_text_id(number), f"Goal {number}")
        if goal_text:
            shared = _boolean(data.get(goal_shared_id(number), "false"), f"Goal {number}'s sharing choice")
            goals.append(Goal(goal_text, shared))
    if not goals:
        raise BadActionError("Please write at least one goal.")
    capacity = _integer(data, GOALS_CAPACITY_NOW, "Capacity now", MIN_CAPACITY, MAX_CAPACITY)
    if capacity is None:
        raise BadActionError(
            f"Capacity now is required: a whole number from {MIN_CAPACITY} to {MAX_CAPACITY}."
        )
    return GoalsCommand(
        quarter,
        tuple(goals),
        _text(data, GOALS_TRAINING, "Training needs"),
        capacity,
        _text(data, GOALS_CAPACITY_PLAN, "The capacity plan"),
    )


def _intro_send(data: Mapping[str, Any]) -> IntroSendCommand:
    return IntroSendCommand(
        _boolean(data.get(DATA_AGAIN, False), "The send-again choice"),
        _text(data, INTRO_MESSAGE, "Your message"),
    )


def _escalation(action: EscalationAction) -> Callable[[Mapping[str, Any]], EscalationCommand]:
    def parse(data: Mapping[str, Any]) -> EscalationCommand:
        return EscalationCommand(_reference(data, DATA_ID, "escalation"), action)

    return parse


def _announce(preview: bool) -> Callable[[Mapping[str, Any]], AnnounceCommand]:
    def parse(data: Mapping[str, Any]) -> AnnounceCommand:
        audience = _choice(data, ANNOUNCE_AUDIENCE, AudienceKind, "The audience")
        value = _text(data, ANNOUNCE_AUDIENCE_VALUE, "The role, weekday or group", limit=MAX_TITLE)
        if audience in (AudienceKind.ROLE, AudienceKind.WEEKDAY, AudienceKind.GROUP):
            if not value:
                raise BadActionError(f"Please say which {audience.value} the announcement is for.")
        else:
            value = ""  # a leftover value must not narrow "everyone" or "the facilitators"
        return AnnounceCommand(
            _text(data, ANNOUNCE_TITLE, "The title", required=True, limit=MAX_TITLE),
            _text(data, ANNOUNCE_TEXT, "The message", required=True),
            audience,
            value,
            preview,
        )

    return parse


def _gathering_join(data: Mapping[str, Any]) -> GatheringJoinCommand:
    return GatheringJoinCommand(
        _reference(data, DATA_PROGRAMME, "programme"),
        _text(data, DATA_TOPIC, "The gathering", required=True, limit=MAX_TITLE),
        _page(data, default=1),
    )


def _gathering_leave(data: Mapping[str, Any]) -> GatheringLeaveCommand:
    return GatheringLeaveCommand(_reference(data, DATA_PROGRAMME, "programme"), _page(data, default=1))


def _gatherings_page(data: Mapping[str, Any]) -> GatheringsPageCommand:
    return GatheringsPageCommand(_page(data))


def _page(data: Mapping[str, Any], default: int | None = None) -> int:
    # Join / Leave buttons of cards sent before the card had pages carry no page: theirs was the only one.
    page = data.get(DATA_PAGE, default)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise BadActionError("The card's page is missing or not valid.")
    return page


def _themes(data: Mapping[str, Any]) -> ThemesCommand:
    group, month = _reference(data, DATA_GROUP, "group"), _period(data)
    chosen: list[str] = []
    toggles = 0
    for key, value in data.items():
        if not (isinstance(key, str) and key.startswith(THEME_PREFIX)):
            continue
        toggles += 1
        theme = key[len(THEME_PREFIX) :]
        if not theme or len(theme) > MAX_TITLE:
            raise BadActionError("The card lists a theme it cannot identify.")
        if _boolean(value, "A theme's toggle"):
            chosen.append(theme)
    if toggles > _MAX_THEMES:
        raise BadActionError("The card lists more themes than a programme can have.")
    return ThemesCommand(group, month, tuple(sorted(chosen)), _text(data, THEMES_NOTE, "The note"))


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Command]] = {
    Verb.RSVP_ANSWER: _rsvp,
    Verb.ATTENDANCE_SUBMIT: _attendance,
    Verb.CHECKOUT_SUBMIT: _checkout,
    Verb.PEER_RECORD: _peer_record,
    Verb.GOALS_SUBMIT: _goals,
    Verb.GOALS_OPEN: _goals_open,
    Verb.INTRO_SEND: _intro_send,
    Verb.ESCALATION_ACK: _escalation(EscalationAction.ACKNOWLEDGE),
    Verb.ESCALATION_RESOLVE: _escalation(EscalationAction.RESOLVE),
    Verb.ANNOUNCE_PREVIEW: _announce(preview=True),
    Verb.ANNOUNCE_SEND: _announce(preview=False),
    Verb.GATHERING_JOIN: _gathering_join,
    Verb.GATHERING_LEAVE: _gathering_leave,
    Verb.GATHERINGS_PAGE: _gatherings_page,
    Verb.THEMES_SUBMIT: _themes,
}


def _text(
    data: Mapping[str, Any], key: str, label: str, *, required: bool = False, limit: int = MAX_TEXT
) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadActionError(f"{label} must be text.")
    value = value.strip()
    if len(value) > limit:
        raise BadActionError(f"{label} is too long: at most {limit} characters.")
    if required and not value:
        raise BadActionError(f"{label} is required.")
    return value


def _reference(data: Mapping[str, Any], key: str, label: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not _REFERENCE.fullmatch(value):
        raise BadActionError(f"The card's {label} is missing or not valid.")
    return value


def _month(data: Mapping[str, Any]) -> str:
    value = data.get(DATA_MONTH)
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise BadActionError("The card's month is missing or not valid (expected YYYY-MM).")
    return value


def _period(data: Mapping[str, Any]) -> str:
    """A session card's period, carried in its `month` field (cards sent before keep working)."""
    value = data.get(DATA_MONTH)
    if isinstance(value, str) and _PERIOD.fullmatch(value):
        # A date must be a real one: "2027-02-30" is no session's date.
        if len(value) == 7 or period_date(value) is not None:
            return value
    raise BadActionError(
        "The card's month is missing or not valid (expected YYYY-MM, or YYYY-MM-DD for a session of a "
        "group meeting every few weeks)."
    )


def _choice(data: Mapping[str, Any], key: str, kind: type[_E], label: str) -> _E:
    return _member(data.get(key), kind, label)


def _member(value: object, kind: type[_E], label: str) -> _E:
    for member in kind:
        if value == member.value:
            return member
    raise BadActionError(f"{label} is missing or not one of the choices.")


def _boolean(value: object, label: str) -> bool:
    # Toggles send the strings "true"/"false"; our own data carries JSON booleans.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadActionError(f"{label} must be on or off.")


def _integer(data: Mapping[str, Any], key: str, label: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    # Choice sets and some Teams clients send numbers as strings; a forged payload may send anything.
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise BadActionError(f"{label} must be a whole number from {low} to {high}.")
    if not low <= number <= high:
        raise BadActionError(f"{label} must be a whole number from {low} to {high}.")
    return number


def _flags(data: Mapping[str, Any], key: str) -> frozenset[Flag]:
    # A multi-select ChoiceSet answers with its chosen values joined by commas.
    items = _text(data, key, "The flags").split(",")
    return frozenset(_member(item.strip(), Flag, "A flag") for item in items if item.strip())
