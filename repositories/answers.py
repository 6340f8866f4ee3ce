"""What people answered, per period: RSVPs, registers, check-outs, peer meetings and goals.

Each is a log partitioned by period and sharded by key, so recording one answer rewrites a few
hundred of that period's records, whatever the size of the organisation. RSVPs, registers and
check-outs are partitioned by session period (`programme.sessions`: the month, "2027-03", for a
monthly programme; the session's date, "2027-03-11", every N weeks), peer meetings by month, goals
by quarter. These classes are the only code that knows the logs' names and key formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from programme.answers import AbsenceReason, Flag, Goal, RsvpAnswer
from programme.privacy import written_before
from programme.records import AttendanceRegister, Checkout, PeerMeeting, QuarterGoals, Rsvp
from repositories.personal import PersonalTable, Subject, drop_if, key_is_email, own_by_email_key
from store import PartitionedLog, Store

ANSWER_SHARDS = 32  # ~300 answers a shard for a month of 20,000 staff
RSVPS = "rsvps"  # by month: "group:email" -> answer, reason, note, answered_at
ATTENDANCE = "attendance"  # by month: group -> register (present, absent, recorded_by, recorded_at)
CHECKOUTS = "checkouts"  # by month: "group:email" -> check-out (confidential)
PEER_MEETINGS = "peer_meetings"  # by month: "round:email" -> met, flags
GOALS = "goals"  # by quarter: email -> goals, training needs, capacity
Doc = dict[str, Any]
R = TypeVar("R")


def answers_log(store: Store, name: str) -> PartitionedLog:
    """The answer log `name` (created with ANSWER_SHARDS shards if new)."""
    return store.log(name, new_shards=ANSWER_SHARDS)


# -- document mapping ---------------------------------------------------------------------------------


def parse_moment(value: Any) -> datetime | None:
    """A stored ISO timestamp as an aware datetime (one written without an offset: UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def moment_text(moment: datetime | None) -> str | None:
    """How a timestamp is stored."""
    return moment.isoformat() if moment is not None else None


def _flags(value: Any) -> frozenset[Flag]:
    return frozenset(Flag(f) for f in value or ())


def rsvp_from_doc(doc: Doc) -> Rsvp:
    reason = doc.get("reason")
    return Rsvp(
        answer=RsvpAnswer(doc["answer"]),
        reason=AbsenceReason(reason) if reason else None,
        note=doc.get("note") or "",
        answered_at=parse_moment(doc.get("answered_at")),
    )


def rsvp_to_doc(rsvp: Rsvp) -> Doc:
    return {
        "answer": rsvp.answer.value,
        "reason": rsvp.reason.value if rsvp.reason else None,
        "note": rsvp.note,
        "answered_at": moment_text(rsvp.answered_at),
    }


def register_from_doc(doc: Doc) -> AttendanceRegister:
    return AttendanceRegister(
        present=frozenset(doc.get("present") or ()),
        absent=frozenset(doc.get("absent") or ()),
        recorded_by=doc.get("recorded_by"),
        recorded_at=parse_moment(doc.get("recorded_at")),
    )


def register_to_doc(register: AttendanceRegister) -> Doc:
    return {
        "present": sorted(register.present),
        "absent": sorted(register.absent),
        "recorded_by": register.recorded_by,
        "recorded_at": moment_text(register.recorded_at),
    }


def checkout_from_doc(doc: Doc) -> Checkout:
    return Checkout(
        helpful=doc.get("helpful") or "",
        not_helpful=doc.get("not_helpful") or "",
        rating=doc.get("rating"),
        flags=_flags(doc.get("flags")),
        at=parse_moment(doc.get("at")),
    )


def checkout_to_doc(checkout: Checkout) -> Doc:
    return {
        "helpful": checkout.helpful,
        "not_helpful": checkout.not_helpful,
        "rating": checkout.rating,
        "flags": sorted(f.value for f in checkout.flags),
        "at": moment_text(checkout.at),
    }


def peer_meeting_from_doc(doc: Doc) -> PeerMeeting:
    return PeerMeeting(
        met=bool(doc.get("met")), flags=_flags(doc.get("flags")), at=parse_moment(doc.get("at"))
    )


def peer_meeting_to_doc(record: PeerMeeting) -> Doc:
    return {"met": record.met, "flags": sorted(f.value for f in record.flags), "at": moment_text(record.at)}


def goals_from_doc(doc: Doc) -> QuarterGoals:
    goals = tuple(
        Goal(str(g.get("text") or ""), bool(g.get("shared")))
        for g in doc.get("goals") or ()
        if isinstance(g, dict)
    )
    round_number = doc.get("round")
    return QuarterGoals(
        goals=goals,
        training_needs=doc.get("training_needs") or "",
        capacity_now=doc.get("capacity_now"),
        capacity_plan=doc.get("capacity_plan") or "",
        round=round_number if isinstance(round_number, int) else None,
        at=parse_moment(doc.get("at")),
    )


def goals_to_doc(record: QuarterGoals) -> Doc:
    doc: Doc = {
        "goals": [{"text": g.text, "shared": g.shared} for g in record.goals],
        "training_needs": record.training_needs,
        "capacity_now": record.capacity_now,
        "capacity_plan": record.capacity_plan,
    }
    if record.round is not None:  # records from before rounds were kept have none
        doc["round"] = record.round
    doc["at"] = moment_text(record.at)
    return doc


# -- the logs -----------------------------------------------------------------------------------------


class _AnswerLog(Generic[R]):
    """One answer log, registered on its first write: reading (a report) never creates one."""

    def __init__(
        self, store: Store, name: str, decode: Callable[[Doc], R], encode: Callable[[R], Doc]
    ) -> None:
        self._store = store
        self._name = name
        self._decode = decode
        self._encode = encode
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

    def _get(self, period: str, key: str) -> R | None:
        doc = self._log.get(period, key)
        return self._decode(doc) if doc is not None else None

    def _put(self, period: str, key: str, record: R) -> None:
        self._log.put(period, key, self._encode(record))

    def periods(self) -> list[str]:
        """Periods (months, or quarters for goals) that have records."""
        log = self._existing()
        return log.periods() if log is not None else []


class _ByGroupAndPerson(_AnswerLog[R]):
    """Records keyed "group:email" within a month."""

    def of_month(self, month: str) -> list[tuple[str, str, R]]:
        """Every record of a month as (group id, email, record)."""
        records = []
        for key, doc in self._period(month).items():
            group_id, sep, email = key.partition(":")
            if sep:
                records.append((group_id, email, self._decode(doc)))
        return records

    def get(self, month: str, group_id: str, email: str) -> R | None:
        """One person's record for a group's month."""
        return self._get(month, f"{group_id}:{email}")

    def of_members(self, month: str, group_id: str, members: Iterable[str]) -> dict[str, R]:
        """The records of these members, by email (one lookup each, not a scan of the month)."""
        found = {email: self._get(month, f"{group_id}:{email}") for email in members}
        return {email: record for email, record in found.items() if record is not None}

    def put(self, month: str, group_id: str, email: str, record: R) -> None:
        """Record (or replace) one person's record."""
        self._put(month, f"{group_id}:{email}", record)


class RsvpsRepository(_ByGroupAndPerson[Rsvp]):
    """RSVP answers."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, RSVPS, rsvp_from_doc, rsvp_to_doc)


class CheckoutsRepository(_ByGroupAndPerson[Checkout]):
    """Check-outs (confidential: shown to nobody, counted in reports)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, CHECKOUTS, checkout_from_doc, checkout_to_doc)


