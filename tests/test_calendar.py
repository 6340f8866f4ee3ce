"""Session dates and times: week of the month, fallback days, closures, DST in Europe/London."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

from programme.calendar import schedule, session_date, session_for
from programme.model import Group, Session
from programme.settings import ProgrammeSettings

THU = Group("thu-coach-1", "Coach, Thursday 1", 3, "Coach", None, ("a@x.org",))
TUE = Group("tue-coach-1", "Coach, Tuesday 1", 1, "Coach", None, ("b@x.org",))
LONDON = ZoneInfo("Europe/London")


def real_duration(session: Session) -> timedelta:
    # Subtracting two datetimes of one zone gives wall-clock time; elapsed time needs UTC.
    return session.end.astimezone(UTC) - session.start.astimezone(UTC)


def test_default_is_second_thursday_at_ten_for_ninety_minutes() -> None:
    session = session_for(THU, 2026, 12, ProgrammeSettings())
    assert session.start.isoformat() == "2026-12-10T10:00:00+00:00"
    assert session.end.isoformat() == "2026-12-10T11:30:00+00:00"


def test_fallback_day_meets_in_the_same_week() -> None:
    settings = ProgrammeSettings()
    for month in range(1, 13):
        thursday = session_date(2027, month, 3, settings)
        tuesday = session_date(2027, month, 1, settings)
        assert thursday.weekday() == 3 and tuesday.weekday() == 1
        assert thursday - tuesday == timedelta(days=2)
        assert 8 <= thursday.day <= 14  # the second Thursday


def test_march_and_october_dst_changes_keep_local_time() -> None:
    settings = ProgrammeSettings(week_of_month=4)
    # 2027: clocks go forward on Sunday 28 March and back on Sunday 31 October.
    offsets = {
        s.start.date().isoformat(): s.start.isoformat()[-6:]
        for s in schedule([THU, TUE], date(2027, 3, 1), 9, settings)
    }
    assert offsets["2027-03-23"] == "+00:00"
    assert offsets["2027-03-25"] == "+00:00"
    assert offsets["2027-04-20"] == "+01:00"
    assert offsets["2027-04-22"] == "+01:00"
    assert offsets["2027-10-26"] == "+01:00"
    assert offsets["2027-10-28"] == "+01:00"
    assert offsets["2027-11-23"] == "+00:00"
    assert offsets["2027-11-25"] == "+00:00"
    for s in schedule([THU], date(2027, 1, 1), 12, settings):
        assert s.start.astimezone(LONDON).time() == time(10, 0)
        assert real_duration(s) == timedelta(minutes=90)


def test_session_on_the_day_clocks_change() -> None:
    sunday = Group("sun-1", "Sunday 1", 6, "Coach", None, ())
    spring = ProgrammeSettings(weekday=6, week_of_month=4, session_time=time(10, 0))
    assert session_for(sunday, 2027, 3, spring).start.isoformat() == "2027-03-28T10:00:00+01:00"
    autumn = ProgrammeSettings(weekday=6, week_of_month=4)
    assert session_for(sunday, 2027, 10, autumn).start.isoformat() == "2027-10-24T10:00:00+01:00"
    # A night session spanning the spring change lasts its real 2 hours: 00:30 GMT to 03:30 BST.
    night = ProgrammeSettings(weekday=6, week_of_month=4, session_time=time(0, 30), duration_minutes=120)
    session = session_for(sunday, 2027, 3, night)
    assert session.start.isoformat() == "2027-03-28T00:30:00+00:00"
    assert session.end.isoformat() == "2027-03-28T03:30:00+01:00"
    assert real_duration(session) == timedelta(hours=2)
    # Autumn: a closure moves it to Sunday 31 October; 00:30 BST to 01:30 GMT is two real hours.
    autumn_night = ProgrammeSettings(
        weekday=6,
        week_of_month=4,
        session_time=time(0, 30),
        duration_minutes=120,
        closures=frozenset({date(2027, 10, 24)}),
    )
    october = session_for(sunday, 2027, 10, autumn_night)
    assert october.start.isoformat() == "2027-10-31T00:30:00+01:00"
    assert october.end.isoformat() == "2027-10-31T01:30:00+00:00"
    assert real_duration(october) == timedelta(hours=2)


def test_closures_move_a_session_to_the_next_open_same_weekday() -> None:
    settings = ProgrammeSettings(closures=frozenset({date(2026, 12, 10), date(2026, 12, 17)}))
    assert session_date(2026, 12, 3, settings) == date(2026, 12, 24)
    assert session_date(2026, 12, 1, settings) == date(2026, 12, 8)  # the Tuesday is open


def test_schedule_is_in_time_order_and_counts_months() -> None:
    sessions = schedule([THU, TUE], date(2026, 11, 23), 3, ProgrammeSettings())
    assert [(s.group_id, s.start.date().isoformat()) for s in sessions] == [
        ("tue-coach-1", "2026-11-10"),
        ("thu-coach-1", "2026-11-12"),
        ("tue-coach-1", "2026-12-08"),
        ("thu-coach-1", "2026-12-10"),
        ("tue-coach-1", "2027-01-12"),
        ("thu-coach-1", "2027-01-14"),
    ]
