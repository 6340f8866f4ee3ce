"""What people answered, per period: RSVPs, registers, check-outs, peer meetings and goals.

Each is a log partitioned by month (goals: by quarter) and sharded by key, so recording one answer
rewrites a few hundred of that period's records, whatever the size of the organisation. These
classes are the only code that knows the logs' names and key formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from programme.privacy import written_before
from repositories.personal import PersonalTable, Subject, drop_if, key_is_email, own_by_email_key
from store import PartitionedLog, Store

ANSWER_SHARDS = 32  # ~300 answers a shard for a month of 20,000 staff
RSVPS = "rsvps"  # by month: "group:email" -> answer, reason, note, answered_at
ATTENDANCE = "attendance"  # by month: group -> register (present, absent, recorded_by, recorded_at)
CHECKOUTS = "checkouts"  # by month: "group:email" -> check-out (confidential)
PEER_MEETINGS = "peer_meetings"  # by month: "round:email" -> met, flags
GOALS = "goals"  # by quarter: email -> goals, training needs, capacity
Doc = dict[str, Any]


def answers_log(store: Store, name: str) -> PartitionedLog:
    """The answer log `name` (created with ANSWER_SHARDS shards if new)."""
    return store.log(name, new_shards=ANSWER_SHARDS)


class _AnswerLog:
    """One answer log, registered on its first write: reading (a report) never creates one."""

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self._name = name
        self._opened: PartitionedLog | None = None

    @property
    def _log(self) -> PartitionedLog:
        if self._opened is None:
            self._opened = answers_log(self._store, self._name)
        return self._opened

    def _existing(self) -> PartitionedLog | None:
        if self._opened is None and not self._store.has_log(self._name):
            return None
        return self._log

    def _period(self, period: str) -> dict[str, Doc]:
        log = self._existing()
        return log.all(period) if log is not None and period in log.periods() else {}

    def periods(self) -> list[str]:
        """Periods (months, or quarters for goals) that have records."""
        log = self._existing()
        return log.periods() if log is not None else []


class _ByGroupAndPerson(_AnswerLog):
    """Records keyed "group:email" within a month."""

    def of_month(self, month: str) -> list[tuple[str, str, Doc]]:
        """Every record of a month as (group id, email, record)."""
        records = []
        for key, doc in self._period(month).items():
            group_id, sep, email = key.partition(":")
            if sep:
                records.append((group_id, email, doc))
        return records

    def get(self, month: str, group_id: str, email: str) -> Doc | None:
        """One person's record for a group's month."""
        return self._log.get(month, f"{group_id}:{email}")

    def of_members(self, month: str, group_id: str, members: Iterable[str]) -> dict[str, Doc]:
        """The records of these members, by email (one lookup each, not a scan of the month)."""
        found = {email: self._log.get(month, f"{group_id}:{email}") for email in members}
        return {email: doc for email, doc in found.items() if doc is not None}

    def put(self, month: str, group_id: str, email: str, doc: Mapping[str, Any]) -> None:
        """Record (or replace) one person's record."""
        self._log.put(month, f"{group_id}:{email}", doc)


class RsvpsRepository(_ByGroupAndPerson):
    """RSVP answers."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, RSVPS)


class CheckoutsRepository(_ByGroupAndPerson):
    """Check-outs (confidential: shown to nobody, counted in reports)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, CHECKOUTS)


class RegistersRepository(_AnswerLog):
    """Each group's register per month."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, ATTENDANCE)

    def of_month(self, month: str) -> dict[str, Doc]:
        """Every register of a month, by group id."""
        return self._period(month)

    def get(self, month: str, group_id: str) -> Doc | None:
        """The group's register for the month."""
        return self._log.get(month, group_id)

    def put(self, month: str, group_id: str, doc: Mapping[str, Any]) -> None:
        """Record (or correct) a register."""
        self._log.put(month, group_id, doc)


class PeerRecordsRepository(_AnswerLog):
    """Whether each person met their peer, per month and pairing round."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, PEER_MEETINGS)

    def get(self, month: str, round_number: int, email: str) -> Doc | None:
        """One person's record for the month."""
        return self._log.get(month, f"{round_number}:{email}")

    def put(self, month: str, round_number: int, email: str, doc: Mapping[str, Any]) -> None:
        """Record (or change) one person's record."""
        self._log.put(month, f"{round_number}:{email}", doc)

    def of_month(self, month: str) -> dict[tuple[int, str], Doc]:
        """Every record of a month by (round, email)."""
        records: dict[tuple[int, str], Doc] = {}
        for key, doc in self._period(month).items():
            round_text, _, email = key.partition(":")
            if round_text.isdigit():
                records[(int(round_text), email)] = doc
        return records

    def months(self) -> list[str]:
        """Months that have records."""
        return self.periods()


