"""Sessions per programme: each group meets on its programme's cadence, settings and venue; a person in
two programmes is never booked twice at once; the CLI and reports say which programme.

The deployment: monthly role groups ("reflection", second Thursday 10:00, Tuesday fallback, Teams)
and six-weekly team groups in person ("practice", Thursdays from 2027-01-14, Tuesday fallback).
Ann is in one group of each, and both programmes' January sessions fall on Thursday 14 January.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from app import outbox_drainer
from cards.outbound import CardMessages
from cards.reports import build_report_card, report_card_view
from cards.rsvp import build_introduction_card, build_rsvp_card
from cards.session import build_session_roster_card
from programme.answers import RsvpAnswer
from programme.cadence import main_dates
from programme.clock import JobKind, jobs_between
from programme.errors import ClosedError, SettingsError
from programme.model import Group
from programme.programmes import parse_programmes
from programme.sessions import SessionPlanner
from programme.settings import ProgrammeSettings
from service.commands import AttendanceCommand, RsvpCommand
from service.invites import Invites, MailSettings
from service.services import Services
from service.sessions import Sessions
from service.views import IntroductionView
from store import Store
from support.config import BotSettings
from tests.cli_run import run
from tests.fakes.graph_server import FakeGraph
from tests.pickup_mail import calendars as pickup_calendars
from tests.pickup_mail import deliver
from tests.test_mailer_graph import graph_mailer
from tests.worlds import Row, actor, place_groups, roster_csv
from tests.worlds import email as address

LONDON = ZoneInfo("Europe/London")
PLACE = "Meeting room 2, Head Office"
PROGRAMMES_TOML = f"""
[[programmes]]
id = "reflection"
name = "Peer reflection"

[[programmes]]
id = "practice"
name = "Reflective practice"
formation = "team"
venue = "{PLACE}"
cadence = "every_n_weeks"
every_weeks = 6
anchor = 2027-01-14
"""
PROGRAMMES = parse_programmes(tomllib.loads(PROGRAMMES_TOML))
ROSTER = (
    Row("fay", facilitator=True),
    Row("gil", facilitator=True),
    Row("ann"),
    Row("bo"),
    Row("cy"),
    Row("ed"),
    Row("hal"),
    Row("di", coordinator=True),
)
REFLECTION = Group(
    "thu-coach-1",
    "Coaches Thursday",
    3,
    "Coach",
    address("fay"),
    tuple(map(address, ("ann", "bo", "cy"))),
    programme="reflection",
)
PRACTICE = Group(
    "practice-north-1",
    "North team",
    3,
    "North",
    address("gil"),
    tuple(map(address, ("ann", "ed", "hal"))),
    programme="practice",
)
NOW = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)


def wall(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=LONDON)


def two_programmes(store: Store, clock: Callable[[], datetime] = lambda: NOW) -> Services:
    services = Services.build(
        store, ProgrammeSettings(), clock, messages=CardMessages(), programmes=PROGRAMMES
    )
    services.programme.import_roster(roster_csv(ROSTER), "roster.csv", clock())
    place_groups(store, [REFLECTION, PRACTICE], clock())
    return services


def calendars(mail: Path) -> dict[str, icalendar.Calendar]:
    """The pickup folder's meeting requests parsed back, by the group id in their UID."""
    found = {}
    for calendar in pickup_calendars(mail):
        (event,) = calendar.walk("VEVENT")
        found[str(event["UID"])] = calendar
    return found


def clock_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def event_of(calendar: icalendar.Calendar) -> Any:
    (event,) = calendar.walk("VEVENT")
    return event


# ---- the cadence and the clash ----------------------------------------------------------------------


