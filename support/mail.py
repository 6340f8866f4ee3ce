"""The one Mailer interface every backend (mailers/: ews, graph, pickup) implements, and what it sends.

Here, below both, so the outbox's deliverer (service/delivery.py) and the backends share it without
the use-case layer importing a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class MeetingInvite:
    """A real meeting request for one group session; `uid` is stable for the session's life.

    `sequence` grows with every change (time, attendees): calendars replace the meeting they hold
    with the same UID and a higher SEQUENCE, so an update never shows up as a second meeting.
    """

    uid: str  # e.g. "reflect-thu-coach-1-2026-12@reflect.local"
    sequence: int
    organizer: str  # email of the mailbox that sends (the programme mailbox)
    subject: str
    body_text: str  # what the session is and how to RSVP; no confidential content
    start: datetime  # aware
    end: datetime  # aware
    timezone: str  # IANA name the times are shown in
    attendees: tuple[str, ...]  # required attendees: facilitator and members
    location: str = ""
    online: bool = True  # ask the backend for a Teams meeting link where it can
    # People this update takes off the meeting. Exchange (ews, graph) sends them a cancellation by
    # itself when the attendee list changes; the pickup backend writes it (RFC 5546 3.2.5).
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailMessage:
    """A plain email (reminders, announcements, goal-setting prompts for people off Teams)."""

    to: tuple[str, ...]
    subject: str
    body_text: str
    sender: str
    message_id: str  # stable per logical message: lets a backend (and the recipient) spot repeats


@dataclass(frozen=True)
class MeetingResult:
    """What the backend knows the meeting as afterwards."""

    item_id: str | None = None  # EWS ItemId / Graph event id; None for pickup files
    join_url: str | None = None  # the Teams link, when the backend made an online meeting


class MailFailure(StrEnum):
    RETRY = "retry"  # busy, throttled, 5xx, connection: try again later
    AUTH = "auth"  # wrong credentials or permissions: fail fast, say so clearly
    FAIL = "fail"  # anything else permanent


@dataclass
class MailError(Exception):
    """A send that did not (fully) happen; the message never quotes confidential content."""

    kind: MailFailure
    reason: str
    retry_after: float | None = None
    # Recipients the server rejected; the others were sent.
    invalid_recipients: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.reason}"


class Mailer(Protocol):
    """Sends meeting requests and mail; every method is safe to call from the event loop."""

    async def send_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> MeetingResult:
        """Create the meeting (existing None) or update it to this invite's time and attendees."""
        ...

    async def cancel_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> None:
        """Cancel the meeting for every attendee."""
        ...

    async def send_mail(self, message: MailMessage) -> None:
        """Send one email."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
