"""What the programme keeps per person, group and period, as plain typed records.

The repositories (`repositories/`) map these to and from their stored documents; nothing above
them sees a field name or an ISO-date string. Timestamps are aware datetimes; lists are tuples or
frozensets. A field older documents lack is optional here (`None`), with the default it has today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from programme.answers import AbsenceReason, EscalationStatus, Flag, Goal, RsvpAnswer


@dataclass(frozen=True)
class Rsvp:
    """A member's answer for a group's session in a month (the reason and note: coordinators only)."""

    answer: RsvpAnswer
    reason: AbsenceReason | None
    note: str
    answered_at: datetime | None  # None: a record written without it


@dataclass(frozen=True)
class AttendanceRegister:
    """Who came to a group's session, as whoever ran it recorded."""

    present: frozenset[str]
    absent: frozenset[str]
    recorded_by: str | None
    recorded_at: datetime | None


@dataclass(frozen=True)
class Checkout:
    """A member's check-out after a session: confidential, shown to nobody, counted in reports."""

    helpful: str
    not_helpful: str
    rating: int | None
    flags: frozenset[Flag]
    at: datetime | None


@dataclass(frozen=True)
class PeerMeeting:
    """Whether a person met their peer in a month of a pairing round, and any flags about the peer."""

    met: bool
    flags: frozenset[Flag]
    at: datetime | None


@dataclass(frozen=True)
class QuarterGoals:
    """A person's goals for a quarter (goals whose text was purged keep their place, with "")."""

    goals: tuple[Goal, ...]
    training_needs: str
    capacity_now: int | None
    capacity_plan: str
    round: int | None  # the pairing round they were set in; None in records from before it was kept
    at: datetime | None


EscalationSource = Literal["checkout", "peer"]


@dataclass(frozen=True)
class Escalation:
    """Flags about a person, raised from a check-out or a peer record: coordinators only."""

    id: str
    raised_by: str
    about: str
    source: EscalationSource
    flags: frozenset[Flag]
    created_at: datetime
    status: EscalationStatus
    handled_by: str | None


@dataclass(frozen=True)
class Introduction:
    """A facilitator's introduction of a group's month, and how many times it was sent."""

    facilitator: str
    message: str
    sends: int


@dataclass(frozen=True)
class Announcement:
    """An announcement a coordinator sent: what, to whom (described), how many, and its digest."""

    title: str
    audience: str
    sender: str
    sent_at: datetime
    recipients: int
    period: str
    digest: str  # hashes the sender and the content: the same one pressed twice is sent once


@dataclass(frozen=True)
class JobRun:
    """That a programme-clock job ran, when, and how many messages it queued."""

    ran_at: datetime
    queued: int
    note: str


class MeetingStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SessionInvite:
    """The meeting request of a group's session, as its latest version was sent."""

    uid: str  # iCalendar UID: one per group and month
    organizer: str
    subject: str
    body_text: str
    start: datetime
    end: datetime
    timezone: str
    attendees: tuple[str, ...]
    location: str
    online: bool
    sequence: int  # iCalendar SEQUENCE of this version


@dataclass(frozen=True)
class Meeting:
    """A group's meeting in a month: the invite sent, the backend's item and Teams link, its chat."""

    invite: SessionInvite | None  # None: a meeting chat was linked before any invite was sent
    fingerprint: str  # what the invite was built from; "" makes the next sync send an update
    status: MeetingStatus
    item_id: str | None = None
    join_url: str | None = None
    chat_id: str | None = None
