"""What use cases return and surfaces render: small frozen records of display-ready values.

Dates and times arrive preformatted in the reader's local time (`when`), so builders never read
a clock or a time zone; whether an answer is still open is decided by the service (`closed`,
`correct_until`). Names are display names; emails appear only where an input must be keyed by
member (the attendance register, read by the group's own facilitator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from programme.announcements import AudienceKind
from programme.answers import AbsenceReason, EscalationStatus, Flag, Goal, RsvpAnswer
from programme.policies import Role as Role  # re-exported: programme.policies decides roles


@dataclass(frozen=True)
class WelcomeView:
    name: str
    roles: frozenset[Role]


@dataclass(frozen=True)
class SessionInfo:
    """One group's session in a programme month, as shown to its reader."""

    group_id: str
    group_name: str
    month: str  # the session's period (programme.sessions): "2026-11", or "2026-11-12" every N weeks
    when: str  # e.g. "Thursday 12 November 2026, 10:00-11:30"
    place: str = ""  # in-person location; empty for online sessions
    teams_link: str | None = None
    timekeeper: str = ""  # in a group whose programme rotates facilitation: who keeps time (name)


@dataclass(frozen=True)
class RsvpView:
    """A person's own RSVP for a session; `reason` is theirs to see, nobody else's on this card."""

    session: SessionInfo
    answer: RsvpAnswer | None = None
    reason: AbsenceReason | None = None
    closed: bool = False  # the session has started: read-only


@dataclass(frozen=True)
class IntroductionView:
    facilitator_name: str
    message: str
    rsvp: RsvpView


@dataclass(frozen=True)
class ConsoleGroup:
    name: str
    next_session: str
    members: int


@dataclass(frozen=True)
class IntroConsoleView:
    groups: tuple[ConsoleGroup, ...]
    queued: int | None = None  # introductions queued by the last send; None before any send


@dataclass(frozen=True)
class RosterEntry:
    """One member's answer; reason and note are shown only on the coordinator variant."""

    name: str
    answer: RsvpAnswer | None
    reason: AbsenceReason | None = None
    note: str = ""


@dataclass(frozen=True)
class RosterView:
    session: SessionInfo
    entries: tuple[RosterEntry, ...]
    show_reasons: bool = False  # the coordinators' variant, with absence reasons and notes


@dataclass(frozen=True)
class AttendanceMember:
    email: str
    name: str
    rsvp: RsvpAnswer | None = None
    present: bool | None = None  # as recorded; None before the register is taken


@dataclass(frozen=True)
class AttendanceView:
    session: SessionInfo
    members: tuple[AttendanceMember, ...]
    recorded: bool = False
    correct_until: str | None = None  # shown and correctable while set; None once the 7 days are over


@dataclass(frozen=True)
class CheckoutReceipt:
    """A check-out just saved: for which session, and whether it raised flags."""

    session: SessionInfo
    flagged: bool


@dataclass(frozen=True)
class CheckoutPrompt:
    """What `end` did: prompts newly queued, who the check-out is for, and whether the register said so."""

    queued: int
    recipients: int
    by_register: bool


@dataclass(frozen=True)
class MeetingLinked:
    """A Teams meeting chat now tied to a group's session."""

    group_name: str
    when: str


@dataclass(frozen=True)
class EscalationView:
    """Only who, about whom, where from, which flags, when and status: no free text by design."""

    id: str
    raised_by: str
    about: str
    source: Literal["checkout", "peer"]
    flags: frozenset[Flag]
    raised_when: str
    status: EscalationStatus = EscalationStatus.OPEN
    handled_by: str | None = None


@dataclass(frozen=True)
class PeerCheckView:
    round: int
    month: str
    peers: tuple[str, ...]  # names of the person's peer(s)
    receives_only: bool = False  # the reader is in probation: supported, and asked about nobody
    supporting: tuple[str, ...] = ()  # names of the reader's peers in probation, supported one way
    # The reader's own answer for the month, shown back to them only (never on a queued card).
    met: bool | None = None
    flags: frozenset[Flag] = frozenset()


@dataclass(frozen=True)
class PeerRecorded:
    """A peer meeting just recorded: the person's card and what they said."""

    check: PeerCheckView
    met: bool


@dataclass(frozen=True)
class GoalsRecord:
    """A person's saved goals for a quarter, as shown to that person only."""

    goals: tuple[Goal, ...]
    training_needs: str = ""
    capacity_now: int | None = None
    capacity_plan: str = ""


@dataclass(frozen=True)
class PeerGoals:
    """What one peer shared: the texts of their shared goals, never the private ones."""

    name: str
    goals: tuple[str, ...]