class RegistersRepository(_AnswerLog[AttendanceRegister]):
    """Each group's register per month."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, ATTENDANCE, register_from_doc, register_to_doc)

    def of_month(self, month: str) -> dict[str, AttendanceRegister]:
        """Every register of a month, by group id."""
        return {group_id: self._decode(doc) for group_id, doc in self._period(month).items()}

    def get(self, month: str, group_id: str) -> AttendanceRegister | None:
        """The group's register for the month."""
        return self._get(month, group_id)

    def put(self, month: str, group_id: str, register: AttendanceRegister) -> None:
        """Record (or correct) a register."""
        self._put(month, group_id, register)


class PeerRecordsRepository(_AnswerLog[PeerMeeting]):
    """Whether each person met their peer, per month and pairing round."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, PEER_MEETINGS, peer_meeting_from_doc, peer_meeting_to_doc)

    def get(self, month: str, round_number: int, email: str) -> PeerMeeting | None:
        """One person's record for the month."""
        return self._get(month, f"{round_number}:{email}")

    def put(self, month: str, round_number: int, email: str, record: PeerMeeting) -> None:
        """Record (or change) one person's record."""
        self._put(month, f"{round_number}:{email}", record)

    def of_month(self, month: str) -> dict[tuple[int, str], PeerMeeting]:
        """Every record of a month by (round, email)."""
        records: dict[tuple[int, str], PeerMeeting] = {}
        for key, doc in self._period(month).items():
            round_text, _, email = key.partition(":")
            if round_text.isdigit():
                records[(int(round_text), email)] = self._decode(doc)
        return records

    def months(self) -> list[str]:
        """Months that have records."""
        return self.periods()


class GoalsRepository(_AnswerLog[QuarterGoals]):
    """Quarterly goals per person (private ones are seen by their owner only)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, GOALS, goals_from_doc, goals_to_doc)

    def get(self, quarter: str, email: str) -> QuarterGoals | None:
        """One person's goals for a quarter."""
        return self._get(quarter, email)

    def of_quarter(self, quarter: str) -> dict[str, QuarterGoals]:
        """Everyone's goals for a quarter, by email."""
        return {email: self._decode(doc) for email, doc in self._period(quarter).items()}

    def setters(self, quarter: str) -> frozenset[str]:
        """Who set goals in a quarter (without decoding them)."""
        return frozenset(self._period(quarter))

    def put(self, quarter: str, email: str, record: QuarterGoals) -> None:
        """Record (or revise) a person's goals."""
        self._put(quarter, email, record)


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