class GoalsRepository(_AnswerLog):
    """Quarterly goals per person (private ones are seen by their owner only)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, GOALS)

    def get(self, quarter: str, email: str) -> Doc | None:
        """One person's goals for a quarter."""
        return self._log.get(quarter, email)

    def of_quarter(self, quarter: str) -> dict[str, Doc]:
        """Everyone's goals for a quarter, by email."""
        return self._period(quarter)

    def put(self, quarter: str, email: str, doc: Mapping[str, Any]) -> None:
        """Record (or revise) a person's goals."""
        self._log.put(quarter, email, doc)


# -- free-text retention --------------------------------------------------------------------------------


def _purge_checkout(doc: Doc) -> Doc:
    return {**doc, "helpful": "", "not_helpful": ""} if doc.get("helpful") or doc.get("not_helpful") else doc


def _purge_rsvp(doc: Doc) -> Doc:
    return {**doc, "note": ""} if doc.get("note") else doc


def _purge_goals(doc: Doc) -> Doc:
    goals = doc.get("goals")
    new: Doc = dict(doc)
    if isinstance(goals, list):
        new["goals"] = [{**g, "text": ""} if isinstance(g, dict) else g for g in goals]
    for text_field in ("training_needs", "capacity_plan"):
        if doc.get(text_field):
            new[text_field] = ""
    return new


# log -> (field holding when it was written, what the record keeps once its text is gone)
FREE_TEXT: dict[str, tuple[str, Callable[[Doc], Doc]]] = {
    CHECKOUTS: ("at", _purge_checkout),  # keeps rating and flags
    RSVPS: ("answered_at", _purge_rsvp),  # keeps answer and reason
    GOALS: ("at", _purge_goals),  # keeps how many goals, which are shared, capacity now
}


def purge_free_text(store: Store, cutoff: datetime) -> int:
    """Blank free-text answers written before `cutoff`; returns records changed.

    Facts stay (attendance, ratings, flags, RSVP answers, met, goal counts). Each period is
    rewritten in its own short transaction, so answers arriving meanwhile are never overwritten.
    """
    changed = 0
    for name, (stamp_field, purge) in FREE_TEXT.items():
        if not store.has_log(name):
            continue
        log = store.log(name)
        for period in log.periods():
            with store.transaction():
                updates: dict[str, Doc] = {}
                for key, doc in log.all(period).items():
                    if written_before(doc.get(stamp_field), cutoff):
                        purged = purge(doc)
                        if purged != doc:
                            updates[key] = purged
                log.put_many(period, updates)
            changed += len(updates)
    return changed


# -- personal data (service/privacy.py) ---------------------------------------------------------------


def _tail_is_email(key: str, doc: Doc, subject: Subject) -> bool:
    """The record is keyed "prefix:email" with the person's email."""
    return subject.identity.is_email(key.partition(":")[2])


def _own_by_tail(label: str) -> Callable[[str, Doc, Subject], Doc | None]:
    def rule(key: str, doc: Doc, subject: Subject) -> Doc | None:
        if not _tail_is_email(key, doc, subject):
            return None
        return {label: key.partition(":")[0], **doc}

    return rule


def _register_view(key: str, doc: Doc, subject: Subject) -> Doc | None:
    me = subject.identity.is_email
    view: Doc = {}
    if any(me(e) for e in doc.get("present") or []):
        view["you_were"] = "present"
    elif any(me(e) for e in doc.get("absent") or []):
        view["you_were"] = "absent"
    if me(doc.get("recorded_by")):
        view["you_recorded_it"] = {
            "recorded_at": doc.get("recorded_at"),
            "present_count": len(doc.get("present") or []),
            "absent_count": len(doc.get("absent") or []),
        }
    return {"group": key, **view} if view else None


# Answers are the person's own and go with them; registers keep their counts (the placeholder).
PERSONAL_TABLES = (
    PersonalTable(RSVPS, _own_by_tail("group"), drop_if(_tail_is_email)),
    PersonalTable(CHECKOUTS, _own_by_tail("group"), drop_if(_tail_is_email)),
    PersonalTable(PEER_MEETINGS, _own_by_tail("round"), drop_if(_tail_is_email)),
    PersonalTable(GOALS, own_by_email_key, drop_if(key_is_email)),
    PersonalTable(ATTENDANCE, _register_view),
)