def test_a_later_programme_moves_to_its_fallback_day_so_nobody_is_booked_twice(store: Store) -> None:
    services = two_programmes(store)
    sessions = services.sessions
    (reflection,) = sessions.sessions_in_month(REFLECTION, "2027-01")
    (practice,) = sessions.sessions_in_month(PRACTICE, "2027-01")
    # Reflection (defined first) keeps Thursday 14th; practice moves to Tuesday 12th, same week and time.
    assert reflection.start == wall(date(2027, 1, 14))
    assert practice.start == wall(date(2027, 1, 12))
    assert practice.end - practice.start == timedelta(minutes=90)
    # Ann's sessions over a year never overlap.
    ann = sorted(
        (
            s
            for s in services.sessions.schedule(date(2027, 1, 1), 12)
            if s.group_id in {REFLECTION.id, PRACTICE.id}
        ),
        key=lambda s: s.start,
    )
    assert all(a.end <= b.start for a, b in zip(ann, ann[1:], strict=False))
    assert len([s for s in ann if s.group_id == PRACTICE.id]) == 9  # 2027: every six weeks from 14 Jan


def test_every_n_weeks_skips_a_month_and_that_month_has_no_jobs_for_it(store: Store) -> None:
    services = two_programmes(store)
    # 14 Jan, 25 Feb, 8 Apr: March has no practice session.
    assert services.sessions.sessions_in_month(PRACTICE, "2027-03") == ()
    (february,) = services.sessions.sessions_in_month(PRACTICE, "2027-02")
    # An every-N-weeks session's period is its programme-weekday date.
    assert february.start == wall(date(2027, 2, 25)) and february.period == "2027-02-25"
    planner = SessionPlanner(PROGRAMMES, services.programme.people())
    start, end = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 4, 30, tzinfo=UTC)
    jobs = jobs_between([REFLECTION, PRACTICE], ProgrammeSettings(), start, end, None, planner)
    group_jobs = {
        (j.month, j.group_id) for j in jobs if j.kind in (JobKind.RSVP_REMINDER, JobKind.SESSION_END)
    }
    assert (("2027-03", PRACTICE.id)) not in group_jobs
    assert {("2027-02", PRACTICE.id), ("2027-04", PRACTICE.id), ("2027-03", REFLECTION.id)} <= group_jobs
    practice_end = next(j for j in jobs if j.key == f"session_end:2027-02-25:{PRACTICE.id}")
    assert practice_end.due == wall(date(2027, 2, 25), 11) + timedelta(minutes=30)
    # March's invites are the reflection group's only.
    later = Sessions(services.programme, clock_at(datetime(2027, 2, 20, tzinfo=UTC)))
    invites = Invites(later, services.outbox, MailSettings())
    assert invites.sync_month("2027-03") == 1
    (recipient,) = [doc["recipient"] for doc in services.outbox.records("2027-03").values()]
    assert recipient == f"group:{REFLECTION.id}"


@pytest.mark.parametrize("weeks", [1, 2, 12])
def test_every_weeks_from_one_to_twelve_is_accepted(weeks: int) -> None:
    table = PROGRAMMES_TOML.replace("every_weeks = 6", f"every_weeks = {weeks}")
    assert parse_programmes(tomllib.loads(table))[1].cadence.every_weeks == weeks


@pytest.mark.parametrize("weeks", [0, 13, -1])
def test_every_weeks_outside_one_to_twelve_is_refused_with_the_range(weeks: int) -> None:
    table = PROGRAMMES_TOML.replace("every_weeks = 6", f"every_weeks = {weeks}")
    with pytest.raises(SettingsError) as caught:
        parse_programmes(tomllib.loads(table))
    assert str(caught.value) == (
        f'[[programmes]] "practice": every_weeks: expected a whole number of weeks from 1 (weekly) to 12, '
        f"got {weeks}"
    )


# ---- venues and meeting requests --------------------------------------------------------------------


