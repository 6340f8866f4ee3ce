"""The programme clock: which jobs are due at a moment. Pure: the shell records and runs them.

Every job has a key that names its one occurrence (e.g. "rsvp_reminder:2026-12:thu-coach-1");
the shell runs a due job only if its key has no recorded run, so after downtime each missed job
runs once and a second process finds nothing left to do.

A group's session jobs are keyed by the session's period (`programme.sessions`): the month for a
monthly programme, as v1 keyed them, and the session's date for an every-N-weeks one, so a
weekly group has a reminder and an end-of-session job per session. Invites stay one job per month:
it sends or updates the meeting requests of every session whose period falls in the month, and is
due `invite_days_before` the month's first session, so each later session of the month has its
request at least that long before it, too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from programme.calendar import month_sequence
from programme.model import Group
from programme.programmes import legacy_programme
from programme.sessions import SessionPlanner, month_key
from programme.settings import ProgrammeSettings

# Jobs older than this are not caught up: a reminder for a session months ago helps nobody.
CATCH_UP = timedelta(days=35)
RETENTION_TIME = time(3, 0)  # a quiet hour for the daily clean-up


class JobKind(StrEnum):
    INVITES = "invites"  # send or update the month's meeting requests
    RSVP_REMINDER = "rsvp_reminder"  # remind a group's non-responders
    SESSION_END = "session_end"  # register to the facilitator, check-out prompt to attendees
    PEER_CHECK = "peer_check"  # "did you meet your peer this month?"
    PEER_NUDGE = "peer_nudge"  # pairs with no meeting for 5 weeks (weekly, Mondays)
    GOALS = "goals"  # quarterly goal-setting prompt
    ROTATION = "rotation"  # a new pairing round
    RETENTION = "retention"  # delete free-text answers past the retention period (daily, 03:00)


_PEER_JOBS = frozenset({JobKind.PEER_CHECK, JobKind.PEER_NUDGE, JobKind.GOALS})


@dataclass(frozen=True)
class Job:
    """One occurrence of a job."""

    key: str
    kind: JobKind
    due: datetime
    month: str | None = None  # the programme month the job belongs to (its runs are filed by it)
    group_id: str | None = None
    period: str | None = None  # a session job's session period (None: the month's, for monthly)

    @property
    def session_period(self) -> str | None:
        """The period of the session a group job is about."""
        return self.period or self.month


def _at(day: date, settings: ProgrammeSettings) -> datetime:
    return datetime.combine(day, settings.send_time, tzinfo=settings.zone)


def _months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def jobs_between(
    groups: Iterable[Group],
    settings: ProgrammeSettings,
    start: datetime,
    end: datetime,
    last_round_start: date | None,
    planner: SessionPlanner | None = None,
) -> list[Job]:
    """Every job due in (start, end], in due order.

    `planner` places each group's sessions on its programme's cadence (default: the one programme
    `settings` describes, as v1); a month in which a group has no session has no jobs for it, and a
    month in which no group meets has no invites. Group jobs run on the group's programme's
    settings (send time, invite and reminder days); the rest on `settings`.
    """
    groups = sorted(groups, key=lambda g: g.id)
    planner = planner or SessionPlanner((legacy_programme(settings),))
    local_start = start.astimezone(settings.zone).date() - timedelta(days=1)
    # Invites for a month go out before it starts, so look one month past the window's end too.
    months = _months_between(local_start, end.astimezone(settings.zone).date()) + 3
    jobs: list[Job] = []
    for year, month in month_sequence(local_start.replace(day=1), months):
        key = f"{year:04d}-{month:02d}"
        sessions = planner.month_sessions(groups, key)
        meeting = [
            (group, session, planner.settings_of(group))
            for group in groups
            for session in sessions.get(group.id, ())
        ]
        if meeting:
            invite_at = min(
                _at(s.start.astimezone(own.zone).date() - timedelta(days=own.invite_days_before), own)
                for _, s, own in meeting
            )
            jobs.append(Job(f"invites:{key}", JobKind.INVITES, invite_at, key))
        for group, session, own in meeting:
            remind_day = session.start.astimezone(own.zone).date() - timedelta(days=own.reminder_days_before)
            # Monthly: the month itself (v1's keys); every N weeks: the session's date.
            period = session.period
            keyed = period or key
            jobs.append(
                Job(
                    f"rsvp_reminder:{keyed}:{group.id}",
                    JobKind.RSVP_REMINDER,
                    _at(remind_day, own),
                    key,
                    group.id,
                    period,
                )
            )
            jobs.append(
                Job(
                    f"session_end:{keyed}:{group.id}", JobKind.SESSION_END, session.end, key, group.id, period
                )
            )
        if last_round_start is not None:
            jobs.append(
                Job(
                    f"peer_check:{key}",
                    JobKind.PEER_CHECK,
                    _at(date(year, month, settings.peer_check_day), settings),
                    key,
                )
            )
            if month in settings.quarter_starts:
                quarter = f"{year:04d}-Q{(month - 1) // 3 + 1}"
                jobs.append(Job(f"goals:{quarter}", JobKind.GOALS, _at(date(year, month, 1), settings), key))
            if _months_between(last_round_start, date(year, month, 1)) >= settings.rotation_months:
                jobs.append(
                    Job(f"rotation:{key}", JobKind.ROTATION, _at(date(year, month, 1), settings), key)
                )
    if last_round_start is not None:
        monday = local_start - timedelta(days=local_start.weekday())
        while monday <= end.astimezone(settings.zone).date():
            iso_year, week, _ = monday.isocalendar()
            jobs.append(
                Job(
                    f"peer_nudge:{iso_year}-W{week:02d}",
                    JobKind.PEER_NUDGE,
                    _at(monday, settings),
                    month_key(monday),
                )
            )
            monday += timedelta(days=7)
    if settings.free_text_retention_days:
        day = local_start
        while day <= end.astimezone(settings.zone).date():
            at = datetime.combine(day, RETENTION_TIME, tzinfo=settings.zone)
            jobs.append(Job(f"retention:{day.isoformat()}", JobKind.RETENTION, at, month_key(day)))
            day += timedelta(days=1)
    if last_round_start is not None:
        # Peer prompts are about the current round: none for the time before it began.
        round_began = datetime.combine(last_round_start, time(0, 0), tzinfo=settings.zone)
        jobs = [j for j in jobs if j.kind not in _PEER_JOBS or j.due >= round_began]
    return sorted((j for j in jobs if start < j.due <= end), key=lambda j: (j.due, j.key))


def _session_ahead(
    groups: Sequence[Group], planner: SessionPlanner, month: str | None, now: datetime
) -> bool:
    """Whether any group's session of `month` ("YYYY-MM") has not begun at `now`."""
    if month is None:
        return False
    return any(
        session.start > now
        for sessions in planner.month_sessions(groups, month).values()
        for session in sessions
    )


