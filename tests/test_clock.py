"""The programme clock: every job once and on time over a simulated year, catch-up after downtime."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cards.outbound import CardMessages
from programme.clock import CATCH_UP, JobKind, due_jobs, jobs_between
from programme.model import Group
from programme.settings import ProgrammeSettings
from repositories.jobs import JobRunsRepository
from service.invites import Invites, MailSettings
from service.scheduler import Scheduler
from service.services import Services
from store import Store
from tests.clocks import Clock
from tests.worlds import Row, build_services

THU = Group(
    "thu-coach-1", "Coach, Thursday 1", 3, "Coach", "fay@x.org", ("ann@x.org", "bo@x.org", "cy@x.org")
)
TUE = Group("tue-coach-1", "Coach, Tuesday 1", 1, "Coach", None, ("di@x.org", "ed@x.org", "flo@x.org"))
SETTINGS = ProgrammeSettings()
YEAR_START = datetime(2027, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2028, 1, 1, tzinfo=UTC)
ROSTER = (
    Row("fay", facilitator=True, name="Fay"),
    Row("ann", name="Ann"),
    Row("bo", name="Bo"),
    Row("cy", coordinator=True, name="Cy"),
    Row("di", days="Mon Tue Wed Fri", name="Di"),
    Row("ed", days="Mon Tue Fri", name="Ed"),
    Row("flo", days="Tue", name="Flo"),
)


def test_a_year_has_each_job_once_at_its_time() -> None:
    jobs = jobs_between([THU, TUE], SETTINGS, YEAR_START, YEAR_END, date(2026, 12, 1))
    keys = Counter(job.key for job in jobs)
    assert all(n == 1 for n in keys.values())
    kinds = Counter(job.kind for job in jobs)
    assert kinds[JobKind.INVITES] == 12
    assert kinds[JobKind.RSVP_REMINDER] == 24 and kinds[JobKind.SESSION_END] == 24
    assert kinds[JobKind.PEER_CHECK] == 12 and kinds[JobKind.GOALS] == 4
    assert kinds[JobKind.PEER_NUDGE] == 52
    assert [j.key for j in jobs if j.kind is JobKind.ROTATION][0] == "rotation:2027-06"
    by_key = {job.key: job for job in jobs}
    # Session ends are the sessions' ends; reminders and invites at 09:00 London time.
    assert by_key["session_end:2027-03:thu-coach-1"].due.isoformat() == "2027-03-11T11:30:00+00:00"
    assert by_key["session_end:2027-04:thu-coach-1"].due.isoformat() == "2027-04-08T11:30:00+01:00"
    assert by_key["rsvp_reminder:2027-04:tue-coach-1"].due.isoformat() == "2027-04-04T09:00:00+01:00"
    assert (
        by_key["invites:2027-04"].due.isoformat() == "2027-03-23T09:00:00+00:00"
    )  # 14 days before Tue 6 Apr
    assert by_key["goals:2027-Q2"].due.isoformat() == "2027-04-01T09:00:00+01:00"


def test_due_jobs_skip_done_ones_and_old_ones() -> None:
    now = datetime(2027, 3, 12, 12, 0, tzinfo=UTC)
    due = due_jobs([THU], SETTINGS, now, None, {"session_end:2027-03:thu-coach-1"})
    keys = {job.key for job in due}
    assert "session_end:2027-03:thu-coach-1" not in keys
    assert "rsvp_reminder:2027-03:thu-coach-1" in keys
    assert all(now - CATCH_UP < job.due <= now for job in due)


@pytest.fixture
def programme(tmp_path: Path) -> Iterator[tuple[Scheduler, Clock, Store]]:
    clock = Clock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, clock, ROSTER, SETTINGS)
        services.programme.rotate_pairs(date(2026, 12, 1))
        invites = Invites(services.sessions, services.outbox, MailSettings())
        yield Scheduler(services, invites), clock, store


def _simulate(scheduler: Scheduler, clock: Clock, until: datetime) -> list[tuple[str, datetime, datetime]]:
    """Tick at every job's due time, and again at once to prove nothing repeats."""
    runs = []
    groups = scheduler.services.programme.current_allocation().groups
    while clock.now < until:
        rounds = scheduler.services.programme.pair_rounds()
        upcoming = jobs_between(groups, SETTINGS, clock.now, until, rounds[-1].started_on)
        if not upcoming:
            break
        clock.now = upcoming[0].due
        for report in scheduler.run_due(clock.now):
            runs.append((report.job.key, report.job.due, clock.now))
        assert scheduler.run_due(clock.now) == []
        clock.now += timedelta(seconds=1)
    return runs


