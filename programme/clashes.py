"""Nobody has two sessions at once: detecting clashes across programmes, and moving sessions to avoid them.

A person can be in several programmes (monthly role groups and a fortnightly gathering, say), and
a facilitator can lead in several. Two sessions clash when their times overlap (half-open: one
ending at 11:00 and one starting at 11:00 do not clash).

The rule: programmes are scheduled in the order the settings file defines them, and an earlier
programme keeps its times. For each session of a later programme's group, the group meets on its
own weekday if none of its people (members and facilitator) is booked at that time; otherwise on
the first of its programme's other session weekdays (main day, then fallbacks, in order) in the
same week where nobody is booked and, when the roster says so, everyone works that day. A group
moves as a whole, for that one session only. When no weekday is free, the session keeps its day and
the clashes are reported so a coordinator can act (they are never silently dropped).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from programme.cadence import ProgrammeSession, group_occurrences, on_weekday, session_on
from programme.model import Group, Person
from programme.programmes import ProgrammeDefinition


@dataclass(frozen=True)
class Clash:
    """Two of one person's sessions that overlap; `first` starts no later than `second`."""

    email: str
    first: ProgrammeSession
    second: ProgrammeSession


@dataclass(frozen=True)
class Moved:
    """A session moved off its group's weekday to avoid a clash."""

    programme_id: str
    group_id: str
    planned: date
    moved_to: date


@dataclass(frozen=True)
class ClashFreeSchedule:
    """Every session of every programme, the sessions moved, and clashes no weekday could avoid."""

    sessions: tuple[ProgrammeSession, ...]
    moved: tuple[Moved, ...]
    unresolved: tuple[Clash, ...]


def person_clashes(email: str, sessions: Iterable[ProgrammeSession]) -> list[Clash]:
    """Every overlapping pair among one person's sessions, in start order."""
    ordered = sorted(sessions, key=lambda s: (s.start, s.end, s.programme_id, s.group_id))
    clashes: list[Clash] = []
    running: list[ProgrammeSession] = []
    for session in ordered:
        running = [r for r in running if r.end > session.start]
        clashes.extend(Clash(email, earlier, session) for earlier in running)
        running.append(session)
    return clashes


def people_of(group: Group) -> tuple[str, ...]:
    """Everyone who is at a group's session: its members and its facilitator."""
    return group.members if group.facilitator is None else (*group.members, group.facilitator)


def schedule_programmes(
    programmes: Sequence[ProgrammeDefinition],
    groups: Mapping[str, Sequence[Group]],
    first: date,
    last: date,
    people: Mapping[str, Person] | None = None,
) -> ClashFreeSchedule:
    """All programmes' sessions for main dates from `first` to `last`, moved as the module says.

    `groups` maps a programme id to its groups; `people` (the roster by email) lets a move
    avoid a weekday a member does not work.
    """
    roster = people or {}
    booked: dict[str, list[ProgrammeSession]] = defaultdict(list)
    sessions: list[ProgrammeSession] = []
    moved: list[Moved] = []
    unresolved: list[Clash] = []
    for definition in programmes:
        settings = definition.settings
        for group in sorted(groups.get(definition.id, ()), key=lambda g: g.id):
            attendees = people_of(group)
            others = [d for d in settings.session_weekdays if d != group.weekday]
            usable = [d for d in others if all(_works(roster, e, d) for e in attendees)]
            for main, planned in group_occurrences(definition, group.weekday, first, last):
                session = session_on(definition, group.id, planned, main)
                if _busy(session, attendees, booked):
                    for weekday in usable:
                        candidate = session_on(
                            definition, group.id, on_weekday(main, weekday, settings), main
                        )
                        if not _busy(candidate, attendees, booked):
                            moved.append(Moved(definition.id, group.id, planned, candidate.start.date()))
                            session = candidate
                            break
                    else:
                        unresolved.extend(
                            Clash(email, earlier, session)
                            for email in attendees
                            for earlier in booked[email]
                            if earlier.overlaps(session)
                        )
                for email in attendees:
                    booked[email].append(session)
                sessions.append(session)
    sessions.sort(key=lambda s: (s.start, s.programme_id, s.group_id))
    return ClashFreeSchedule(tuple(sessions), tuple(moved), tuple(unresolved))


def _busy(
    session: ProgrammeSession, attendees: Iterable[str], booked: Mapping[str, list[ProgrammeSession]]
) -> bool:
    return any(other.overlaps(session) for email in attendees for other in booked.get(email, ()))


def _works(roster: Mapping[str, Person], email: str, weekday: int) -> bool:
    person = roster.get(email)
    return person is None or person.works(weekday)