def due_jobs(
    groups: Iterable[Group],
    settings: ProgrammeSettings,
    now: datetime,
    last_round_start: date | None,
    done: Iterable[str],
    started: datetime | None = None,
    planner: SessionPlanner | None = None,
) -> list[Job]:
    """Jobs due by `now` (within the catch-up window, and not before the programme started) not yet run.

    One exception to "not before the programme started": a month's invites, when groups were first
    allocated after its invite day and one of its sessions is still ahead.
    """
    groups = list(groups)
    planner = planner or SessionPlanner((legacy_programme(settings),))
    finished = set(done)
    since = now - CATCH_UP if started is None else max(now - CATCH_UP, started)
    candidates = jobs_between(groups, settings, since, now, last_round_start, planner)
    if since > now - CATCH_UP:
        # Groups allocated after a month's invite day still need that month's meeting requests (its
        # RSVP reminders point to them): an invites job missed that way runs while a session is ahead.
        missed = [
            job
            for job in jobs_between(groups, settings, now - CATCH_UP, since, None, planner)
            if job.kind is JobKind.INVITES and _session_ahead(groups, planner, job.month, now)
        ]
        candidates = sorted([*missed, *candidates], key=lambda j: (j.due, j.key))
    pending = [job for job in candidates if job.key not in finished]
    # Only the latest rotation and clean-up count: catching up on two would pair twice or scan twice.
    latest = {
        kind: [j for j in pending if j.kind is kind][-1:] for kind in (JobKind.ROTATION, JobKind.RETENTION)
    }
    return [job for job in pending if job.kind not in latest or job in latest[job.kind]]
