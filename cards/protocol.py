"""The contract between the card builders and parse_action: verbs, data keys and input ids.

Teams merges an Action.Execute's `data` with the card's input values into one `action.data`
dict, so every input id carries a prefix that no data key has. Identity is never a data key:
the bot takes who acted from the invoke activity.
"""

from __future__ import annotations

from enum import StrEnum


class Verb(StrEnum):
    RSVP_ANSWER = "rsvp.answer"
    ATTENDANCE_SUBMIT = "attendance.submit"
    CHECKOUT_SUBMIT = "checkout.submit"
    PEER_RECORD = "peer.record"
    GOALS_SUBMIT = "goals.submit"
    GOALS_OPEN = "goals.open"  # the live goals card (review and revise), from the quarterly prompt
    INTRO_SEND = "intro.send"
    ESCALATION_ACK = "escalation.ack"
    ESCALATION_RESOLVE = "escalation.resolve"
    ANNOUNCE_PREVIEW = "announce.preview"
    ANNOUNCE_SEND = "announce.send"
    GATHERING_JOIN = "gathering.join"
    GATHERING_LEAVE = "gathering.leave"
    GATHERINGS_PAGE = "gatherings.page"  # the gatherings card's More / Back
    THEMES_SUBMIT = "themes.submit"


# Keys of the small `data` payloads the builders put on actions.
DATA_GROUP = "group"
DATA_MONTH = "month"
DATA_ANSWER = "answer"
DATA_AGAIN = "again"
DATA_ROUND = "round"
DATA_QUARTER = "quarter"
DATA_ID = "id"
DATA_PROGRAMME = "programme"
DATA_TOPIC = "topic"
DATA_PAGE = "page"
DATA_KEYS = frozenset(
    {
        DATA_GROUP,
        DATA_MONTH,
        DATA_ANSWER,
        DATA_AGAIN,
        DATA_ROUND,
        DATA_QUARTER,
        DATA_ID,
        DATA_PROGRAMME,
        DATA_TOPIC,
        DATA_PAGE,
    }
)

# Input ids, each with a family prefix that keeps it clear of the data keys above.
RSVP_REASON = "rsvp_reason"
RSVP_NOTE = "rsvp_note"
INTRO_MESSAGE = "intro_message"
# One Input.Toggle per member: "present:<email>" -> "true" / "false".
PRESENT_PREFIX = "present:"
CHECKOUT_HELPFUL = "checkout_helpful"
CHECKOUT_NOT_HELPFUL = "checkout_not_helpful"
CHECKOUT_RATING = "checkout_rating"
CHECKOUT_FLAGS = "checkout_flags"
PEER_MET = "peer_met"
PEER_FLAGS = "peer_flags"
MAX_GOALS = 3
GOALS_TRAINING = "goals_training"
GOALS_CAPACITY_NOW = "goals_capacity_now"
GOALS_CAPACITY_PLAN = "goals_capacity_plan"
ANNOUNCE_TITLE = "announce_title"
ANNOUNCE_TEXT = "announce_text"
ANNOUNCE_AUDIENCE = "announce_audience"
ANNOUNCE_AUDIENCE_VALUE = "announce_audience_value"
# One Input.Toggle per theme of the programme: "theme:<theme>" -> "true" / "false".
THEME_PREFIX = "theme:"
THEMES_NOTE = "themes_note"

MIN_CAPACITY = 0
MAX_CAPACITY = 200


def goal_text_id(number: int) -> str:
    """Input id of goal `number` (1-based)."""
    return f"goal{number}_text"


def goal_shared_id(number: int) -> str:
    """Input id of goal `number`'s shared toggle (1-based)."""
    return f"goal{number}_shared"


def theme_id(theme: str) -> str:
    """Input id of a theme's toggle."""
    return THEME_PREFIX + theme


def present_id(email: str) -> str:
    """Input id of a member's attendance toggle."""
    return PRESENT_PREFIX + email
