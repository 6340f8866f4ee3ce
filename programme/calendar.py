"""When sessions happen: monthly dates on the configured week and weekday, in local time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from programme.model import Group, Session
from programme.settings import ProgrammeSettings


def month_sequence(first: date, months: int) -> Iterator[tuple[int, int]]:
    """(year, month) for `months` months starting with the month of `first`."""
    year, month = first.year, first.month
    for _ in range(months):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def main_session_date(year: int, month: int, settings: ProgrammeSettings) -> date:
    """The Nth occurrence of the programme weekday in the month (before closures move it)."""
    first = date(year, month, 1)
    offset = (settings.weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (settings.week_of_month - 1))


def session_date(year: int, month: int, weekday: int, settings: ProgrammeSettings) -> date:
    """The month's session date for a group meeting on `weekday`.

    Fallback-day groups meet in the same Monday-to-Sunday week as the main day, so a month's
    sessions stay together; a closure moves a session to the next same weekday that is open.
    """
    main = main_session_date(year, month, settings)
    day = main + timedelta(days=weekday - main.weekday())
    while day in settings.closures:
        day += timedelta(days=7)
    return day


def session_for(group: Group, year: int, month: int, settings: ProgrammeSettings) -> Session:
    """The group's session in that month, with aware local start and end times."""
    day = session_date(year, month, group.weekday, settings)
    # zoneinfo resolves the UTC offset for that date, so 10:00 stays 10:00 across DST changes.
    start = datetime.combine(day, settings.session_time, tzinfo=settings.zone)
    # Elapsed time is added in UTC: aware arithmetic in one zone is wall-clock and would
    # misplace the end of a session that spans a DST change.
    end = (start.astimezone(UTC) + timedelta(minutes=settings.duration_minutes)).astimezone(settings.zone)
    return Session(group.id, start, end)


def schedule(groups: Iterable[Group], first: date, months: int, settings: ProgrammeSettings) -> list[Session]:
    """Every group's sessions for `months` months from the month of `first`, in time order."""
    groups = list(groups)
    sessions = [
        session_for(group, year, month, settings)
        for year, month in month_sequence(first, months)
        for group in groups
    ]
    return sorted(sessions, key=lambda s: (s.start, s.group_id))
