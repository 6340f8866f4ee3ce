"""What the session capabilities share: people and groups looked up, sessions as a reader sees them,
the session a facilitator command is about, and session periods.

A session's records are keyed by its period (`programme.sessions`: "2027-03" for a monthly
programme, the session's date "2027-03-11" for an every-N-weeks one); what walks the calendar by
month asks for a month's sessions, of which a group may have several.

Nothing here writes, except that a session's timekeeper of a rotating group is remembered once
decided (service/timekeeping.py); each capability (introductions, RSVPs, the register, check-outs,
escalations, meeting links) owns its own records and builds on these lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from programme.calendar import month_sequence
from programme.errors import NotFoundError
from programme.model import Group, Person, Session
from programme.policies import Actor, Permission, led_groups, require
from programme.programmes import ProgrammeDefinition
from programme.sessions import (
    SessionPlanner,
    attendance_open,
    month_key,
    month_of_period,
    next_month,
    previous_month,
    programme_next_session,
    programme_session_of_period,
    programme_sessions_in_month,
    session_period,
    valid_period,
)
from programme.settings import ProgrammeSettings
from service.programme_service import ProgrammeService
from service.timekeeping import Timekeeping
from service.views import SessionInfo
from store import Store

Clock = Callable[[], datetime]


def when_text(session: Session, zone: ZoneInfo) -> str:
    """ "Thursday 12 November 2026, 10:00-11:30 GMT" in the reader's zone."""
    start, end = session.start.astimezone(zone), session.end.astimezone(zone)
    return f"{start:%A} {start.day} {start:%B %Y, %H:%M}-{end:%H:%M %Z}"


