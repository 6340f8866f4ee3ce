"""Which programme-clock jobs have run: one record per job occurrence, by the job's month."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from programme.records import JobRun
from repositories.personal import PersonalTable, nothing
from store import Store

JobId = tuple[str | None, str]  # (month, job key)
JOB_RUNS = "job_runs"  # by month of the job ("none" for jobs of no month): job key -> ran_at, queued, note


def job_run_to_doc(run: JobRun) -> dict[str, Any]:
    return {"ran_at": run.ran_at.isoformat(), "queued": run.queued, "note": run.note}


class JobRunsRepository:
    """The record that a job ran: written after its messages, so a crash re-runs it (idempotently)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._log = store.log(JOB_RUNS)

    def has_run(self, month: str | None, key: str) -> bool:
        """Whether the job occurrence was recorded."""
        return self._log.get(month or "none", key) is not None

    def record_new(self, runs: Mapping[JobId, JobRun]) -> list[JobId]:
        """Record runs not recorded yet (one write per month); returns those this call recorded."""
        ours: list[JobId] = []
        with self._store.transaction():
            by_month: dict[str, dict[str, Mapping[str, Any]]] = {}
            for (month, key), run in runs.items():
                if not self.has_run(month, key):
                    by_month.setdefault(month or "none", {})[key] = job_run_to_doc(run)
                    ours.append((month, key))
            for period, docs in by_month.items():
                self._log.put_many(period, docs)
        return ours


# When each job ran and how many messages it queued: nothing about anyone.
PERSONAL_TABLES = (PersonalTable(JOB_RUNS, nothing),)
