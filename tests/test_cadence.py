"""Cadences: monthly as v1, every N weeks keeping local wall time across DST, closures and fallbacks."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from programme.cadence import group_dates, group_sessions, main_dates, programme_schedule
from programme.calendar import schedule
from programme.model import Group
from programme.programmes import Cadence, CadenceKind, ProgrammeDefinition, legacy_programme
from programme.settings import ProgrammeSettings

MON, TUE, WED, THU, FRI = range(5)
ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "America/Santiago", "Asia/Kolkata")


def every(weeks: int, anchor: date, **values: object) -> ProgrammeDefinition:
    return ProgrammeDefinition(
        "p",
        "P",
        cadence=Cadence(CadenceKind.EVERY_N_WEEKS, weeks, anchor),
        settings=ProgrammeSettings(weekday=anchor.weekday(), **values),  # type: ignore[arg-type]
    )


def test_monthly_is_exactly_the_v1_schedule() -> None:
    settings = ProgrammeSettings(closures=frozenset({date(2027, 3, 11)}))
    groups = [
        Group("thu-1", "T", THU, "c", None, ("a@x.org",)),
        Group("tue-1", "U", TUE, "c", None, ("b@x.org",)),
    ]
    first = date(2027, 1, 1)
    ours = programme_schedule(legacy_programme(settings), groups, first, date(2027, 12, 31))
    v1 = schedule(groups, first, 12, settings)
    assert [(s.group_id, s.start, s.end) for s in ours] == [(s.group_id, s.start, s.end) for s in v1]


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    anchor=st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    weeks=st.integers(1, 12),
    start=st.times(time(7, 0), time(19, 0)).map(lambda t: t.replace(second=0, microsecond=0)),
    minutes=st.sampled_from((45, 60, 90, 120)),
    fallback=st.integers(0, 6),
)
def test_every_n_weeks_keeps_local_time_across_dst(
    zone: str, anchor: date, weeks: int, start: time, minutes: int, fallback: int
) -> None:
    definition = every(
        weeks,
        anchor,
        timezone=zone,
        session_time=start,
        duration_minutes=minutes,
        fallback_weekdays=(fallback,),
    )
    last = anchor + timedelta(days=800)  # at least two DST changes wherever the zone has them
    for weekday in {anchor.weekday(), fallback}:
        group = Group("g", "G", weekday, "c", None, ())
        sessions = group_sessions(definition, group, anchor, last)
        assert len(sessions) == (last - anchor).days // (7 * weeks) + 1
        offsets = set()
        for n, session in enumerate(sessions):
            local = session.start.astimezone(ZoneInfo(zone))
            # The wall-clock time and day hold, whatever the UTC offset that day.
            assert local.time() == start and local.weekday() == weekday
            assert local.date() == anchor + timedelta(weeks=weeks * n, days=weekday - anchor.weekday())
            assert session.end.astimezone(UTC) - session.start.astimezone(UTC) == timedelta(minutes=minutes)
            offsets.add(local.utcoffset())
        if zone != "Asia/Kolkata" and len(sessions) > 20:
            assert len(offsets) == 2  # the range really crossed DST changes


def test_a_session_across_the_spring_change_is_still_ten_oclock() -> None:
    # London: 2027-03-25 is GMT, 2027-04-01 is BST. Weekly Thursday sessions stay at 10:00 local.
    definition = every(1, date(2027, 3, 25), session_time=time(10, 0))
    before, after = group_sessions(
        definition, Group("g", "G", THU, "c", None, ()), date(2027, 3, 25), date(2027, 4, 1)
    )
    assert before.start.isoformat() == "2027-03-25T10:00:00+00:00"
    assert after.start.isoformat() == "2027-04-01T10:00:00+01:00"
    assert after.start.astimezone(UTC) - before.start.astimezone(UTC) == timedelta(days=7, hours=-1)


def test_range_starts_at_the_first_session_on_or_after_it() -> None:
    definition = every(3, date(2027, 1, 7))
    assert main_dates(definition, date(2027, 1, 8), date(2027, 3, 1)) == [
        date(2027, 1, 28),
        date(2027, 2, 18),
    ]
    assert main_dates(definition, date(2026, 1, 1), date(2027, 1, 7)) == [date(2027, 1, 7)]


def test_closures_move_a_session_a_week_on_but_never_into_the_next_one() -> None:
    fortnightly = every(2, date(2027, 1, 7), closures=frozenset({date(2027, 1, 21)}))
    assert group_dates(fortnightly, THU, date(2027, 1, 1), date(2027, 2, 10)) == [
        date(2027, 1, 7),
        date(2027, 1, 28),  # moved from the 21st, still a week before the next session
        date(2027, 2, 4),
    ]
    weekly = every(1, date(2027, 1, 7), closures=frozenset({date(2027, 1, 14)}))
    # A week on is the next session's day: the closed session is dropped, not doubled up.
    assert group_dates(weekly, THU, date(2027, 1, 1), date(2027, 1, 28)) == [
        date(2027, 1, 7),
        date(2027, 1, 21),
        date(2027, 1, 28),
    ]
    # A fallback-day group meets in the same week as the main day, as in v1.
    assert group_dates(fortnightly, TUE, date(2027, 1, 1), date(2027, 1, 31)) == [
        date(2027, 1, 5),
        date(2027, 1, 19),
    ]
