"""The outbox: every outbound message is recorded before it is sent (service/outbox_drainer.py delivers it).

A decision made twice is recorded once (the key is an idempotency key), and a crash between
"decided" and "sent" loses nothing: the entry stays pending until its outcome is durable, so a
restart re-sends at most the entries that were in flight.

Store layout, every log partitioned by the message's period (programme month):
- log "outbox": one small status record per key, rewritten on each delivery attempt;
- log "outbox_bodies": card and text, keyed by a hash of their content and never rewritten, so
  recording an attempt does not rewrite cards, and a 20,000-recipient broadcast stores its card once;
- log "outbox_changes": a counter per period bumped by every enqueue, so an Outbox notices what
  another process enqueued by reading one small file, not every period;
- journal "outbox_outcomes": the outcome of each delivery attempt, appended (one fsync per group
  commit) and read as an overlay on "outbox"; folded into "outbox" once a period has many, so a
  20,000-message broadcast writes its outcomes once instead of rewriting shards per commit.
`<db>.outbox.lock` is the delivery lease: one drainer per store at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import heapq
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from store import Store
from support.journal import JournalPosition

logger = logging.getLogger(__name__)

# The outbox's logs: named here only (the privacy tools walk them by these names).
OUTBOX_LOG = _ENTRIES = "outbox"
OUTBOX_BODIES_LOG = _BODIES = "outbox_bodies"
OUTBOX_CHANGES_LOG = _CHANGES = "outbox_changes"
_SHARDS = 64
# Messages per transaction: each chunk rewrites every shard it touches once, so chunks are large;
# recording 10,000 messages holds the store's lock for about a second.
_ENQUEUE_CHUNK = 10_000
_OUTCOMES = "outbox_outcomes"
_FOLD_AT = 50_000  # outcomes in a period's journal before they are folded into the entries
_OUTCOME_FIELDS = ("status", "attempts", "not_before", "sent_at", "activity_id", "last_error")
_CHANGES_PERIOD = "periods"  # the one partition of the changes log: key = period, doc = {"seq": n}


class Status(StrEnum):
    """Where an outbox entry stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, not {value!r}")
    return value


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one person, decided by the core; `key` makes deciding it twice harmless."""

    key: str  # idempotency key, e.g. "intro:2026-11:thu-coach-1:ann@x.org"
    period: str  # programme month it belongs to, e.g. "2026-11": the store partition
    recipient: str  # the person's email
    kind: str  # "intro", "rsvp_reminder", "checkout", "escalation", "announcement", ...
    channel: str = "teams"
    card: dict[str, Any] | None = None  # Adaptive Card
    text: str = ""  # plain text, or the fallback and notification summary of the card
    data: dict[str, Any] | None = None  # structured payload of email messages (an invite, a mail)
    batch: str | None = None  # groups the messages of e.g. one announcement, for counts

    def __post_init__(self) -> None:
        if not (self.key and self.period and self.recipient and self.kind and self.channel):
            raise ValueError("a message needs a key, period, recipient, kind and channel")
        if self.card is None and not self.text and self.data is None:
            raise ValueError(f"message {self.key!r} has no card, text or data")


@dataclass(frozen=True)
class OutboxEntry:
    """A recorded message and its delivery state. `last_error` is a status code or fixed reason."""

    message: OutboundMessage
    status: Status
    attempts: int
    not_before: datetime
    created_at: datetime
    sent_at: datetime | None = None
    activity_id: str | None = None
    last_error: str | None = None
    body_key: str = field(default="", repr=False)  # where the card and text are stored

    def sent(self, activity_id: str, now: datetime) -> OutboxEntry:
        """This entry after a successful delivery."""
        return replace(
            self,
            status=Status.SENT,
            attempts=self.attempts + 1,
            sent_at=_aware(now, "now"),
            activity_id=activity_id,
        )

    def retry(self, not_before: datetime, error_code: str) -> OutboxEntry:
        """This entry after a failed attempt worth repeating at `not_before`."""
        return replace(
            self,
            status=Status.PENDING,
            attempts=self.attempts + 1,
            not_before=_aware(not_before, "not_before"),
            last_error=error_code,
        )

    def failed(self, error_code: str) -> OutboxEntry:
        """This entry after a final failure."""
        return replace(self, status=Status.FAILED, attempts=self.attempts + 1, last_error=error_code)

    def unreachable(self, error_code: str) -> OutboxEntry:
        """This entry when the recipient cannot be reached on its channel."""
        return replace(self, status=Status.UNREACHABLE, attempts=self.attempts + 1, last_error=error_code)


def body_key(body: Mapping[str, Any]) -> str:
    """A body's content address: entries point at their body by it, so equal bodies are stored once."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _body(message: OutboundMessage) -> tuple[str, dict[str, Any]]:
    body = {"card": message.card, "text": message.text, "data": message.data}
    return body_key(body), body


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _status_doc(entry: OutboxEntry) -> dict[str, Any]:
    message = entry.message
    return {
        "kind": message.kind,
        "recipient": message.recipient,
        "channel": message.channel,
        "batch": message.batch,
        "body": entry.body_key,
        "status": entry.status.value,
        "attempts": entry.attempts,
        "not_before": _iso(entry.not_before),
        "created_at": _iso(entry.created_at),
        "sent_at": _iso(entry.sent_at),
        "activity_id": entry.activity_id,
        "last_error": entry.last_error,
    }