def when_text_date(moment: datetime, zone: ZoneInfo) -> str:
    """ "Thursday 19 November 2026, 11:30 GMT" in the reader's zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M %Z}"


def recent_months(now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """This programme month and the one before, e.g. ("2026-11", "2026-10")."""
    this_month = month_key(now.astimezone(zone).date())
    return this_month, previous_month(this_month)


@dataclass(frozen=True)
class Sessions:
    """Read-only lookups of the programme month, shared by its capabilities."""

    programme: ProgrammeService
    clock: Clock
    timekeeping: Timekeeping = field(init=False, repr=False)
    # Month -> (the groups and roster it was planned from, the plan): planned again when either changes.
    _plans: dict[str, tuple[object, object, Mapping[str, tuple[Session, ...]]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "timekeeping", Timekeeping(self.programme))

    @property
    def store(self) -> Store:
        return self.programme.store

    def definition(self, group: Group) -> ProgrammeDefinition:
        """The programme a group belongs to."""
        return self.programme.programme_of(group)

    def planner(self) -> SessionPlanner:
        """The deployment's programmes over the roster, to place sessions without clashes."""
        return SessionPlanner(self.programme.programmes, self.programme.people())

    def _several(self) -> bool:
        return sum(1 for p in self.programme.programmes if p.has_groups) > 1

    def month_sessions(self, month: str) -> Mapping[str, tuple[Session, ...]]:
        """Every current group's sessions whose period falls in a programme month, in time order
        (groups with none that month left out)."""
        groups, people = self.programme.groups(), self.programme.people()
        cached = self._plans.get(month)
        if cached is not None and cached[0] is groups and cached[1] is people:
            return cached[2]
        plan = SessionPlanner(self.programme.programmes, people).month_sessions(groups, month)
        if len(self._plans) > 24:
            self._plans.clear()
        self._plans[month] = (groups, people, plan)
        return plan

    def sessions_in_month(self, group: Group, month: str) -> tuple[Session, ...]:
        """The group's sessions whose period falls in a programme month (none, one, or several for a
        group meeting every few weeks). With several programmes' groups, the clash-free plan decides."""
        if self._several() and self.programme.group(group.id) is not None:
            return self.month_sessions(month).get(group.id, ())
        return programme_sessions_in_month(group, month, self.definition(group))

    def session_of_period(self, group: Group, period: str) -> Session | None:
        """The group's session of a period; None when the period is not one of its sessions (malformed,
        off its cadence, or a forged card's)."""
        definition = self.definition(group)
        if not valid_period(period, definition):
            return None
        if self._several() and self.programme.group(group.id) is not None:
            found = self.month_sessions(month_of_period(period)).get(group.id, ())
            return next((s for s in found if self.period_of(s) == period), None)
        return programme_session_of_period(group, period, definition)

    def require_session(self, group: Group, period: str) -> Session:
        """The group's session of a period, or NotFoundError when it has none."""
        session = self.session_of_period(group, period)
        if session is None:
            raise NotFoundError(f"{group.name} has no session for {period}.")
        return session

    def next_session(self, group: Group, now: datetime) -> Session:
        """The group's first session that has not ended at `now`."""
        upcoming = programme_next_session(group, now, self.definition(group))
        if not self._several():
            return upcoming
        month = month_of_period(self.period_of(upcoming))
        # A month before too: a clash can move a session earlier in its week.
        month = previous_month(month)
        for _ in range(5):
            for session in self.sessions_in_month(group, month):
                if session.end > now:
                    return session
            month = next_month(month)
        return upcoming

    def schedule(self, first: date, months: int, programme_id: str | None = None) -> list[Session]:
        """Sessions of the current groups (of one programme, or all) whose periods fall in `months`
        months from the month of `first`, in time order; with several programmes, as the clash-free
        plan places them."""
        groups = [g for g in self.programme.groups() if programme_id in (None, g.programme)]
        sessions: list[Session] = []
        for year, number in month_sequence(first, months):
            month = f"{year:04d}-{number:02d}"
            for group in groups:
                sessions.extend(self.sessions_in_month(group, month))
        return sorted(sessions, key=lambda s: (s.start, s.group_id))

    def rsvp_periods(self, group: Group, now: datetime) -> tuple[str, str]:
        """The periods whose session an RSVP card can be about: the group's next session's, and the one
        after it (a card sent early)."""
        upcoming = self.next_session(group, now)
        return self.period_of(upcoming), self.period_of(self.next_session(group, upcoming.end))

    def recent_sessions(self, group: Group, now: datetime) -> list[Session]:
        """The group's sessions of this programme month and the one before that have started by
        `now`, latest first: those a check-out or register can still be about."""
        found = [
            session
            for month in recent_months(now, self.definition(group).settings.zone)
            for session in self.sessions_in_month(group, month)
            if session.start <= now
        ]
        return sorted(found, key=lambda s: s.start, reverse=True)

    @property
    def settings(self) -> ProgrammeSettings:
        return self.programme.settings

    def people(self) -> Mapping[str, Person]:
        """Everyone on the roster, by email."""
        return self.programme.people()

    @staticmethod
    def name(people: Mapping[str, Person], email: str) -> str:
        """A person's display name (their email if they are not on the roster)."""
        person = people.get(email)
        return person.name if person else email

    def group(self, group_id: str) -> Group:
        """The current group, or NotFoundError."""
        group = self.programme.group(group_id)
        if group is not None:
            return group
        raise NotFoundError("That group no longer exists; ask your coordinator.")

    def zone(self, person: Person | None) -> ZoneInfo:
        """The reader's time zone (the programme's when they have none)."""
        if person is not None and person.timezone:
            return ZoneInfo(person.timezone)
        return self.settings.zone

    def period_of(self, session: Session) -> str:
        """The period a session is keyed by (`programme.sessions.session_period`)."""
        if session.period is not None:
            return session.period
        programmes = self.programme.programmes
        zone = programmes[0].settings.zone
        if len(programmes) > 1:  # each programme may keep its own time zone
            group = self.programme.group(session.group_id)
            zone = self.definition(group).settings.zone if group is not None else self.settings.zone
        return session_period(session, zone)

    def place(self, group: Group) -> str:
        """Where the group meets in person; empty when it meets online in Teams."""
        return self.definition(group).venue.place or ""

    def session_info(self, group: Group, session: Session, reader: Person | None) -> SessionInfo:
        """A session as the reader sees it, with the Teams link once the meeting exists."""
        period = self.period_of(session)
        meeting = self.programme.meetings_repo.get(group.id, period)
        place = self.place(group)
        keeper = self.timekeeping.keeper(group, period)
        return SessionInfo(
            group_id=group.id,
            group_name=group.name,
            month=period,
            # The reader's zone, else the programme's (not the shared settings'): its sessions' own.
            when=when_text(
                session,
                ZoneInfo(reader.timezone)
                if reader and reader.timezone
                else self.definition(group).settings.zone,
            ),
            place=place,
            # An in-person session has no Teams meeting (a link kept from an online past is stale).
            teams_link=None if place or meeting is None else meeting.join_url,
            timekeeper=self.name(self.people(), keeper) if keeper else "",
        )

    def led_session(
        self,
        actor: Actor,
        group_id: str | None,
        *,
        started: bool,
        permission: Permission = Permission.LEADER,
        not_open: str = "No session is open for a register now: it opens when the session starts.",
    ) -> tuple[Group, Session]:
        """The group (named, or one the actor runs) and session a facilitator command is about."""
        now = self.clock()
        if group_id:
            group = self.group(group_id)
            require(permission, actor, group)
            candidates = [group]
        else:
            candidates = list(led_groups(actor))
            if not candidates:
                require(permission, actor)
                # Allowed without running a session: a coordinator overseeing, who must name the group.
                raise NotFoundError(
                    "Say which group, by its id (as `reflect groups show` lists them): coming GROUP-ID."
                )
        options: list[tuple[Group, Session]] = []
        for group in candidates:
            if started:
                # The register is for the latest session that has started and can still be corrected.
                options.extend(
                    (group, session)
                    for session in self.recent_sessions(group, now)
                    if attendance_open(session, now)
                )
            else:
                options.append((group, self.next_session(group, now)))
        if not options:
            raise NotFoundError(not_open)
        if started:
            return max(options, key=lambda pair: pair[1].start)
        return min(options, key=lambda pair: pair[1].start)