def test_the_in_person_request_carries_the_place_and_no_teams_meeting(store: Store, tmp_path: Path) -> None:
    services = two_programmes(store)
    invites = Invites(services.sessions, services.outbox, MailSettings("reflect@x.org"))
    assert invites.sync_month("2027-01") == 2
    deliver(services, tmp_path / "mail", NOW)
    found = calendars(tmp_path / "mail")
    online = event_of(found[f"reflect-{REFLECTION.id}-2027-01@reflect.local"])
    in_person = event_of(found[f"reflect-{PRACTICE.id}-2027-01-14@reflect.local"])
    assert str(online["LOCATION"]) == "Microsoft Teams meeting"
    assert str(in_person["LOCATION"]) == PLACE
    assert f"In person at {PLACE}." in str(in_person["DESCRIPTION"])
    assert "teams.microsoft.com" not in in_person.to_ical().decode().lower()
    assert not [key for key in in_person if key.startswith("X-MICROSOFT")]
    # The moved session, at its local time in the programme zone.
    assert in_person["DTSTART"].dt == wall(date(2027, 1, 12))
    assert in_person["DTSTART"].params["TZID"] == "Europe/London"
    assert str(in_person["SUMMARY"]) == "Reflective practice: North team"
    assert {str(a).removeprefix("mailto:") for a in in_person.get("ATTENDEE")} == {
        address(k) for k in ("gil", "ann", "ed", "hal")
    }


@pytest.mark.asyncio
async def test_graph_is_asked_for_a_teams_meeting_only_for_the_online_programme(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "reflect.json") as store:
        services = two_programmes(store)
        invites = Invites(services.sessions, services.outbox, MailSettings("reflect@x.org"))
        assert invites.sync_month("2027-01") == 2
        async with FakeGraph() as fake, graph_mailer(fake) as mailer:
            async with outbox_drainer(services, BotSettings(), mailer, sender="reflect@x.org") as drainer:
                await drainer.drain_once(NOW)
        posts = {call.body["subject"]: call.body for call in fake.graph_calls("POST", "/events")}
        assert posts["Peer reflection: Coaches Thursday"]["isOnlineMeeting"] is True
        in_person = posts["Reflective practice: North team"]
        assert "isOnlineMeeting" not in in_person and "onlineMeetingProvider" not in in_person
        assert in_person["location"] == {"displayName": PLACE}


def test_every_n_weeks_invites_keep_their_wall_time_across_dst(store: Store, tmp_path: Path) -> None:
    services = two_programmes(store)
    # 25 February is GMT; 8 April (moved to Tuesday 6 April: reflection meets on the 8th) is BST.
    for month, now in (
        ("2027-02", datetime(2027, 2, 10, tzinfo=UTC)),
        ("2027-04", datetime(2027, 3, 25, tzinfo=UTC)),
    ):
        then = Sessions(services.programme, clock_at(now))
        invites = Invites(then, services.outbox, MailSettings("reflect@x.org"))
        invites.sync_month(month)
    deliver(services, tmp_path / "mail", datetime(2027, 3, 25, tzinfo=UTC))
    found = calendars(tmp_path / "mail")
    february = event_of(found[f"reflect-{PRACTICE.id}-2027-02-25@reflect.local"])
    april = event_of(found[f"reflect-{PRACTICE.id}-2027-04-08@reflect.local"])
    for event, day in ((february, date(2027, 2, 25)), (april, date(2027, 4, 6))):
        start = event["DTSTART"].dt
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        assert (start.date(), start.time()) == (day, time(10, 0))
        assert event["DTEND"].dt - start == timedelta(minutes=90)
    assert february["DTSTART"].dt.astimezone(UTC).hour == 10 and april["DTSTART"].dt.astimezone(UTC).hour == 9
    assert b"BEGIN:VTIMEZONE" in found[f"reflect-{PRACTICE.id}-2027-04-08@reflect.local"].to_ical()