def test_a_simulated_year_fires_every_job_exactly_once_and_on_time(
    programme: tuple[Scheduler, Clock, Store],
) -> None:
    scheduler, clock, store = programme
    clock.now = YEAR_START
    scheduler.run_due(clock.now)  # December's jobs, caught up: the programme started before the year
    runs = _simulate(scheduler, clock, YEAR_END)
    keys = Counter(key for key, _, _ in runs)
    assert keys and all(n == 1 for n in keys.values())
    assert all(ran == due for _, due, ran in runs)  # on time, not late
    assert {key.split(":")[0] for key in keys} == {kind.value for kind in JobKind}
    rounds = scheduler.services.programme.pair_rounds()
    assert [r.started_on for r in rounds] == [date(2026, 12, 1), date(2027, 6, 1), date(2027, 12, 1)]
    # Each month's invites went out once per group; the outbox holds one entry per meeting version.
    invites = [e for e in scheduler.services.outbox.due(YEAR_END, 10_000) if e.message.kind == "invite"]
    assert len({e.message.key for e in invites}) == len(invites)
    assert JobRunsRepository(store).has_run("2027-03", "invites:2027-03")


def test_a_restart_after_downtime_catches_up_once(
    tmp_path: Path, programme: tuple[Scheduler, Clock, Store]
) -> None:
    scheduler, clock, store = programme
    clock.now = datetime(2027, 3, 1, tzinfo=UTC)
    scheduler.run_due(clock.now)
    first = _simulate(scheduler, clock, datetime(2027, 3, 9, tzinfo=UTC))
    # Down from 9 to 20 March: the Tuesday/Thursday reminders and session ends were missed.
    restart = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    again = Scheduler(
        Services.build(store, SETTINGS, lambda: restart, messages=CardMessages()), scheduler.invites
    )
    caught_up = [r.job.key for r in again.run_due(restart)]
    assert "session_end:2027-03:thu-coach-1" in caught_up
    assert "rsvp_reminder:2027-03:thu-coach-1" in caught_up
    assert not set(caught_up) & {key for key, _, _ in first}
    assert again.run_due(restart) == []
    assert again.run_due(restart + timedelta(minutes=5)) == []


def test_a_new_programme_runs_nothing_for_the_time_before_it_began(tmp_path: Path) -> None:
    started = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, lambda: started, ROSTER, SETTINGS)
        services.programme.rotate_pairs(date(2026, 11, 23))
        scheduler = Scheduler(services, Invites(services.sessions, services.outbox, MailSettings()))
        ran = [report.job.key for report in scheduler.run_due(started + timedelta(hours=1))]
    # November's sessions (10th and 12th) and October's peer check happened before the groups existed.
    assert not [
        key for key in ran if key.startswith(("session_end:2026-11", "rsvp_reminder:2026-11", "peer_check"))
    ]
    assert "invites:2026-12" not in ran  # not due until 24 November


def test_the_day_25_peer_check_skips_people_who_already_recorded_the_month(
    programme: tuple[Scheduler, Clock, Store],
) -> None:
    from cards.actions import PeerRecordCommand

    scheduler, clock, _ = programme
    services = scheduler.services
    round_ = services.programme.pair_rounds()[-1]
    paired = sorted(e for pair in round_.pairs for e in pair.peers)
    answered = paired[0]
    clock.now = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
    person = services.programme.people()[answered]
    services.peers.record(
        services.programme.actor(person),
        PeerRecordCommand(round_.number, "2026-12", met=True, flags=frozenset()),
    )
    scheduler.run_due(clock.now)  # the month's other jobs so far, whatever they are
    clock.now = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    reports = {r.job.key: r for r in scheduler.run_due(clock.now)}
    assert reports["peer_check:2026-12"].queued == len(paired) - 1
    asked = sorted(
        e.message.recipient for e in services.outbox.due(clock.now, 1000) if e.message.kind == "peer_check"
    )
    assert asked == [e for e in paired if e != answered]
    # January asks everyone again: the record was December's.
    clock.now = datetime(2027, 1, 25, 9, 0, tzinfo=UTC)
    assert {r.job.key: r.queued for r in scheduler.run_due(clock.now)}["peer_check:2027-01"] == len(paired)


def test_groups_allocated_after_the_invite_day_still_get_that_months_invites() -> None:
    # December's first session is Tuesday 8th: its invites were due on 24 November.
    started = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    keys = [
        job.key for job in due_jobs([THU, TUE], SETTINGS, started + timedelta(hours=1), None, (), started)
    ]
    assert "invites:2026-12" in keys
    assert "invites:2026-11" not in keys  # November's sessions are over: nothing to invite to
    assert not [k for k in keys if k.startswith(("rsvp_reminder:2026-11", "session_end:2026-11"))]
    # Once the month's sessions have all begun, nothing is sent late.
    late = due_jobs([THU, TUE], SETTINGS, datetime(2026, 12, 11, 9, 0, tzinfo=UTC), None, (), started)
    assert "invites:2026-12" not in [job.key for job in late]
