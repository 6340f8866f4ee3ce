"""Sessions more often than monthly: a fortnightly programme, each session keyed by its date.

The world: one programme meeting every 2 weeks on Thursdays at 10:00 (London) from 7 January 2027,
so January and February 2027 each hold two sessions (7 and 21 January, 4 and 18 February). North
is facilitated by Fay; Rota takes turns. Everything about a session (its meeting request, RSVP
answers and reminders, register, check-outs, job keys) is keyed by its period "2027-01-21", and the
cards carry that period in their `month` field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cards.outbound import CardMessages
from cards.protocol import Verb
from programme.answers import RsvpAnswer
from programme.model import Group
from programme.programmes import parse_programmes
from programme.sessions import month_of_period, session_leader
from programme.settings import ProgrammeSettings
from repositories.answers import RsvpsRepository
from service.commands import AttendanceCommand, RsvpCommand
from service.invites import Invites, MailSettings
from service.reports import programme_report
from service.scheduler import Scheduler
from service.services import Services
from store import Store
from tests.bot_driver import BotDriver, TeamsSender
from tests.card_reading import actions, card_text, find_action, heading
from tests.clocks import Clock
from tests.pickup_mail import calendars, deliver
from tests.worlds import Row, actor, email, place_groups, roster_csv

LONDON = ZoneInfo("Europe/London")
PROGRAMMES = parse_programmes(
    {
        "programmes": [
            {
                "id": "fortnightly",
                "name": "Fortnightly reflection",
                "cadence": "every_n_weeks",
                "every_weeks": 2,
                "anchor": date(2027, 1, 7),
                "weekday": "Thursday",
            }
        ]
    }
)
KEYS = ("fay", "ann", "bo", "cy", "di", "ed", "gus", "hal", "cora")
ROSTER = tuple(
    Row(k, facilitator=k == "fay", coordinator=k == "cora", aad_object_id=f"aaaaaaaa-0000-4000-8000-{i:012d}")
    for i, k in enumerate(KEYS, start=1)
)
NORTH = Group(
    "north-1", "North", 3, "Coach", email("fay"), tuple(map(email, ("ann", "bo", "cy"))), "fortnightly"
)
ROTA = Group("rota-1", "Rota", 3, "Coach", None, tuple(map(email, ("ed", "gus", "hal"))), "fortnightly")
JANUARY = ("2027-01-07", "2027-01-21")
FEBRUARY = ("2027-02-04", "2027-02-18")
PERIODS = JANUARY + FEBRUARY


def wall(period: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(period), time(hour, 0), tzinfo=LONDON)


def sender(key: str) -> TeamsSender:
    return TeamsSender(f"29:{key}", next(r.aad_object_id for r in ROSTER if r.key == key), key.title())


@dataclass(frozen=True)
class Request:
    """One meeting request as the pickup folder received it."""

    uid: str
    sequence: int
    start: datetime
    attendees: frozenset[str]


def requests(mail: Path) -> list[Request]:
    """Every meeting request (METHOD:REQUEST) in the pickup folder, parsed back."""
    found = []
    for calendar in calendars(mail):
        if str(calendar.get("METHOD")) != "REQUEST":
            continue
        (event,) = calendar.walk("VEVENT")
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        found.append(
            Request(
                str(event["UID"]),
                int(event.get("SEQUENCE", 0)),
                event["DTSTART"].dt,
                frozenset(str(a).removeprefix("mailto:") for a in attendees),
            )
        )
    return found


def build(store: Store, clock: Clock) -> Services:
    services = Services.build(
        store, ProgrammeSettings(), clock, messages=CardMessages(), programmes=PROGRAMMES
    )
    services.programme.import_roster(roster_csv(ROSTER), "roster.csv", clock())
    place_groups(store, [NORTH, ROTA], clock())
    return services


def keyed(records: dict[str, dict[str, Any]], kind: str, period: str, group: Group) -> set[str]:
    """Recipients of the outbox's messages of `kind` about the group's session of `period`."""
    return {
        r["recipient"]
        for key, r in records.items()
        if r["kind"] == kind and key.startswith(f"{kind}:{period}:{group.id}")
    }


# ---- the clock over two months ----------------------------------------------------------------------


def test_a_fortnightly_programme_through_two_months_of_the_clock(store: Store, tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    services = build(store, clock)
    scheduler = Scheduler(services, Invites(services.sessions, services.outbox, MailSettings()))
    mail = tmp_path / "mail"
    ran: list[str] = []
    day = datetime(2026, 12, 20, tzinfo=UTC)
    while day < datetime(2027, 3, 1, tzinfo=UTC):
        if day.date() == date(2026, 12, 27):
            # After January's requests went out, Di joins North: its January meetings are updated.
            place_groups(store, [replace(NORTH, members=(*NORTH.members, email("di"))), ROTA], day)
        if day.date() == date(2027, 1, 3):
            # Ann answers for the 7 January session only.
            services.rsvps.answer(
                actor(services, "ann"), RsvpCommand(NORTH.id, "2027-01-07", RsvpAnswer.ATTENDING, None, "")
            )
        for moment in (day + timedelta(hours=9, minutes=30), day + timedelta(hours=23, minutes=59)):
            clock.now = moment
            ran.extend(r.job.key for r in scheduler.run_due(moment))
            deliver(services, mail, moment)
            # Every session starting before the clock's next run already has its meeting request.
            delivered = {r.uid for r in requests(mail)}
            for period in PERIODS:
                if wall(period) <= moment + timedelta(hours=12):
                    assert f"reflect-{NORTH.id}-{period}@reflect.local" in delivered, (period, moment)
                    assert f"reflect-{ROTA.id}-{period}@reflect.local" in delivered, (period, moment)
        day += timedelta(days=1)

    # One invites job a month; a reminder and an end-of-session job per session, keyed by its date.
    assert {"invites:2027-01", "invites:2027-02"} <= set(ran)
    for period in PERIODS:
        for group in (NORTH, ROTA):
            assert ran.count(f"rsvp_reminder:{period}:{group.id}") == 1
            assert ran.count(f"session_end:{period}:{group.id}") == 1
    assert not [k for k in ran if k.startswith(("rsvp_reminder:2027-01:", "session_end:2027-01:"))]

    # Every session has its own meeting request: its own UID, at its own time, 10:00 London.
    sent = requests(mail)
    for group in (NORTH, ROTA):
        for period in PERIODS:
            uid = f"reflect-{group.id}-{period}@reflect.local"
            versions = [r for r in sent if r.uid == uid]
            assert versions, uid
            assert {r.start for r in versions} == {wall(period)}
        starts = {r.start for r in sent if r.uid.startswith(f"reflect-{group.id}-")}
        assert {wall(p) for p in PERIODS} <= starts
    # Di joining updated January's meetings under the same UIDs (SEQUENCE 1); February's were first
    # sent with Di on them.
    for period in JANUARY:
        versions = sorted(
            (r for r in sent if r.uid == f"reflect-{NORTH.id}-{period}@reflect.local"),
            key=lambda r: r.sequence,
        )
        assert [r.sequence for r in versions] == [0, 1]
        assert email("di") not in versions[0].attendees and email("di") in versions[1].attendees
    for period in FEBRUARY:
        versions = [r for r in sent if r.uid == f"reflect-{NORTH.id}-{period}@reflect.local"]
        assert [r.sequence for r in versions] == [0] and email("di") in versions[0].attendees

    records = services.outbox.records()
    # Ann's answer counts for 7 January only: reminded for the 21st, not the 7th.
    assert keyed(records, "rsvp_reminder", "2027-01-07", NORTH) == {email(k) for k in ("bo", "cy", "di")}
    assert keyed(records, "rsvp_reminder", "2027-01-21", NORTH) == {
        email(k) for k in ("ann", "bo", "cy", "di")
    }
    # The check-out (no register taken: by RSVP) goes to Ann for the 7th, to nobody for the 21st.
    assert keyed(records, "checkout", "2027-01-07", NORTH) == {email("ann")}
    assert keyed(records, "checkout", "2027-01-21", NORTH) == set()
    # A register prompt per session: Fay's for North; in Rota, the members take turns session by session.
    leaders = []
    for period in PERIODS:
        assert keyed(records, "attendance", period, NORTH) == {email("fay")}
        (leader,) = keyed(records, "attendance", period, ROTA)
        leaders.append(leader)
    assert all(a != b for a, b in zip(leaders, leaders[1:], strict=False))
    assert set(leaders[:3]) == set(ROTA.members)
    # Every message about a session is filed under its month (the outbox partitions by month).
    assert services.outbox.records("2027-01-21") == {}
    january = services.outbox.records(month_of_period("2027-01-21"))
    assert keyed(january, "rsvp_reminder", "2027-01-21", NORTH) == keyed(
        records, "rsvp_reminder", "2027-01-21", NORTH
    )

    # Running the clock again at moments it already ran queues nothing.
    count = len(records)
    for moment in (
        clock.now,
        datetime(2027, 1, 7, 23, 59, tzinfo=UTC),
        datetime(2027, 2, 18, 9, 30, tzinfo=UTC),
    ):
        clock.now = moment
        assert scheduler.run_due(moment) == []
    assert len(services.outbox.records()) == count


def test_rotating_turns_go_session_by_session_every_n_weeks() -> None:
    fortnights = ("2027-01-07", "2027-01-21", "2027-02-04", "2027-02-18", "2027-03-04", "2027-03-18")
    turns = [session_leader(ROTA, p, 2) for p in fortnights]
    assert turns[:3] != turns[1:4] and len(set(turns[:3])) == 3 and turns[:3] == turns[3:]
    # A monthly period keeps v1's turn by month.
    assert session_leader(ROTA, "2027-01") == ROTA.members[(2027 * 12 + 1) % 3]


# ---- RSVP through the Teams surface -------------------------------------------------------------------


def test_rsvp_for_the_second_session_of_a_month_through_teams(store: Store) -> None:
    clock = Clock(datetime(2027, 1, 10, 9, 0, tzinfo=UTC))  # after 7 January: next is the 21st
    services = build(store, clock)
    bot = BotDriver(services)
    answers = RsvpsRepository(store)
    (card,) = bot.say(sender("ann"), "rsvp")
    assert isinstance(card, dict)
    # The card names the session by its date, and carries its period in its `month` field.
    assert heading(card) == "North: Thursday 21 January 2027"
    assert {a["data"]["month"] for a in actions(card, Verb.RSVP_ANSWER)} == {"2027-01-21"}
    reply = bot.press(
        sender("ann"), Verb.RSVP_ANSWER, find_action(card, Verb.RSVP_ANSWER, answer="attending")["data"]
    )
    assert "Your answer: Attending" in card_text(reply)
    stored = answers.get("2027-01-21", NORTH.id, email("ann"))
    assert stored is not None and stored.answer is RsvpAnswer.ATTENDING
    # The answer counts for that session only.
    assert answers.get("2027-02-04", NORTH.id, email("ann")) is None
    assert answers.get("2027-01", NORTH.id, email("ann")) is None

    # Forged or stale periods: not a session date, a past session, a session months ahead, the
    # month alone, no such day. Each is refused and nothing is stored.
    for period in ("2027-01-14", "2027-01-07", "2027-03-04", "2027-01", "2027-02-30"):
        data = {"group": NORTH.id, "month": period, "answer": "maybe"}
        refused = bot.press(sender("bo"), Verb.RSVP_ANSWER, data)
        assert "Your answer" not in card_text(refused), period
        assert any(
            phrase in card_text(refused)
            for phrase in ("not open for answers", "month is missing or not valid")
        ), card_text(refused)
    assert RsvpsRepository(store).periods() == ["2027-01-21"]
    assert answers.get("2027-01-21", NORTH.id, email("bo")) is None


# ---- the report -----------------------------------------------------------------------------------


def test_the_report_of_a_month_with_two_sessions_counts_both(store: Store) -> None:
    clock = Clock(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    services = build(store, clock)
    # Two people only: however many sessions they have, their figures are about 2 people.
    pair = Group("pair-1", "Pair", 3, "Coach", email("fay"), (email("di"), email("cora")), "fortnightly")
    place_groups(store, [NORTH, ROTA, pair], clock())
    fay = actor(services, "fay")
    ann, bo, cy = NORTH.members
    clock.now = datetime(2027, 1, 10, 9, tzinfo=UTC)
    services.rsvps.answer(
        actor(services, "ann"), RsvpCommand(NORTH.id, "2027-01-21", RsvpAnswer.ATTENDING, None, "")
    )
    for period, present in (("2027-01-07", {ann, bo, cy}), ("2027-01-21", {ann})):
        clock.now = wall(period, 11)
        absent = frozenset(NORTH.members) - present
        services.register.record(fay, AttendanceCommand(NORTH.id, period, frozenset(present), absent))
    for period in FEBRUARY:
        clock.now = wall(period, 11)
        services.register.record(
            fay, AttendanceCommand(pair.id, period, frozenset(pair.members), frozenset())
        )

    report = programme_report(
        services.programme, now=datetime(2027, 2, 28, tzinfo=UTC), months=2, until="2027-02"
    )
    rows = {(r.month, r.group_id): r.attendance for r in report.attendance}
    # North's January is both its sessions: 3 of 3, then 1 of 3.
    assert rows[("2027-01", NORTH.id)].text() == "4/6 67%"
    totals = {t.month: t.rate for t in report.attendance_total}
    assert totals["2027-01"].text() == "4/6 67%"
    # RSVPs are counted per session invited: 3 invited to each of January's two, 1 answer.
    assert {r.month: r.rate.text() for r in report.rsvp}["2027-01"] == "1/6 17%"
    # February's two sessions give four registrations, but of two people: hidden, total too.
    assert rows[("2027-02", pair.id)].suppressed and rows[("2027-02", pair.id)].value is None
    assert totals["2027-02"].suppressed


def test_the_schedule_and_the_month_plan_hold_every_session_of_the_month(store: Store) -> None:
    services = build(store, Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))
    schedule = services.sessions.schedule(date(2027, 1, 1), 2)
    assert [(s.group_id, s.period) for s in schedule] == [
        (group.id, period) for period in PERIODS for group in (NORTH, ROTA)
    ]
    assert [s.start for s in schedule if s.group_id == NORTH.id] == [wall(p) for p in PERIODS]
    plan = services.sessions.month_sessions("2027-01")
    assert {g: [s.period for s in found] for g, found in plan.items()} == {
        NORTH.id: list(JANUARY),
        ROTA.id: list(JANUARY),
    }
    # A period that is not one of the group's sessions has no session.
    assert services.sessions.session_of_period(NORTH, "2027-01-14") is None
    assert services.sessions.session_of_period(NORTH, "2027-01") is None
    session = services.sessions.session_of_period(NORTH, "2027-01-21")
    assert session is not None and session.start == wall("2027-01-21")