def test_a_weekly_programme_keeps_its_wall_time_across_dst(store: Store, tmp_path: Path) -> None:
    # The practice programme weekly: every Thursday from 14 January, each session its own meeting.
    weekly = parse_programmes(tomllib.loads(PROGRAMMES_TOML.replace("every_weeks = 6", "every_weeks = 1")))
    services = Services.build(
        store, ProgrammeSettings(), lambda: NOW, messages=CardMessages(), programmes=weekly
    )
    services.programme.import_roster(roster_csv(ROSTER), "roster.csv", NOW)
    place_groups(store, [REFLECTION, PRACTICE], NOW)
    then = Sessions(services.programme, clock_at(datetime(2027, 2, 20, tzinfo=UTC)))
    invites = Invites(then, services.outbox, MailSettings("reflect@x.org"))
    for month in ("2027-03", "2027-04"):
        invites.sync_month(month)
    deliver(services, tmp_path / "mail", datetime(2027, 2, 20, tzinfo=UTC))
    found = calendars(tmp_path / "mail")
    thursdays = [date(2027, 3, 4) + timedelta(weeks=n) for n in range(9)]  # 4 March to 29 April
    # The UK changes to BST on 28 March; reflection's second Thursdays (11 March, 8 April) move
    # practice to the Tuesday of those weeks, under the same period.
    for thursday in thursdays:
        event = event_of(found[f"reflect-{PRACTICE.id}-{thursday.isoformat()}@reflect.local"])
        start = event["DTSTART"].dt
        day = thursday - timedelta(days=2) if thursday in (date(2027, 3, 11), date(2027, 4, 8)) else thursday
        assert (start.date(), start.time(), event["DTSTART"].params["TZID"]) == (
            day,
            time(10, 0),
            "Europe/London",
        )
        assert start.astimezone(UTC).hour == (10 if day < date(2027, 3, 28) else 9)
        assert event["DTEND"].dt - start == timedelta(minutes=90)
    assert len({u for u in found if u.startswith(f"reflect-{PRACTICE.id}-")}) == len(thursdays)


def test_cards_say_where_an_in_person_session_is(store: Store) -> None:
    services = two_programmes(store)
    ed = actor(services, "ed")
    view = services.rsvps.mine(ed)
    assert view.session.place == PLACE and view.session.teams_link is None
    assert view.session.when.startswith("Tuesday 12 January 2027, 10:00")
    assert PLACE in json.dumps(build_rsvp_card(view))
    bo = services.rsvps.mine(actor(services, "bo"))
    assert bo.session.place == "" and "Online, in Teams" in json.dumps(build_rsvp_card(bo))
    # The facilitator's roster of the session says where too.
    roster = services.rsvps.roster(actor(services, "gil"))
    assert roster.session.place == PLACE
    assert f"In person: {PLACE}" in json.dumps(build_session_roster_card(roster))
    assert "In person" not in json.dumps(
        build_session_roster_card(services.rsvps.roster(actor(services, "fay")))
    )
    # The introduction says where as well, and so do the emails for people Teams cannot reach.
    introduction = IntroductionView("Gil", "See you there", view)
    assert PLACE in json.dumps(build_introduction_card(introduction))
    emailed = CardMessages().introduction(introduction).email_fallback
    assert emailed is not None and f"in person at {PLACE}" in emailed["body_text"]
    reminder = CardMessages().rsvp_reminder(view, view.session.when).email_fallback
    assert reminder is not None and f"in person at {PLACE}" in reminder["body_text"]
    online = CardMessages().rsvp_reminder(bo, bo.session.when).email_fallback
    assert online is not None and "in person" not in online["body_text"]


# ---- reports per programme --------------------------------------------------------------------------