def _entry_from_docs(period: str, key: str, doc: Mapping[str, Any], body: Mapping[str, Any]) -> OutboxEntry:
    message = OutboundMessage(
        key=key,
        period=period,
        recipient=doc["recipient"],
        kind=doc["kind"],
        channel=doc["channel"],
        card=body["card"],
        text=body["text"],
        data=body.get("data"),
        batch=doc["batch"],
    )
    return OutboxEntry(
        message=message,
        status=Status(doc["status"]),
        attempts=doc["attempts"],
        not_before=datetime.fromisoformat(doc["not_before"]),
        created_at=datetime.fromisoformat(doc["created_at"]),
        sent_at=_time(doc["sent_at"]),
        activity_id=doc["activity_id"],
        last_error=doc["last_error"],
        body_key=doc["body"],
    )


@dataclass
class _Buffer:
    """Messages collected by `Outbox.collecting`, by key (the first decision for a key wins)."""

    messages: dict[tuple[str, str], OutboundMessage] = field(default_factory=dict)
    now: datetime | None = None

    def add(self, outbox: Outbox, messages: list[OutboundMessage], now: datetime) -> list[str]:
        self.now = self.now or now
        fresh: list[str] = []
        for message in messages:
            at = (message.period, message.key)
            if at in self.messages or outbox._is_recorded(*at):
                continue
            self.messages[at] = message
            fresh.append(message.key)
        return fresh


