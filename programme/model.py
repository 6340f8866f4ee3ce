"""Domain records of a reflection programme: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

# Weekdays are ints as in datetime.date.weekday(): Monday=0 .. Sunday=6.
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STANDARD_WORKING_DAYS = frozenset(range(5))


def weekday_name(day: int) -> str:
    """Full English name of a weekday number (Monday=0)."""
    return WEEKDAY_NAMES[day]


@dataclass(frozen=True)
class Person:
    """One member of staff as known from the roster (emails are stored lower-case)."""

    email: str
    name: str
    role: str
    service: str = ""
    # Empty means the roster did not say; treated as a standard Monday-Friday week.
    working_days: frozenset[int] = frozenset()
    hours_per_week: float | None = None
    start_date: date | None = None
    probation_end: date | None = None
    facilitator: bool = False
    coordinator: bool = False
    aad_object_id: str | None = None
    timezone: str | None = None
    # Set when the person disappears from a roster import; their history is kept.
    left_on: date | None = None

    @property
    def active(self) -> bool:
        return self.left_on is None

    def works(self, day: int) -> bool:
        """Whether the person works on that weekday."""
        return day in (self.working_days or STANDARD_WORKING_DAYS)

    def in_probation(self, today: date) -> bool:
        """In probation while today is before probation_end."""
        return self.probation_end is not None and today < self.probation_end


LEGACY_PROGRAMME = "main"  # the id of the programme a single `[programme]` table describes


@dataclass(frozen=True)
class Group:
    """A reflection group: members meet monthly on one weekday."""

    id: str
    name: str
    weekday: int
    cohort: str
    # None means the group rotates facilitation among its members.
    facilitator: str | None
    members: tuple[str, ...]
    # The programme the group belongs to (programme/programmes.py); v1 groups belong to the one
    # programme a v1 deployment has.
    programme: str = LEGACY_PROGRAMME


def has_left(email: str, people: Mapping[str, Person]) -> bool:
    """Whether the roster says this person left (an address it does not know is not a leaver)."""
    person = people.get(email)
    return person is not None and not person.active


def without_leavers(group: Group, people: Mapping[str, Person]) -> Group:
    """The group as it meets now: people who left are out of it until the next allocation moves
    the others. A facilitator who left leaves the group rotating facilitation meanwhile."""
    members = tuple(m for m in group.members if not has_left(m, people))
    facilitator = None if group.facilitator and has_left(group.facilitator, people) else group.facilitator
    if members == group.members and facilitator == group.facilitator:
        return group
    return replace(group, members=members, facilitator=facilitator)


def active_peers(pair: Pair, people: Mapping[str, Person]) -> tuple[str, ...]:
    """The pair's peers still on the roster."""
    return tuple(e for e in pair.peers if not has_left(e, people))


@dataclass(frozen=True)
class Unplaced:
    """Someone the allocation or pairing could not place, and why."""

    email: str
    reason: str


@dataclass(frozen=True)
class Allocation:
    """The outcome of allocating groups."""

    groups: tuple[Group, ...]
    unplaced: tuple[Unplaced, ...]
    # Weekday -> how many more facilitators that weekday needs (only weekdays short of some).
    facilitators_needed: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    """Two (or, for an odd person, three) mutual peers."""

    peers: tuple[str, ...]
    # The probation members of this pair: they receive a peer but are nobody's peer.
    receives_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairRound:
    """One pairing round. Rounds are numbered from 1 across the deployment, not per programme, so a
    round number (on a card, in a peer record or a message key) names exactly one round."""

    number: int
    started_on: date
    pairs: tuple[Pair, ...]
    unpaired: tuple[Unplaced, ...] = ()
    # The programme whose members the round pairs; v1 rounds belong to the one programme of v1.
    programme: str = LEGACY_PROGRAMME


@dataclass(frozen=True)
class Session:
    """One meeting of a group, with aware start and end datetimes."""

    group_id: str
    start: datetime
    end: datetime
    # The session's *period*, the key of everything about it (answers, registers, meetings, jobs):
    # None for a monthly programme's session, whose period is the programme month of its start
    # ("2027-03", as v1 keyed it); an every-N-weeks session's programme-weekday date ("2027-03-11")
    # before a fallback day or closure moved it (`programme.sessions`).
    period: str | None = None
