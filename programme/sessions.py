"""Which session is current for a group, and which answers are still open at a moment.

Each group meets on its programme's cadence (`programme.cadence`): monthly on the Nth weekday as
in v1, or every N weeks from an anchor. Answers, registers, check-outs, meetings and jobs are kept
per *programme month* ("2027-03"), so a programme meets at most once per calendar month
(`every_weeks >= 5`, which the settings enforce): an every-N-weeks session belongs to the month of
its programme-weekday date (`Session.month`), and a month without one has no session at all.

`SessionPlanner` gives every group's session of a month across the deployment's programmes. With
groups of several programmes it schedules them with `programme.clashes.schedule_programmes`, so
nobody is booked twice at once (a later programme's group moves to a fallback day for that
session); with one programme's groups it is exactly the v1 calendar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from programme.answers import RsvpAnswer
from programme.cadence import group_occurrences, session_on
from programme.calendar import session_for
from programme.clashes import schedule_programmes
from programme.errors import NotFoundError
from programme.model import Group, Person, Session
from programme.programmes import CadenceKind, ProgrammeDefinition
from programme.settings import ProgrammeSettings

ATTENDANCE_CORRECTION_DAYS = 7


def month_key(day: date) -> str:
    """The programme month of a date, "2026-11"."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(month: str) -> tuple[int, int]:
    """(year, month) of a "2026-11" month key."""
    year, number = month.split("-")
    return int(year), int(number)


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


def programme_session_in_month(group: Group, month: str, definition: ProgrammeDefinition) -> Session | None:
    """The group's session in a programme month on its programme's cadence (None: no session that month)."""
    if definition.cadence.kind is CadenceKind.MONTHLY:
        return session_in_month(group, month, definition.settings)
    first, last = month_bounds(month)
    for _, day in group_occurrences(definition, group.weekday, first, last):
        timed = session_on(definition, group.id, day)
        return Session(group.id, timed.start, timed.end, month)
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
        session = programme_session_in_month(group, month, definition)
        if session is not None and session.end > now:
            return session
        month = next_month(month)
    raise NotFoundError(f"group {group.id} has no session ahead")  # only with closures on every date


@dataclass(frozen=True)
class SessionPlanner:
    """Every group's session of a programme month, on each programme's cadence and without clashes."""

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

    def month_sessions(self, groups: Sequence[Group], month: str) -> dict[str, Session]:
        """Group id -> its session of `month`, for the groups that meet that month."""
        known = [g for g in groups if any(p.id == g.programme for p in self.programmes)]
        if len({g.programme for g in known}) <= 1:
            sessions = {g.id: programme_session_in_month(g, month, self.definition(g)) for g in known}
            return {group_id: s for group_id, s in sessions.items() if s is not None}
        by_programme: dict[str, list[Group]] = {}
        for group in known:
            by_programme.setdefault(group.programme, []).append(group)
        first, last = month_bounds(month)
        planned = schedule_programmes(self.programmes, by_programme, first, last, self.people)
        every_n_weeks = {p.id for p in self.programmes if p.cadence.kind is CadenceKind.EVERY_N_WEEKS}
        return {
            s.group_id: Session(
                s.group_id, s.start, s.end, month if s.programme_id in every_n_weeks else None
            )
            for s in planned.sessions
        }


def rsvp_open(session: Session, now: datetime) -> bool:
    """An RSVP can be given or changed until the session starts."""
    return now < session.start


def attendance_open(session: Session, now: datetime) -> bool:
    """The register can be taken from the start and corrected for 7 days after the end."""
    return session.start <= now <= session.end + timedelta(days=ATTENDANCE_CORRECTION_DAYS)


def attendance_deadline(session: Session) -> datetime:
    """The last moment the register can be corrected."""
    return session.end + timedelta(days=ATTENDANCE_CORRECTION_DAYS)


def session_leader(group: Group, month: str) -> str | None:
    """Who runs a session: the facilitator, or in a rotating group the member whose turn it is."""
    if group.facilitator is not None:
        return group.facilitator
    if not group.members:
        return None
    year, number = parse_month(month)
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