def test_the_report_has_a_section_per_programme_each_suppressed_on_its_own(store: Store) -> None:
    now = [NOW]
    services = two_programmes(store, lambda: now[0])
    # A practice group of two: its figures are about fewer than 3 people, so hidden in its section.
    place_groups(store, [REFLECTION, replace(PRACTICE, members=(address("ann"), address("ed")))], NOW)
    now[0] = wall(date(2027, 1, 12), 11)
    services.register.record(
        actor(services, "gil"),
        AttendanceCommand(PRACTICE.id, "2027-01-14", frozenset({address("ann")}), frozenset({address("ed")})),
    )
    now[0] = wall(date(2027, 1, 14), 11)
    services.register.record(
        actor(services, "fay"),
        AttendanceCommand(REFLECTION.id, "2027-01", frozenset(REFLECTION.members), frozenset()),
    )
    now[0] = datetime(2027, 1, 25, 12, tzinfo=UTC)
    sections = services.reports.by_programme(actor(services, "di"), months=1)
    assert [(s.programme_id, s.name) for s in sections] == [
        ("reflection", "Peer reflection"),
        ("practice", "Reflective practice"),
    ]
    reflection, practice = (s.report for s in sections)
    assert [r.group_id for r in reflection.attendance] == [REFLECTION.id]
    assert reflection.attendance[0].attendance.text() == "3/3 100%"
    assert [r.group_id for r in practice.attendance] == [PRACTICE.id]
    assert practice.attendance[0].attendance.suppressed
    assert [t.rate.suppressed for t in practice.attendance_total] == [True]
    assert [t.rate.text() for t in reflection.attendance_total] == ["3/3 100%"]  # not pooled with practice
    assert practice.pairs == () and practice.goals == ()  # a groups-only programme has no pair figures
    cards = [json.dumps(build_report_card(report_card_view(s.report, s.name))) for s in sections]
    assert "Programme report: Reflective practice" in cards[1] and "Coaches Thursday" not in cards[1]


# ---- the CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "reflect.json"
    with Store(db) as store:
        two_programmes(store)
    settings = tmp_path / "reflect.toml"
    settings.write_text(PROGRAMMES_TOML + f'\n[mail]\npickup_dir = "{tmp_path / "mail"}"\n')
    return db, settings