@dataclass(frozen=True)
class GoalsView:
    quarter: str  # "2027-Q1"
    peers: tuple[str, ...]
    open_until: str = ""  # when this quarter's goals stop being changeable, e.g. "31 March 2027"
    mine: GoalsRecord | None = None  # the reader's saved goals for the quarter
    shared_with_me: tuple[PeerGoals, ...] = ()
    last_quarter: str = ""  # e.g. "2026-Q4", to review
    last_mine: tuple[Goal, ...] = ()
    last_shared_with_me: tuple[PeerGoals, ...] = ()
    receives_only: bool = False  # the reader is in probation
    supporting: tuple[str, ...] = ()  # names of the reader's peers in probation


@dataclass(frozen=True)
class PairPeer:
    name: str
    role: str = ""
    receives_only: bool = False  # in probation: receives support from this person, gives none


@dataclass(frozen=True)
class PairIntroView:
    round: int
    peers: tuple[PairPeer, ...]
    receives_only: bool  # the reader is in probation
    until: str  # when the round ends, e.g. "May 2027"


@dataclass(frozen=True)
class AnnouncementDraft:
    title: str
    text: str
    audience: AudienceKind
    audience_value: str = ""


@dataclass(frozen=True)
class ComposerView:
    """The announcement composer: empty, or a draft with how many people its preview would reach."""

    draft: AnnouncementDraft | None = None
    preview_recipients: int | None = None


@dataclass(frozen=True)
class AnnouncementView:
    title: str
    text: str
    sender: str


@dataclass(frozen=True)
class DeliveryProblemsView:
    """What the outbox could not deliver lately: fixed reasons only, never message content."""

    failed: tuple[tuple[str, str, int], ...]  # (kind, reason, how many)
    retrying: tuple[tuple[str, int], ...]  # (kind, how many waiting for another attempt)


@dataclass(frozen=True)
class AnnouncementResultView:
    title: str
    audience: str  # described, e.g. "the facilitators"
    sent: int
    failed: int
    unreachable: int
    pending: int = 0  # still to be delivered (Teams allows about 50 messages a second)
    rate: float | None = None  # messages a second so far, while it is being delivered


@dataclass(frozen=True)
class AnnouncementStatus:
    """The latest announcement's delivery (None before the first) and the outbox's problems."""

    latest: AnnouncementResultView | None
    problems: DeliveryProblemsView


@dataclass(frozen=True)
class GatheringView:
    """One opt-in gathering as staff see it: counts only, never who joined."""

    programme_id: str
    programme_name: str
    topic: str
    joined: int
    minimum: int
    next_session: str  # the programme's next session, e.g. "Wednesday 10 March 2027, 12:30-13:30 GMT"
    place: str  # in-person location; empty for Teams
    mine: bool  # the reader joined this one

    @property
    def meets(self) -> bool:
        return self.joined >= self.minimum


@dataclass(frozen=True)
class GatheringsView:
    """One page of the gatherings a person may join, and what their last press changed (if anything).

    All of them are ordered the reader's own first, then in settings order (programmes, then their
    topics); `gatherings` is the page's slice of that order, starting at position `first` (1-based).
    """

    gatherings: tuple[GatheringView, ...]
    total: int  # on every page
    notice: str = ""
    page: int = 1
    pages: int = 1
    first: int = 1
    yours: int = 0  # how many the reader joined (listed first, so on page 1)

    @property
    def last(self) -> int:
        """The position of the page's last gathering (1-based)."""
        return self.first + len(self.gatherings) - 1


@dataclass(frozen=True)
class GatheringMembers:
    """A gathering with the emails that joined it (coordinators' CLI only)."""

    programme_id: str
    topic: str
    minimum: int
    emails: tuple[str, ...]


@dataclass(frozen=True)
class ThemesFormView:
    """A session's themes as its leader records or corrects them."""

    session: SessionInfo
    programme_name: str
    themes: tuple[str, ...]  # the programme's list, in its order
    chosen: frozenset[str]
    note: str
    recorded: bool
    correct_until: str | None  # None once corrections are closed


@dataclass(frozen=True)
class ThemeCountView:
    theme: str
    groups: int | None  # None: fewer than 3 groups (suppressed)


@dataclass(frozen=True)
class QuarterThemesView:
    """One quarter's themes for one programme (or "All programmes"), suppressed below 3 groups."""

    quarter: str
    programme_id: str  # "all" for every programme together
    programme_name: str
    groups_recording: int | None
    themes: tuple[ThemeCountView, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class FacilitatorsImported:
    """What an import of the external facilitators list changed (emails, sorted)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
