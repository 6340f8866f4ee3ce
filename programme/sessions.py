"""Which session is current for a group, and which answers are still open at a moment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from programme.answers import RsvpAnswer
from programme.calendar import session_for
from programme.model import Group, Session
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