def test_schedule_names_its_programme_and_shows_the_moved_session(
    deployment: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, settings = deployment
    base = ("--db", str(db), "--settings", str(settings))
    code, _, err = run(capsys, "schedule", "--from", "2027-01", "--months", "1", *base)
    assert code != 0 and "several programmes (reflection, practice)" in err and "--programme" in err
    code, out, _ = run(
        capsys, "schedule", "--from", "2027-01", "--months", "3", "--programme", "practice", "--json", *base
    )
    assert code == 0
    document = json.loads(out)
    assert document["programme"] == "practice"
    assert [(s["group"], s["start"], s["place"]) for s in document["sessions"]] == [
        (PRACTICE.id, "2027-01-12T10:00:00+00:00", PLACE),
        (PRACTICE.id, "2027-02-25T10:00:00+00:00", PLACE),
    ]
    code, out, _ = run(
        capsys, "schedule", "--from", "2027-01", "--months", "1", "--programme", "reflection", *base
    )
    assert code == 0 and "Peer reflection (reflection)" in out and "Thu 14 Jan 2027 10:00" in out
    code, _, err = run(capsys, "schedule", "--programme", "nope", *base)
    assert code != 0 and "no programme 'nope'" in err


def test_invites_send_and_report_name_the_programme(
    deployment: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, settings = deployment
    base = ("--db", str(db), "--settings", str(settings))
    code, _, err = run(capsys, "invites", "send", "--month", "2099-01", *base)
    assert code != 0 and "several programmes" in err
    code, out, _ = run(
        capsys, "invites", "send", "--month", "2099-01", "--programme", "practice", "--json", *base
    )
    assert code == 0
    sent = json.loads(out)
    assert (sent["programme"], sent["queued"]) == ("practice", 1)
    # Only the practice group's request, and delivered: the reflection group's month is not sent.
    (uid,) = calendars(tmp_path / "mail")
    (main,) = main_dates(PROGRAMMES[1], date(2099, 1, 1), date(2099, 1, 31))
    assert uid == f"reflect-{PRACTICE.id}-{main.isoformat()}@reflect.local"
    assert str(event_of(calendars(tmp_path / "mail")[uid])["LOCATION"]) == PLACE
    code, out, _ = run(capsys, "report", "--json", "--until", "2027-01", "--months", "1", *base)
    assert code == 0
    document = json.loads(out)
    assert [p["programme"] for p in document["programmes"]] == ["reflection", "practice"]
    code, out, _ = run(capsys, "report", "--until", "2027-01", "--months", "1", *base)
    assert (
        "Programme: Peer reflection (reflection)" in out
        and "Programme: Reflective practice (practice)" in out
    )
    code, _, err = run(capsys, "report", "--csv", "-", *base)
    assert code != 0 and "--programme" in err
    code, out, _ = run(capsys, "report", "--json", "--programme", "practice", "--months", "1", *base)
    assert code == 0 and json.loads(out)["programme"] == "practice"


def test_before_an_every_n_weeks_programme_begins_its_next_session_is_the_anchor(store: Store) -> None:
    services = two_programmes(store, lambda: datetime(2026, 3, 1, tzinfo=UTC))
    upcoming = services.sessions.next_session(PRACTICE, datetime(2026, 3, 1, tzinfo=UTC))
    assert upcoming.start == wall(date(2027, 1, 12))  # the anchor's week, moved off reflection's Thursday
    after = services.sessions.next_session(PRACTICE, upcoming.end)
    assert (after.start, after.period) == (wall(date(2027, 2, 25)), "2027-02-25")


def test_use_cases_follow_the_every_n_weeks_cadence(store: Store) -> None:
    now = [datetime(2027, 3, 10, 12, tzinfo=UTC)]  # March: no practice session (25 Feb, then 8 Apr)
    services = two_programmes(store, lambda: now[0])
    ed, gil = actor(services, "ed"), actor(services, "gil")
    # The check-out form is for the latest session that started: February's.
    assert services.checkouts.form(ed).month == "2027-02-25"
    # The next session (RSVP) is April's, moved to Tuesday 6th off reflection's Thursday 8th: its
    # period is still the programme-weekday date.
    mine = services.rsvps.mine(ed)
    assert (mine.session.month, mine.session.when[:24]) == ("2027-04-08", "Tuesday 6 April 2027, 10")
    # A register for March is refused: there is no session that month.
    with pytest.raises(ClosedError):
        services.register.record(
            gil, AttendanceCommand(PRACTICE.id, "2027-03", frozenset(PRACTICE.members), frozenset())
        )
    # An answer for April is taken; none for March exists to give.
    services.rsvps.answer(ed, RsvpCommand(PRACTICE.id, "2027-04-08", RsvpAnswer.ATTENDING, None, ""))
    with pytest.raises(ClosedError):
        services.rsvps.answer(ed, RsvpCommand(PRACTICE.id, "2027-03", RsvpAnswer.ATTENDING, None, ""))


def test_a_programme_in_another_time_zone_meets_at_its_own_local_time(store: Store) -> None:
    programmes = parse_programmes(
        tomllib.loads(
            PROGRAMMES_TOML.replace(
                "anchor = 2027-01-14", 'anchor = 2027-01-14\ntimezone = "America/New_York"'
            )
        )
    )
    services = Services.build(
        store, ProgrammeSettings(), lambda: NOW, messages=CardMessages(), programmes=programmes
    )
    services.programme.import_roster(roster_csv(ROSTER), "roster.csv", NOW)
    place_groups(store, [REFLECTION, PRACTICE], NOW)
    # 10:00 in New York is 15:00 in London: no overlap with reflection's 10:00-11:30, so no move.
    (practice,) = services.sessions.sessions_in_month(PRACTICE, "2027-01")
    assert practice.start == datetime(2027, 1, 14, 10, tzinfo=ZoneInfo("America/New_York"))
    assert (
        services.rsvps.mine(actor(services, "ed")).session.when == "Thursday 14 January 2027, 10:00-11:30 EST"
    )
