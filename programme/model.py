"""Domain records of a reflection programme: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """One pairing round; rounds are numbered from 1."""

    number: int
    started_on: date
    pairs: tuple[Pair, ...]
    unpaired: tuple[Unplaced, ...] = ()


@dataclass(frozen=True)
class Session:
    """One monthly meeting of a group, with aware start and end datetimes."""

    group_id: str
    start: datetime
    end: datetime
