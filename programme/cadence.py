"""When a programme's sessions happen: monthly on the Nth weekday, or every N weeks from an anchor.

Both cadences first find each session's *main date* (on the programme weekday), then place a
group meeting on a fallback weekday in the same Monday-to-Sunday week, and move a session that
falls on a closure a week on, exactly as `programme.calendar` does for v1. An every-N-weeks
session that a closure would move onto or past the next session's date is dropped instead, so
a weekly programme never meets twice in one week.

Times are local wall-clock times in the programme zone: a 10:00 session is at 10:00 local time on
both sides of a DST change, so every-N-weeks sessions are N weeks apart in local time, not in
elapsed hours. End times are start plus the duration in elapsed time (added in UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from programme.calendar import main_session_date, month_sequence
from programme.model import Group
from programme.programmes import CadenceKind, ProgrammeDefinition
from programme.settings import ProgrammeSettings


@dataclass(frozen=True)
class ProgrammeSession:
    """One session of one group of one programme, with aware local start and end datetimes."""

    programme_id: str
    group_id: str
    start: datetime
    end: datetime
    # The programme-weekday date this session is for (before a fallback day or closure moved it):
    # an every-N-weeks session's period is this date. Not part of equality: where it meets is.
    main: date | None = field(default=None, compare=False)

    def overlaps(self, other: ProgrammeSession) -> bool:
        """Half-open intervals: a session ending at 11:00 does not clash with one starting at 11:00."""
        return self.start < other.end and other.start < self.end


def main_dates(definition: ProgrammeDefinition, first: date, last: date) -> list[date]:
    """The programme weekday's session dates (before fallbacks and closures) from `first` to `last`."""
    settings = definition.settings
    cadence = definition.cadence
    if cadence.kind is CadenceKind.MONTHLY:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        monthly = (main_session_date(y, m, settings) for y, m in month_sequence(first, max(months, 0)))
        return [d for d in monthly if first <= d <= last]
    assert cadence.anchor is not None and cadence.every_weeks is not None  # parsing guarantees both
    step = timedelta(weeks=cadence.every_weeks)
    # The first occurrence on or after `first` (never before the anchor).
    skipped = max(0, -(-(first - cadence.anchor).days // step.days))
    day = cadence.anchor + skipped * step
    dates: list[date] = []
    while day <= last:
        dates.append(day)
        day += step
    return dates


def on_weekday(main: date, weekday: int, settings: ProgrammeSettings) -> date:
    """A group's date for a main date: the same week's `weekday`, moved a week on past closures."""
    day = main + timedelta(days=weekday - main.weekday())
    while day in settings.closures:
        day += timedelta(days=7)
    return day


def session_on(
    definition: ProgrammeDefinition, group_id: str, day: date, main: date | None = None
) -> ProgrammeSession:
    """The session of a group on a date (for the main date `main`), at the programme's local time."""
    settings = definition.settings
    # zoneinfo resolves the offset for that date, so the wall-clock time holds across DST.
    start = datetime.combine(day, settings.session_time, tzinfo=settings.zone)
    end = (start.astimezone(UTC) + timedelta(minutes=settings.duration_minutes)).astimezone(settings.zone)
    return ProgrammeSession(definition.id, group_id, start, end, main)


def group_occurrences(
    definition: ProgrammeDefinition, weekday: int, first: date, last: date
) -> list[tuple[date, date]]:
    """(main date, the group's date) for a group meeting on `weekday`, main dates `first` to `last`."""
    settings = definition.settings
    mains = main_dates(definition, first, last)
    every_n_weeks = definition.cadence.kind is CadenceKind.EVERY_N_WEEKS
    pairs: list[tuple[date, date]] = []
    for index, main in enumerate(mains):
        day = on_weekday(main, weekday, settings)
        if every_n_weeks:
            step = timedelta(weeks=definition.cadence.every_weeks or 1)
            following = mains[index + 1] if index + 1 < len(mains) else main + step
            if day >= following + timedelta(days=weekday - following.weekday()):
                continue  # a closure pushed it into the next session's week
        pairs.append((main, day))
    return pairs


def group_dates(definition: ProgrammeDefinition, weekday: int, first: date, last: date) -> list[date]:
    """The dates a group meeting on `weekday` meets, for main dates from `first` to `last`."""
    return [day for _, day in group_occurrences(definition, weekday, first, last)]


def group_sessions(
    definition: ProgrammeDefinition, group: Group, first: date, last: date
) -> list[ProgrammeSession]:
    """A group's sessions for main dates from `first` to `last`, in time order."""
    return [
        session_on(definition, group.id, day, main)
        for main, day in group_occurrences(definition, group.weekday, first, last)
    ]


def programme_schedule(
    definition: ProgrammeDefinition, groups: Iterable[Group], first: date, last: date
) -> list[ProgrammeSession]:
    """Every group's sessions in the range, in time order (then group id)."""
    sessions = [s for group in groups for s in group_sessions(definition, group, first, last)]
    return sorted(sessions, key=lambda s: (s.start, s.group_id))
