"""What the month's capabilities share: people and groups looked up, sessions as a reader sees them,
the session a facilitator command is about, and month keys.

Nothing here writes; each capability (introductions, RSVPs, the register, check-outs, escalations,
meeting links) owns its own records and builds on these lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from programme.errors import NotFoundError
from programme.model import Group, Person, Session
from programme.policies import Actor, Permission, led_groups, require
from programme.sessions import attendance_open, month_key, next_session, parse_month, session_in_month
from programme.settings import ProgrammeSettings
from service.programme_service import ProgrammeService
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


def rsvp_months(group: Group, now: datetime, settings: ProgrammeSettings) -> tuple[str, str]:
    """The months whose session an RSVP card can be about: the group's next session's, and the next."""
    upcoming = next_session(group, now, settings)
    year, month = parse_month(month_key(upcoming.start.astimezone(settings.zone).date()))
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}", f"{following[0]:04d}-{following[1]:02d}"


def recent_months(now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """This programme month and the one before, e.g. ("2026-11", "2026-10")."""
    day = now.astimezone(zone).date()
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return month_key(day), f"{year:04d}-{month:02d}"


def previous_month(session: Session) -> str:
    """The month before the session's, "2026-10" for a November session."""
    day = session.start.date()
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class Sessions:
    """Read-only lookups of the programme month, shared by its capabilities."""

    programme: ProgrammeService
    clock: Clock

    @property
    def store(self) -> Store:
        return self.programme.store

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

    def month_of(self, session: Session) -> str:
        """The programme month a session belongs to."""
        return month_key(session.start.astimezone(self.settings.zone).date())

    def this_month(self) -> str:
        """The programme month of now."""
        return month_key(self.clock().astimezone(self.settings.zone).date())

    def session_info(self, group: Group, session: Session, reader: Person | None) -> SessionInfo:
        """A session as the reader sees it, with the Teams link once the meeting exists."""
        month = self.month_of(session)
        meeting = self.programme.meetings_repo.get(group.id, month)
        return SessionInfo(
            group_id=group.id,
            group_name=group.name,
            month=month,
            when=when_text(session, self.zone(reader)),
            teams_link=meeting.join_url if meeting else None,
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
        settings = self.settings
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
            this_month = session_in_month(group, month_key(now.astimezone(settings.zone).date()), settings)
            upcoming = next_session(group, now, settings)
            if started:
                # The register is for the latest session that has started and can still be corrected.
                last_month = session_in_month(group, previous_month(this_month), settings)
                for session in (this_month, last_month):
                    if attendance_open(session, now):
                        options.append((group, session))
            else:
                options.append((group, upcoming))
        if not options:
            raise NotFoundError(not_open)
        if started:
            return max(options, key=lambda pair: pair[1].start)
        return min(options, key=lambda pair: pair[1].start)
