"""Which sessions a group has, which is current, and which answers are still open at a moment.

Each group meets on its programme's cadence (`programme.cadence`): monthly on the Nth weekday as
in v1, or every N weeks (1 to 12) from an anchor. Everything about a session (RSVP answers,
registers, check-outs, introductions, meetings, timekeepers, themes, the clock's job keys, the
`month` field of its cards) is keyed by its *period* (`Session.period`):

* a monthly programme's session: the programme month, "2027-03", exactly as v1 keyed it;
* an every-N-weeks session: its date on the programme weekday ("2027-03-11", the main date before a
  fallback day or closure moves it), so a month may hold several sessions of one group. (Until
  every-N-weeks met at most monthly these were keyed by month; that never shipped in a release,
  so there is no data to migrate.)

Whatever walks the calendar by month (the clock, reports, the schedule) asks for the sessions *of
a month*; `month_of_period` is the one place that maps a period to its month.

`SessionPlanner` gives every group's sessions of a month across the deployment's programmes. With
groups of several programmes it schedules them with `programme.clashes.schedule_programmes`, so
nobody is booked twice at once (a later programme's group moves to a fallback day for that
session); with one programme's groups it is exactly the v1 calendar.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from programme.answers import RsvpAnswer
from programme.cadence import group_occurrences, session_on
from programme.calendar import session_for
from programme.clashes import schedule_programmes
from programme.errors import NotFoundError
from programme.model import Group, Person, Session
from programme.programmes import CadenceKind, ProgrammeDefinition
from programme.settings import ProgrammeSettings

ATTENDANCE_CORRECTION_DAYS = 7
_MONTH_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_DATE_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


def month_key(day: date) -> str:
    """The programme month of a date, "2026-11"."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(month: str) -> tuple[int, int]:
    """(year, month) of a "2026-11" month key."""
    year, number = month.split("-")
    return int(year), int(number)


def month_of_period(period: str) -> str:
    """The programme month a session period falls in: "2027-03" for "2027-03" and for "2027-03-11"."""
    return period[:7]


def period_date(period: str) -> date | None:
    """The date of an every-N-weeks period ("2027-03-11"); None for a month or anything malformed."""
    if not _DATE_PERIOD.fullmatch(period):
        return None
    try:
        return date.fromisoformat(period)
    except ValueError:  # "2027-02-30"
        return None


def session_period(session: Session, zone: ZoneInfo) -> str:
    """A session's period: its own (every N weeks), else the programme month of its start in `zone`."""
    if session.period is not None:
        return session.period
    return month_key(session.start.astimezone(zone).date())


def session_in_month(group: Group, month: str, settings: ProgrammeSettings) -> Session:
    """The group's session in a programme month."""
    year, number = parse_month(month)
    return session_for(group, year, number, settings)


def next_session(group: Group, now: datetime, settings: ProgrammeSettings) -> Session:
    """This month's session if it has not ended yet, else next month's."""
    today = now.astimezone(settings.zone).date()
    session = session_for(group, today.year, today.month, settings)
    if session.end > now:
        return session
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return session_for(group, year, month, settings)


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a programme month."""
    year, number = parse_month(month)
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date(year, number, 1), following - timedelta(days=1)


def next_month(month: str) -> str:
    """The programme month after `month`."""
    year, number = parse_month(month)
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"


def previous_month(month: str) -> str:
    """The programme month before `month`, "2026-10" for "2026-11"."""
    year, number = parse_month(month)
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def programme_sessions_in_month(
    group: Group, month: str, definition: ProgrammeDefinition
) -> tuple[Session, ...]:
    """The group's sessions whose period falls in a programme month, in time order (monthly: one;
    every N weeks: none, one or several)."""
    if definition.cadence.kind is CadenceKind.MONTHLY:
        return (session_in_month(group, month, definition.settings),)
    first, last = month_bounds(month)
    sessions = []
    for main, day in group_occurrences(definition, group.weekday, first, last):
        timed = session_on(definition, group.id, day)
        sessions.append(Session(group.id, timed.start, timed.end, main.isoformat()))
    return tuple(sessions)


def valid_period(period: str, definition: ProgrammeDefinition) -> bool:
    """Whether `period` has the shape of its programme's periods (a month, or a date)."""
    if definition.cadence.kind is CadenceKind.MONTHLY:
        return _MONTH_PERIOD.fullmatch(period) is not None
    return period_date(period) is not None


def programme_session_of_period(group: Group, period: str, definition: ProgrammeDefinition) -> Session | None:
    """The group's session of a period on its programme's cadence; None for a period that is not one of
    its sessions (malformed, off the cadence, or dropped for a closure)."""
    if not valid_period(period, definition):
        return None
    if definition.cadence.kind is CadenceKind.MONTHLY:
        return session_in_month(group, period, definition.settings)
    main = period_date(period)
    assert main is not None  # valid_period checked it
    for occurrence, day in group_occurrences(definition, group.weekday, main, main):
        if occurrence == main:
            timed = session_on(definition, group.id, day)
            return Session(group.id, timed.start, timed.end, period)
    return None


