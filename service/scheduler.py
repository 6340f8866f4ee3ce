"""Runs the programme clock's due jobs once each: from `reflect serve` and from `reflect run-due`.

Jobs only decide and enqueue (the outbox delivers). Enqueueing is idempotent by message key, so
most jobs run without holding the store's lock: only their enqueues and the record of the run are
short transactions, and the bot and a roster import keep going meanwhile. A second process running
the same job at the same time queues nothing new. Jobs that are not idempotent (a pairing round,
the retention purge) hold the lock from the check to the record, so they run exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from programme.calendar import month_sequence
from programme.clock import Job, JobKind, due_jobs
from programme.model import active_peers
from programme.records import JobRun
from repositories.jobs import JobRunsRepository
from service.invites import Invites
from service.privacy import purge_free_text
from service.services import Services


def _months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


@dataclass(frozen=True)
class JobReport:
    """One job run: what it was and how many messages it queued."""

    job: Job
    queued: int
    note: str = ""


GOALS_BODY = (
    "It's the start of a new quarter: time for goal-setting with your peer.\n\n"
    "Plan about two hours together: two 1-hour meetings, or one 2-hour meeting. Cover:\n"
    "- personal goals for the quarter (each can stay private or be shared with the team),\n"
    "- training needs,\n"
    "- your capacity plans, working towards 80% for the next six weeks.\n\n"
    "Record it on the goal-setting card the peer reflection bot sends you in Teams (or type goals in "
    "your chat with it), where last quarter's goals are there to review."
)


@dataclass(frozen=True)
class Scheduler:
    """The programme clock's shell."""

    services: Services
    invites: Invites

    def pending(self, now: datetime) -> list[Job]:
        """Jobs due at `now` that have not run yet.

        Group jobs (invites, RSVP reminders, registers and check-outs) are for the groups of
        programmes with groups only, pair prompts (checks, nudges, goals, rotation) for programmes
        with pairs only: a pairs-only organisation sends no group invites, a groups-only one no pair
        prompts, whatever rounds or groups its data file still holds from before.
        """
        programme = self.services.programme
        with_groups = {d.id for d in programme.programmes if d.has_groups}
        groups = [g for g in programme.current_allocation().groups if g.programme in with_groups]
        current = self.services.peers.current_rounds()
        # The earliest current round: the clock's peer jobs start with it, and its rotation is due first.
        last_round = min((r.started_on for r in current), default=None)
        settings = programme.settings
        rotations = [d.settings.rotation_months for d in programme.programmes if d.has_pairs]
        if rotations:
            # The clock asks monthly from the soonest a round can end; `_rotate` rotates the ones due.
            settings = replace(settings, rotation_months=min(rotations))
        candidates = due_jobs(
            groups, settings, now, last_round, (), programme.started_at(), self.services.sessions.planner()
        )
        runs = JobRunsRepository(programme.store)
        return [job for job in candidates if not runs.has_run(job.month, job.key)]

    def run_due(self, now: datetime, progress: Callable[[int, int], None] | None = None) -> list[JobReport]:
        """Run every due job once and record it; returns what ran. `progress(done, total)` per job.

        Consecutive idempotent jobs run as one batch: their messages are recorded together (each
        outbox shard written once, not once per group), then the runs. A crash in between re-runs
        the batch, which queues nothing twice.
        """
        reports: list[JobReport] = []
        pending = self.pending(now)
        batch: list[Job] = []
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, len(pending))

        for job in pending:
            if job.kind in (JobKind.ROTATION, JobKind.RETENTION):
                reports.extend(self._run_batch(batch, now, step))
                batch = []
                reports.extend(self._run_exclusive(job, now))
                step()
            else:
                batch.append(job)
        reports.extend(self._run_batch(batch, now, step))
        reports.extend(self._keep_invites_current(now))
        return reports

    def _record_runs(self, reports: list[JobReport], now: datetime) -> list[JobReport]:
        """Record runs not recorded yet; returns the reports of those this process recorded."""
        runs = {(r.job.month, r.job.key): JobRun(now, r.queued, r.note) for r in reports}
        ours = set(JobRunsRepository(self.services.programme.store).record_new(runs))
        # The others: another process ran them at the same time, and its enqueues won.
        return [r for r in reports if (r.job.month, r.job.key) in ours]

    def _run_batch(self, jobs: list[Job], now: datetime, step: Callable[[], None]) -> list[JobReport]:
        if not jobs:
            return []
        reports: list[JobReport] = []
        with self.services.outbox.collecting():
            for job in jobs:
                reports.append(self._run(job, now))
                step()
        return self._record_runs(reports, now)

    def _run_exclusive(self, job: Job, now: datetime) -> list[JobReport]:
        # Not idempotent (a second pairing round, a second purge): checked and recorded under the lock.
        store = self.services.programme.store
        with store.transaction():
            if JobRunsRepository(store).has_run(job.month, job.key):
                return []
            return self._record_runs([self._run(job, now)], now)

    def _keep_invites_current(self, now: datetime) -> list[JobReport]:
        """After a month's invites went out, changed times or groups update them (or cancel)."""
        settings = self.services.programme.settings
        today = now.astimezone(settings.zone).date()
        reports = []
        for year, month in month_sequence(today, 2):
            key = f"{year:04d}-{month:02d}"
            if not JobRunsRepository(self.services.programme.store).has_run(key, f"invites:{key}"):
                continue
            queued = self.invites.sync_month(key)
            if queued:
                job = Job(f"invites_update:{key}", JobKind.INVITES, now, key)
                reports.append(JobReport(job, queued, "meetings updated"))
        return reports

    def _run(self, job: Job, now: datetime) -> JobReport:
        services = self.services
        settings = services.programme.settings
        if job.kind is JobKind.INVITES:
            assert job.month is not None
            return JobReport(job, self.invites.sync_month(job.month))
        if job.kind in (JobKind.RSVP_REMINDER, JobKind.SESSION_END):
            group = services.programme.group(job.group_id or "")
            period = job.session_period
            if group is None or period is None:
                return JobReport(job, 0, "group no longer exists")
            session = self.invites.sessions.session_of_period(group, period)
            if session is None:
                return JobReport(job, 0, "no session then")
            if job.kind is JobKind.RSVP_REMINDER:
                return JobReport(job, services.rsvps.send_reminders(group, session))
            queued = services.register.send_prompt(group, session)
            return JobReport(job, queued + services.checkouts.send_prompts(group, session))
        if job.kind is JobKind.PEER_CHECK:
            return JobReport(job, services.peers.send_monthly_checks())
        if job.kind is JobKind.PEER_NUDGE:
            return JobReport(job, services.peers.send_nudges())
        if job.kind is JobKind.RETENTION:
            return JobReport(
                job, 0, f"{purge_free_text(services.programme.store, settings, now)} answer(s) purged"
            )
        if job.kind is JobKind.GOALS:
            return JobReport(job, services.goals.send_prompts() + self._goal_emails(job))
        return self._rotate(job, now)

    def _rotate(self, job: Job, now: datetime) -> JobReport:
        """A new round for each programme with pairs whose current round has run its course."""
        services = self.services
        queued, notes = 0, []
        for round_ in services.peers.current_rounds():
            definition = services.programme.choose_programme(round_.programme)
            today = now.astimezone(definition.settings.zone).date()
            if _months_between(round_.started_on, today) < definition.settings.rotation_months:
                continue
            new = services.programme.rotate_pairs(today, definition.id)
            queued += services.peers.introduce_round(new)
            notes.append(f"round {new.number}")
        return JobReport(job, queued, ", ".join(notes) or "no programme due")

    def _goal_emails(self, job: Job) -> int:
        """One goal-setting email to each pair, saying what the session is for."""
        rounds = self.services.peers.current_rounds()
        if not rounds or job.month is None:
            return 0
        quarter = job.key.partition(":")[2]
        people = self.services.programme.people()
        # Leavers get no mail; a pair whose peer left has nobody to set goals with until it rotates.
        pairs = [
            peers
            for round_ in rounds
            for pair in round_.pairs
            if len(peers := active_peers(pair, people)) >= 2
        ]
        messages = [
            self.invites.mail_message(
                key=f"goals_mail:{quarter}:{'+'.join(peers)}",
                period=job.month,
                to=list(peers),
                subject=f"Quarterly goal-setting with your peer ({quarter})",
                body=GOALS_BODY,
                kind="goals_mail",
            )
            for peers in pairs
        ]
        return len(self.services.outbox.enqueue(messages, self.services.clock()))
