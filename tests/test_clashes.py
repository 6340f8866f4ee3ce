"""Clashes: a person in several programmes never has two sessions at once, or the clash is reported."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programme.cadence import ProgrammeSession, group_occurrences
from programme.clashes import Moved, people_of, person_clashes, schedule_programmes
from programme.formation import form_groups
from programme.model import Group, Person
from programme.programmes import Cadence, CadenceKind, Facilitation, Formation, ProgrammeDefinition
from programme.settings import ProgrammeSettings

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
LONDON = ZoneInfo("Europe/London")
FIRST, LAST = date(2027, 1, 1), date(2027, 12, 31)
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def at(day: date, hour: int, minutes: int = 60, programme: str = "p", group: str = "g") -> ProgrammeSession:
    start = datetime.combine(day, time(hour), tzinfo=LONDON)
    return ProgrammeSession(programme, group, start, start + timedelta(minutes=minutes))


def test_overlap_is_half_open() -> None:
    day = date(2027, 3, 4)
    back_to_back = [at(day, 10), at(day, 11, programme="q")]
    assert person_clashes("a@x.org", back_to_back) == []
    overlapping = [at(day, 10, 90), at(day, 11, programme="q"), at(day, 9, 300, programme="r")]
    clashes = person_clashes("a@x.org", overlapping)
    assert {(c.first.programme_id, c.second.programme_id) for c in clashes} == {
        ("r", "p"),
        ("r", "q"),
        ("p", "q"),
    }


def programme(
    pid: str, weekday: int, fallbacks: tuple[int, ...], cadence: Cadence, hour: int
) -> ProgrammeDefinition:
    return ProgrammeDefinition(
        pid,
        pid,
        formation=Formation.ROLE,
        facilitation=Facilitation.ROTATING,
        cadence=cadence,
        settings=ProgrammeSettings(weekday=weekday, fallback_weekdays=fallbacks, session_time=time(hour)),
    )


@st.composite
def programme_st(draw: st.DrawFn, pid: str, avoid: frozenset[int] = frozenset()) -> ProgrammeDefinition:
    weekday = draw(st.integers(0, 4))
    fallbacks = tuple(draw(st.lists(st.integers(0, 4), max_size=2, unique=True)))
    if avoid:
        # A fallback weekday the other programme never meets on, so every clash can be avoided.
        free = sorted(set(range(5)) - avoid - {weekday})
        fallbacks = (*fallbacks, draw(st.sampled_from(free))) if free else fallbacks
    cadence = Cadence()
    if draw(st.booleans()):
        weeks = draw(st.integers(1, 6))
        anchor = date(2027, 1, 4) + timedelta(days=weekday + 7 * draw(st.integers(0, 5)))
        cadence = Cadence(CadenceKind.EVERY_N_WEEKS, weeks, anchor)
    return programme(pid, weekday, fallbacks, cadence, draw(st.sampled_from((9, 10, 11))))


roles_st = st.lists(st.sampled_from(("Coach", "Advisor", "Leader")), min_size=2, max_size=30)


def roster(roles: list[str]) -> list[Person]:
    return [Person(f"p{i:02d}@x.org", "P", role) for i, role in enumerate(roles)]


def assert_no_unreported_clash(
    result_sessions: tuple[ProgrammeSession, ...],
    groups: dict[str, list[Group]],
    unresolved: set[tuple[str, ProgrammeSession, ProgrammeSession]],
) -> None:
    by_group = {(p, g.id): g for p, gs in groups.items() for g in gs}
    mine: dict[str, list[ProgrammeSession]] = defaultdict(list)
    for session in result_sessions:
        for email in people_of(by_group[(session.programme_id, session.group_id)]):
            mine[email].append(session)
    for email, sessions in mine.items():
        for clash in person_clashes(email, sessions):
            pair = {(clash.email, clash.first, clash.second), (clash.email, clash.second, clash.first)}
            assert pair & unresolved


@PROPERTY
@given(data=st.data(), roles=roles_st)
def test_a_person_in_two_programmes_never_has_two_sessions_at_once(
    data: st.DataObject, roles: list[str]
) -> None:
    first = data.draw(programme_st("first"))
    avoid = frozenset(first.settings.session_weekdays)
    second = data.draw(programme_st("second", avoid))
    people = roster(roles)
    groups = {
        "first": list(form_groups(first, people).groups),
        # Teams of the second programme are formed differently, so members mix across groups.
        "second": list(form_groups(second, [Person(p.email, p.name, p.email[2]) for p in people]).groups),
    }
    result = schedule_programmes([first, second], groups, FIRST, LAST)
    # The second programme had a fallback weekday the first never uses: every clash was avoided.
    assert result.unresolved == ()
    assert_no_unreported_clash(result.sessions, groups, set())
    # The earlier programme keeps its times; only the later one moves, and only to its own weekdays.
    assert all(m.programme_id == "second" for m in result.moved)
    assert all(m.moved_to.weekday() in second.settings.session_weekdays for m in result.moved)
    expected = sum(
        len(group_occurrences(d, g.weekday, FIRST, LAST)) for d in (first, second) for g in groups[d.id]
    )
    assert len(result.sessions) == expected


@PROPERTY
@given(data=st.data(), roles=roles_st)
def test_clashes_that_cannot_be_avoided_are_reported(data: st.DataObject, roles: list[str]) -> None:
    first, second = data.draw(programme_st("first")), data.draw(programme_st("second"))
    people = roster(roles)
    groups = {
        "first": list(form_groups(first, people).groups),
        "second": list(form_groups(second, people).groups),
    }
    result = schedule_programmes([first, second], groups, FIRST, LAST)
    unresolved = {(c.email, c.first, c.second) for c in result.unresolved}
    assert_no_unreported_clash(result.sessions, groups, unresolved)


def test_a_clash_moves_the_later_programme_to_its_fallback_day() -> None:
    monthly = programme("reflection", THU, (TUE,), Cadence(), 10)
    weekly = programme("gatherings", THU, (WED,), Cadence(CadenceKind.EVERY_N_WEEKS, 1, date(2027, 1, 7)), 10)
    groups = {
        "reflection": [Group("r1", "R", THU, "Coach", None, ("a@x.org", "b@x.org"))],
        "gatherings": [Group("g1", "G", THU, "Carers", None, ("a@x.org", "c@x.org"))],
    }
    result = schedule_programmes([monthly, weekly], groups, date(2027, 1, 1), date(2027, 1, 31))
    # 14 January is the second Thursday: the reflection group keeps it, the gathering moves to Wednesday.
    assert result.moved == (Moved("gatherings", "g1", date(2027, 1, 14), date(2027, 1, 13)),)
    assert [s.start.date() for s in result.sessions if s.programme_id == "gatherings"] == [
        date(2027, 1, 7),
        date(2027, 1, 13),
        date(2027, 1, 21),
        date(2027, 1, 28),
    ]
    assert result.unresolved == ()


def test_a_move_avoids_a_day_someone_does_not_work() -> None:
    monthly = programme("reflection", THU, (), Cadence(), 10)
    other = programme("practice", THU, (WED, FRI), Cadence(), 10)
    groups = {
        "reflection": [Group("r1", "R", THU, "Coach", None, ("a@x.org", "b@x.org"))],
        "practice": [Group("p1", "P", THU, "North", None, ("a@x.org", "c@x.org"))],
    }
    people = {"c@x.org": Person("c@x.org", "C", "Coach", working_days=frozenset({MON, THU, FRI}))}
    result = schedule_programmes([monthly, other], groups, date(2027, 2, 1), date(2027, 2, 28), people)
    assert result.moved == (
        Moved("practice", "p1", date(2027, 2, 11), date(2027, 2, 12)),
    )  # Friday, not Wednesday


def test_an_unavoidable_clash_is_reported_not_dropped() -> None:
    monthly = programme("reflection", THU, (), Cadence(), 10)
    other = programme("practice", THU, (), Cadence(), 10)
    groups = {
        "reflection": [Group("r1", "R", THU, "Coach", "f@x.org", ("a@x.org", "b@x.org"))],
        "practice": [Group("p1", "P", THU, "North", "f@x.org", ("c@x.org", "d@x.org"))],
    }
    result = schedule_programmes([monthly, other], groups, date(2027, 2, 1), date(2027, 2, 28))
    (clash,) = result.unresolved
    assert clash.email == "f@x.org" and (clash.first.programme_id, clash.second.programme_id) == (
        "reflection",
        "practice",
    )
    assert len(result.sessions) == 2 and result.moved == ()