def programme_next_session(group: Group, now: datetime, definition: ProgrammeDefinition) -> Session:
    """The group's first session on its programme's cadence that has not ended at `now`."""
    if definition.cadence.kind is CadenceKind.MONTHLY:
        return next_session(group, now, definition.settings)
    month = month_key(now.astimezone(definition.settings.zone).date())
    # A month before, for a session whose closure pushed it into this month; at most 12 weeks apart,
    # and none before the anchor (a programme that has not begun yet).
    month = month_key(month_bounds(month)[0] - timedelta(days=1))
    if definition.cadence.anchor is not None:
        month = max(month, month_key(definition.cadence.anchor))
    for _ in range(6):
        for session in programme_sessions_in_month(group, month, definition):
            if session.end > now:
                return session
        month = next_month(month)
    raise NotFoundError(f"group {group.id} has no session ahead")  # only with closures on every date


@dataclass(frozen=True)
class SessionPlanner:
    """Every group's sessions of a programme month, on each programme's cadence and without clashes."""

    programmes: tuple[ProgrammeDefinition, ...]
    # The roster by email: a clash move avoids a weekday a member does not work.
    people: Mapping[str, Person] = field(default_factory=dict)

    def definition(self, group: Group) -> ProgrammeDefinition:
        """The programme of a group (NotFoundError when the settings no longer define it)."""
        for definition in self.programmes:
            if definition.id == group.programme:
                return definition
        raise NotFoundError(
            f"group {group.id} belongs to programme {group.programme!r}, which the settings no longer define"
        )

    def settings_of(self, group: Group) -> ProgrammeSettings:
        """The settings a group's sessions run on."""
        return self.definition(group).settings

    def month_sessions(self, groups: Sequence[Group], month: str) -> dict[str, tuple[Session, ...]]:
        """Group id -> its sessions whose period falls in `month`, in time order (groups that do not
        meet that month left out)."""
        known = [g for g in groups if any(p.id == g.programme for p in self.programmes)]
        if len({g.programme for g in known}) <= 1:
            sessions = {g.id: programme_sessions_in_month(g, month, self.definition(g)) for g in known}
            return {group_id: found for group_id, found in sessions.items() if found}
        by_programme: dict[str, list[Group]] = {}
        for group in known:
            by_programme.setdefault(group.programme, []).append(group)
        first, last = month_bounds(month)
        planned = schedule_programmes(self.programmes, by_programme, first, last, self.people)
        every_n_weeks = {p.id for p in self.programmes if p.cadence.kind is CadenceKind.EVERY_N_WEEKS}
        plan: dict[str, list[Session]] = {}
        for s in planned.sessions:  # in time order
            period = s.main.isoformat() if s.programme_id in every_n_weeks and s.main is not None else None
            plan.setdefault(s.group_id, []).append(Session(s.group_id, s.start, s.end, period))
        return {group_id: tuple(found) for group_id, found in plan.items()}


def rsvp_open(session: Session, now: datetime) -> bool:
    """An RSVP can be given or changed until the session starts."""
    return now < session.start


def attendance_open(session: Session, now: datetime) -> bool:
    """The register can be taken from the start and corrected for 7 days after the end."""
    return session.start <= now <= session.end + timedelta(days=ATTENDANCE_CORRECTION_DAYS)


def attendance_deadline(session: Session) -> datetime:
    """The last moment the register can be corrected."""
    return session.end + timedelta(days=ATTENDANCE_CORRECTION_DAYS)


def session_leader(group: Group, period: str, every_weeks: int | None = None) -> str | None:
    """Who runs a session: the facilitator, or in a rotating group the member whose turn it is.

    Turns go by month for a monthly period ("2027-03"), and by session for an every-N-weeks one
    (`every_weeks` apart): consecutive sessions have consecutive turns either way.
    """
    if group.facilitator is not None:
        return group.facilitator
    if not group.members:
        return None
    day = period_date(period)
    if day is not None:
        turn = (day.toordinal() // 7) // (every_weeks or 1)
        return group.members[turn % len(group.members)]
    year, number = parse_month(period)
    return group.members[(year * 12 + number) % len(group.members)]


def checkout_recipients(
    members: Sequence[str], present: Sequence[str] | None, rsvps: Mapping[str, str]
) -> list[str]:
    """Who is prompted for a session's check-out: those on the register, else those who RSVP'd attending.

    The check-out is for people who were there. Before a register exists the only evidence is the
    RSVP, so "maybe" and no answer are not prompted; taking the register later prompts everyone
    ticked present who has not had it yet. Only `members` (the group's members who have not left)
    are prompted, whatever the register says: a leaver ticked present gets nothing.
    """
    if present is not None:
        current = set(members)
        return [email for email in present if email in current]
    return [email for email in members if rsvps.get(email) == RsvpAnswer.ATTENDING.value]