class Outbox:
    """Durable record of outbound messages, with an in-memory index of the pending ones.

    Safe to share between threads (every method holds the store's lock) and between processes
    on the same store (the index follows other processes' enqueues through the change counters).
    Only the `recent_periods` latest periods are scanned for pending entries and batch counts.
    """

    def __init__(self, store: Store, *, recent_periods: int = 3) -> None:
        if recent_periods < 1:
            raise ValueError("recent_periods must be at least 1")
        self._store = store
        # Per period at 20,000 staff: a broadcast, invites, reminders and prompts, ~100k entries.
        self._entries = store.log(_ENTRIES, new_shards=_SHARDS)
        self._bodies = store.log(_BODIES, new_shards=_SHARDS)
        self._changes = store.log(_CHANGES, shards=1)
        self._outcomes = store.journal(_OUTCOMES)
        self._collecting = threading.local()
        # period -> key -> the latest outcome recorded in the journal, and where reading stopped
        self._overlay: dict[str, dict[str, dict[str, Any]]] = {}
        self._overlay_at: dict[str, JournalPosition | None] = {}
        self._recent_periods = recent_periods
        # period -> key -> (not_before in POSIX seconds, channel) of every pending entry of the
        # indexed periods: the channel lets each delivery lane pick its own entries from the index
        self._pending: dict[str, dict[str, tuple[float, str]]] = {}
        # period -> change counter the index of that period reflects
        self._seen: dict[str, int] = {}

    def enqueue(
        self, messages: Iterable[OutboundMessage], now: datetime, *, immediate: bool = False
    ) -> list[str]:
        """Record messages as pending, skipping keys already recorded; returns the keys recorded.

        Large lists are recorded in chunks, each its own short transaction; every message is
        recorded at most once whatever happens between them. Inside `collecting` messages wait
        for the end of the block, unless `immediate` (for messages whose decision was stored
        together with them, such as a meeting's new sequence number).
        """
        now = _aware(now, "now")
        pending = list(messages)
        buffer: _Buffer | None = getattr(self._collecting, "buffer", None)
        if buffer is not None and not immediate:
            return buffer.add(self, pending, now)
        return self._record_new(pending, now)

    def _record_new(self, messages: list[OutboundMessage], now: datetime) -> list[str]:
        """Record messages in chunks, each its own transaction; returns the keys recorded."""
        recorded: list[str] = []
        for start in range(0, len(messages), _ENQUEUE_CHUNK):
            recorded.extend(self._enqueue_chunk(messages[start : start + _ENQUEUE_CHUNK], now))
        return recorded

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Within this block (in this thread), `enqueue` only collects; everything is recorded at its end.

        A run of many small jobs (a reminder per group) then writes each shard once, not once per
        job. Keys are returned as recorded when they were not in the outbox at collection time.
        Callers record that the jobs ran only after the block: a crash inside it loses nothing,
        because the jobs run again and enqueueing is idempotent.
        """
        if getattr(self._collecting, "buffer", None) is not None:
            yield  # nested: the outer block records
            return
        buffer = _Buffer()
        self._collecting.buffer = buffer
        try:
            yield
        finally:
            self._collecting.buffer = None
        if buffer.now is not None:  # set by the first message collected
            self._record_new(list(buffer.messages.values()), buffer.now)

    def _is_recorded(self, period: str, key: str) -> bool:
        return self._entries.get(period, key) is not None

    def _enqueue_chunk(self, messages: list[OutboundMessage], now: datetime) -> list[str]:
        by_period: dict[str, dict[str, OutboundMessage]] = {}
        for message in messages:
            by_period.setdefault(message.period, {}).setdefault(message.key, message)
        recorded: list[str] = []
        with self._store.transaction():  # check-then-write must not interleave with another writer
            changes = self._changes.all(_CHANGES_PERIOD)
            for period, batch in by_period.items():
                fresh = [m for key, m in batch.items() if self._entries.get(period, key) is None]
                if not fresh:
                    continue
                bodies: dict[str, dict[str, Any]] = {}
                docs: dict[str, dict[str, Any]] = {}
                for message in fresh:
                    body_key, body = _body(message)
                    bodies[body_key] = body
                    entry = OutboxEntry(message, Status.PENDING, 0, now, now, body_key=body_key)
                    docs[message.key] = _status_doc(entry)
                # Bodies first: an entry must never point at a body that is not there yet.
                self._bodies.put_many(
                    period, {k: b for k, b in bodies.items() if self._bodies.get(period, k) is None}
                )
                self._entries.put_many(period, docs)
                seq = changes.get(period, {}).get("seq", 0)
                self._changes.put(_CHANGES_PERIOD, period, {"seq": seq + 1})
                # If the index was current before this write, this write is all that changed.
                if self._seen.get(period, 0) == seq:
                    self._seen[period] = seq + 1
                    index = self._pending.setdefault(period, {})
                    index.update({key: (now.timestamp(), doc["channel"]) for key, doc in docs.items()})
                recorded.extend(docs)
        return recorded

    def _recent(self, changes: Mapping[str, Any]) -> list[str]:
        return sorted(changes)[-self._recent_periods :]

    def _sync_index(self) -> None:
        changes = self._changes.all(_CHANGES_PERIOD)
        recent = self._recent(changes)
        for period in set(self._pending) - set(recent):
            del self._pending[period]
            self._seen.pop(period, None)
        for period in recent:
            seq = changes[period]["seq"]
            if self._seen.get(period) != seq:
                self._pending[period] = {
                    key: (datetime.fromisoformat(doc["not_before"]).timestamp(), doc["channel"])
                    for _, key, doc in self._current_records([period])
                    if doc["status"] == Status.PENDING
                }
                self._seen[period] = seq

    def _current_records(self, periods: Iterable[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(period, key, record as it stands now: the entry with its latest journalled outcome)."""
        for period in periods:
            self._outcomes_of(period)
            for key, stored in self._entries.all(period).items():
                current = self._current(period, key, stored)
                if current is not None:
                    yield period, key, current

    def _recent_periods_now(self) -> list[str]:
        return self._recent(self._changes.all(_CHANGES_PERIOD))

    def _outcomes_of(self, period: str) -> dict[str, dict[str, Any]]:
        """The period's latest journalled outcomes by key (reads only what was appended since)."""
        since = self._overlay_at.get(period)
        records, position = self._outcomes.read(period, since)
        if position is None or since is None or position[0] != since[0]:
            self._overlay[period] = {}  # first read, or the journal was folded and cleared
        overlay = self._overlay.setdefault(period, {})
        for record in records:
            key = record.get("key")
            if isinstance(key, str):
                overlay[key] = record
        self._overlay_at[period] = position
        return overlay

    def _current(self, period: str, key: str, doc: dict[str, Any] | None) -> dict[str, Any] | None:
        outcome = self._overlay.get(period, {}).get(key) if doc is not None else None
        if doc is None or outcome is None:
            return doc
        return {**doc, **{name: outcome.get(name) for name in _OUTCOME_FIELDS}}

    def _journal(self, period: str, docs: Mapping[str, dict[str, Any]]) -> None:
        self._outcomes.append(
            period, ({"key": key, **{f: doc.get(f) for f in _OUTCOME_FIELDS}} for key, doc in docs.items())
        )
        if len(self._outcomes_of(period)) >= _FOLD_AT:
            self.fold_outcomes(period)

    def fold_outcomes(self, period: str | None = None) -> None:
        """Write journalled outcomes into the entries and empty the journal (all periods by default)."""
        with self._store.transaction():
            for name in [period] if period else self._outcomes.periods():
                overlay = self._outcomes_of(name)
                if overlay:
                    # Entries first: a crash before the journal is cleared replays the same outcomes.
                    docs = {key: self._current(name, key, self._entries.get(name, key)) for key in overlay}
                    self._entries.put_many(name, {k: d for k, d in docs.items() if d is not None})
                self._outcomes.clear(name)
                self._overlay[name] = {}
                self._overlay_at.pop(name, None)

    def due_count(self, now: datetime) -> int:
        """How many pending entries are due at `now` (from the index: no records read)."""
        cutoff = _aware(now, "now").timestamp()
        with self._store.transaction():
            self._sync_index()
            return sum(1 for keys in self._pending.values() for at, _ in keys.values() if at <= cutoff)

    def due(
        self,
        now: datetime,
        limit: int,
        *,
        channels: Callable[[str], bool] | None = None,
        skip: Collection[tuple[str, str]] = (),
    ) -> list[OutboxEntry]:
        """Up to `limit` pending entries whose not_before has come, oldest first.

        Only entries whose channel `channels` accepts (a delivery lane's), and none whose
        (period, key) is in `skip` (the lane's entries in flight): picked from the index, so the
        records read are only the ones returned.
        """
        cutoff = _aware(now, "now").timestamp()
        entries: list[OutboxEntry] = []
        bodies: dict[tuple[str, str], dict[str, Any] | None] = {}  # a broadcast's card is read once
        with self._store.transaction():
            self._sync_index()
            candidates = heapq.nsmallest(
                limit,
                (
                    (not_before, period, key)
                    for period, keys in self._pending.items()
                    for key, (not_before, channel) in keys.items()
                    if not_before <= cutoff
                    and (channels is None or channels(channel))
                    and (period, key) not in skip
                ),
            )
            for period in {period for _, period, _ in candidates}:
                self._outcomes_of(period)
            for _, period, key in candidates:
                # The record is the truth: another process may have sent or rescheduled it.
                doc = self._current(period, key, self._entries.get(period, key))
                index = self._pending[period]
                if doc is None or doc["status"] != Status.PENDING:
                    index.pop(key, None)
                    continue
                not_before = datetime.fromisoformat(doc["not_before"]).timestamp()
                if not_before > cutoff:
                    index[key] = (not_before, doc["channel"])
                    continue
                body_at = (period, doc["body"])
                if body_at not in bodies:
                    bodies[body_at] = self._bodies.get(*body_at)
                body = bodies[body_at]
                if body is None:
                    # Only a damaged or hand-edited bodies file gets here: fail the entry, not the outbox.
                    self._journal(
                        period, {key: {**doc, "status": Status.FAILED.value, "last_error": "body missing"}}
                    )
                    index.pop(key, None)
                    continue
                entries.append(_entry_from_docs(period, key, doc, body))
        return entries

    @contextlib.contextmanager
    def delivery_lease(self) -> Iterator[bool]:
        """Hold the store's one delivery lease if it is free: yields True if the caller may deliver.

        Two drainers on one store (the bot and a CLI run, say) would both send the entries the
        other has in flight; the lease (a non-blocking lock on `<db>.outbox.lock`) lets one drain
        while the other skips its turn. Held per drain pass, so a crashed holder frees it at once.
        """
        fd = os.open(self._store.path + ".outbox.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def record(self, entries: Iterable[OutboxEntry]) -> None:
        """Durably store updated entries: one write per period and shard touched."""
        by_period: dict[str, dict[str, OutboxEntry]] = {}
        for entry in entries:
            by_period.setdefault(entry.message.period, {})[entry.message.key] = entry
        with self._store.transaction():
            for period, updates in by_period.items():
                self._journal(period, {key: _status_doc(e) for key, e in updates.items()})
                index = self._pending.get(period)
                if index is None:
                    continue  # not indexed (yet): the next sync reads it from the store
                for key, entry in updates.items():
                    if entry.status is Status.PENDING:
                        index[key] = (entry.not_before.timestamp(), entry.message.channel)
                    else:
                        index.pop(key, None)

    def mark_sent(self, entry: OutboxEntry, activity_id: str, now: datetime) -> OutboxEntry:
        """Record a successful delivery."""
        updated = entry.sent(activity_id, now)
        self.record([updated])
        return updated

    def mark_retry(self, entry: OutboxEntry, not_before: datetime, error_code: str) -> OutboxEntry:
        """Record a failed attempt to repeat at `not_before`."""
        updated = entry.retry(not_before, error_code)
        self.record([updated])
        return updated

    def mark_failed(self, entry: OutboxEntry, error_code: str) -> OutboxEntry:
        """Record a final failure."""
        updated = entry.failed(error_code)
        self.record([updated])
        return updated

    def mark_unreachable(self, entry: OutboxEntry, error_code: str) -> OutboxEntry:
        """Record that the recipient cannot be reached on the entry's channel."""
        updated = entry.unreachable(error_code)
        self.record([updated])
        return updated

    def get(self, period: str, key: str) -> OutboxEntry | None:
        """The entry recorded under `key` in `period`, or None."""
        with self._store.transaction():
            self._outcomes_of(period)
            doc = self._current(period, key, self._entries.get(period, key))
            body = self._bodies.get(period, doc["body"]) if doc else None
        if doc is None or body is None:
            return None
        return _entry_from_docs(period, key, doc, body)

    def records(self, period: str | None = None) -> dict[str, dict[str, Any]]:
        """Each entry's current status record (recipient, kind, status, attempts...) by key.

        One period, or every period when None. For tools and tests: what was decided and what
        became of it, without knowing how the outbox stores it.
        """
        with self._store.transaction():
            periods = [period] if period else self._entries.periods()
            return {key: doc for _, key, doc in self._current_records(periods)}

    def problems(self) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
        """Recent entries that failed, by (kind, fixed reason), and those waiting for a retry, by kind."""
        failed: Counter[tuple[str, str]] = Counter()
        retrying: Counter[str] = Counter()
        with self._store.transaction():
            for _, _, doc in self._current_records(self._recent_periods_now()):
                if doc["status"] == Status.FAILED:
                    failed[(str(doc["kind"]), str(doc.get("last_error") or "failed"))] += 1
                elif doc["status"] == Status.PENDING and doc.get("attempts"):
                    retrying[str(doc["kind"])] += 1
        return dict(failed), dict(retrying)

    def batch_progress(self, batch: str) -> tuple[dict[str, int], float | None]:
        """A batch's counts by status (recent periods), and the messages a second delivered so far
        (first to latest delivery; None before two)."""
        counts = dict.fromkeys((status.value for status in Status), 0)
        sent: list[datetime] = []
        with self._store.transaction():
            for _, _, doc in self._current_records(self._recent_periods_now()):
                if doc["batch"] == batch:
                    counts[doc["status"]] += 1
                    if doc.get("sent_at"):
                        sent.append(datetime.fromisoformat(doc["sent_at"]))
        if len(sent) < 2 or max(sent) == min(sent):
            return counts, None
        return counts, (len(sent) - 1) / (max(sent) - min(sent)).total_seconds()

    def batch_counts(self, batch: str) -> dict[str, int]:
        """How many of a batch's messages are sent, failed, unreachable and pending (recent periods)."""
        return self.batch_progress(batch)[0]
