"""What people answer during a programme month: RSVPs, attendance, check-outs, peer records, goals.

Most of this is confidential: absence reasons go to coordinators only, check-out text to nobody
but the aggregate, flags to the people circle as escalations, private goals to nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RsvpAnswer(StrEnum):
    ATTENDING = "attending"
    NOT_ATTENDING = "not_attending"
    MAYBE = "maybe"


class AbsenceReason(StrEnum):
    ANNUAL_LEAVE = "annual_leave"
    SICKNESS = "sickness"
    OTHER = "other"


class Flag(StrEnum):
    """Difficulties that escalate to the people circle (coordinators), in confidence."""

    OVERWORKED = "overworked"
    STRESSED = "stressed"
    NEEDS_SUPPORT = "needs_support"
    STRUGGLING = "struggling"
    CONFLICT = "conflict_with_colleague"


FLAG_LABELS = {
    Flag.OVERWORKED: "Overworked",
    Flag.STRESSED: "Stressed",
    Flag.NEEDS_SUPPORT: "Needs support",
    Flag.STRUGGLING: "Struggling",
    Flag.CONFLICT: "In conflict with a colleague",
}
REASON_LABELS = {
    AbsenceReason.ANNUAL_LEAVE: "Annual leave",
    AbsenceReason.SICKNESS: "Sickness",
    AbsenceReason.OTHER: "Other",
}


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Rsvp:
    """A person's answer for one group session; the reason and note are coordinator-only."""

    group_id: str
    month: str  # "2026-11": the programme month of the session
    email: str
    answer: RsvpAnswer
    reason: AbsenceReason | None
    note: str
    answered_at: datetime


@dataclass(frozen=True)
class Attendance:
    """The register of one session as the facilitator recorded it."""

    group_id: str
    month: str
    present: frozenset[str]
    absent: frozenset[str]
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class Checkout:
    """A person's end-of-session check-out; the text is never shown to other staff."""

    group_id: str
    month: str
    email: str
    helpful: str
    not_helpful: str
    rating: int | None  # 1-5
    flags: frozenset[Flag]
    at: datetime


@dataclass(frozen=True)
class PeerMeeting:
    """A person's monthly record of meeting their peer(s)."""

    round: int
    month: str
    email: str
    met: bool
    flags: frozenset[Flag]
    at: datetime


@dataclass(frozen=True)
class Goal:
    text: str
    shared: bool  # private goals are seen by their owner only


@dataclass(frozen=True)
class GoalSetting:
    """A quarterly goal-setting record, made by a person with their peer."""

    quarter: str  # "2027-Q1"
    email: str
    goals: tuple[Goal, ...]
    training_needs: str
    capacity_now: int  # percent of capacity in use now
    capacity_plan: str  # how to get to 80% for the next six weeks
    at: datetime


@dataclass(frozen=True)
class Escalation:
    """Flags raised about a person; seen by coordinators only."""

    id: str
    raised_by: str
    about: str  # the person the flags concern: the raiser at a check-out, their peer on a peer record
    source: str  # "checkout" or "peer"
    flags: frozenset[Flag]
    created_at: datetime
    status: EscalationStatus = EscalationStatus.OPEN
    handled_by: str | None = None
