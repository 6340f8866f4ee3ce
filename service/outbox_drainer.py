"""The outbox drainer: delivers due entries in two lanes, Teams and email, with retries.

Lanes, because the channels differ: an email (pickup, EWS, Graph) takes far longer than a Teams
message and is not bound by Teams' rate limit. In one shared pool the emails ahead in the queue
held the slots and the Teams messages behind them waited (at 20,000 staff, 2,140 invite emails
held Teams to half its 50/s cap). Each lane has its own bound on entries in flight and reads its
own entries from the outbox, oldest due first: a stuck mailer fills only the email lane, and a
Teams 429 (which pauses the shared RateLimiter) only the Teams lane.

Pipelined, because a pass that waits for its slowest entry leaves the other workers idle: a lane
starts its next entry as soon as a slot frees, reading the outbox in batches ahead of need.

An entry holds its lane's slot until its outcome is durable (recorded through a group commit), so
a kill -9 re-sends at most the entries in flight: teams_concurrency + email_concurrency (32 + 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from service.outbox import Outbox, OutboxEntry, Status
from support.rate_limit import RateLimiter
from support.retry import RetryPolicy

logger = logging.getLogger(__name__)


class DeliveryKind(StrEnum):
    """What to do about a delivery that did not happen."""

    RETRY = "retry"  # transient: throttled, server busy, connection lost
    UNREACHABLE = "unreachable"  # the person cannot be reached on this channel
    FAIL = "fail"  # the request itself is wrong: repeating it cannot help


class DeliveryError(Exception):
    """A delivery attempt that did not deliver; `reason` is short and fixed, never message content."""

    def __init__(
        self,
        kind: DeliveryKind,
        status: int | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.reason = reason or (f"http {status}" if status is not None else kind.value)
        super().__init__(self.reason)


class Deliverer(Protocol):
    """Sends one outbox entry on its channel."""

    async def deliver(self, entry: OutboxEntry) -> str:
        """Deliver `entry`; returns the channel's id for the sent message; raises DeliveryError."""
        ...


class _GroupCommit:
    """Records outcomes in as few durable writes as the store allows.

    One write runs at a time; the outcomes that arrive during it go together in the next, so at
    50 sends/s a write covers a few outcomes and at 2,000/s a hundred or more, with no timer to tune.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._queue: asyncio.Queue[tuple[OutboxEntry, asyncio.Future[None]] | None] = asyncio.Queue()

    async def record(self, entry: OutboxEntry) -> None:
        """Return once `entry` is durable."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((entry, done))
        await done

    def close(self) -> None:
        """Let `run` return once everything queued so far is written."""
        self._queue.put_nowait(None)

    async def run(self) -> None:
        """Write queued outcomes until closed."""
        closed = False
        while not closed:
            items = [await self._queue.get()]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            closed = None in items
            batch = [item for item in items if item is not None]
            if batch:
                # The store blocks on fsync: keep it off the event loop.
                await asyncio.to_thread(self._outbox.record, [entry for entry, _ in batch])
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


def _is_email(channel: str) -> bool:
    return channel == "email"


def _is_not_email(channel: str) -> bool:
    return channel != "email"  # ChannelDeliverer sends every other channel to Teams


async def _first_of(*events: asyncio.Event | None, seconds: float) -> None:
    """Wait until one of `events` is set, or `seconds` have passed."""
    waits = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()


@dataclass(frozen=True)
class _Lane:
    name: str
    channels: Callable[[str], bool]
    bound: int  # entries in flight at most


@dataclass
class _Pass:
    """One hold of the delivery lease: its clock, what it attempted, what is still to report."""

    now: Callable[[], datetime]
    stop: asyncio.Event | None
    idle_poll: float | None  # None (drain_once): a lane with nothing due ends; else it waits this long
    progress: Callable[[int], None] | None
    commit: _GroupCommit
    attempted: int = 0
    # drain_once: every key started in this pass, so each entry due is attempted once (a retry
    # with a zero backoff would otherwise come round again in the same call).
    seen: set[tuple[str, str]] | None = None
    unreachable: list[str] = field(default_factory=list)
    idle: set[str] = field(default_factory=set)  # lanes with nothing due and nothing in flight

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


class OutboxDrainer:
    """Delivers due entries in a Teams lane and an email lane, retrying with the retry policy.

    At most `teams_concurrency` Teams and `email_concurrency` email entries are in flight, and an
    entry stays in flight until its outcome is durable: their sum is the most a crash can make it
    send twice. Each pass holds the outbox's delivery lease, so a second drainer on the same store
    skips its turn instead of racing; `run` gives the lease up whenever nothing is due.
    """

    def __init__(
        self,
        outbox: Outbox,
        deliverer: Deliverer,
        limiter: RateLimiter,
        retry_policy: RetryPolicy,
        clock: Callable[[], datetime],
        *,
        on_unreachable: Callable[[list[str]], Awaitable[None]] | None = None,
        teams_concurrency: int = 32,
        email_concurrency: int = 4,  # Graph allows 4 concurrent requests per mailbox
        batch_size: int = 500,
        rng: random.Random | None = None,
    ) -> None:
        if min(teams_concurrency, email_concurrency, batch_size) < 1:
            raise ValueError("concurrency and batch_size must be at least 1")
        self._outbox = outbox
        self._deliverer = deliverer
        self._limiter = limiter
        self._policy = retry_policy
        self._clock = clock
        self._on_unreachable = on_unreachable
        self._lanes = (
            _Lane("teams", _is_not_email, teams_concurrency),
            _Lane("email", _is_email, email_concurrency),
        )
        self._batch_size = batch_size  # entries a lane reads from the outbox at a time
        self._rng = rng or random.Random()
        # Outcomes of every attempt this drainer made, for callers that report them (run-due).
        self.outcomes: Counter[Status] = Counter()
        self.errors: Counter[str] = Counter()  # last_error of the attempts that did not send

    @property
    def in_flight_bound(self) -> int:
        """The most entries in flight at once, so the most a crash can make it send twice."""
        return sum(lane.bound for lane in self._lanes)

    async def drain_once(self, now: datetime, progress: Callable[[int], None] | None = None) -> int:
        """Attempt each entry due at `now` once, both lanes pipelined; returns how many were attempted.

        `progress(attempted so far)` is called as each outcome becomes durable.
        """
        return await self._drain(
            _Pass(lambda: now, None, None, progress, _GroupCommit(self._outbox), seen=set())
        )

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Drain until `stop` is set; sends under way then finish and are recorded, the rest wait."""
        while not stop.is_set():
            try:
                attempted = await self._drain(
                    _Pass(self._clock, stop, poll_seconds, None, _GroupCommit(self._outbox))
                )
            except Exception:
                # A full disk or a locked store should not end delivery for good: try again later.
                logger.exception("outbox drain failed; retrying in %s s", poll_seconds)
                attempted = 0
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)

    async def _drain(self, run: _Pass) -> int:
        with self._outbox.delivery_lease() as mine:
            if not mine:
                return 0  # another drainer is delivering this store's outbox
            async with asyncio.TaskGroup() as group:
                group.create_task(run.commit.run())
                async with asyncio.TaskGroup() as lanes:
                    for lane in self._lanes:
                        lanes.create_task(self._feed(lane, run))
                run.commit.close()
            await self._report_unreachable(run)
            return run.attempted

    async def _feed(self, lane: _Lane, run: _Pass) -> None:
        """Keep `lane.bound` of the lane's due entries in flight until none is due (or `stop`)."""
        slots = asyncio.Semaphore(lane.bound)
        in_flight: set[tuple[str, str]] = set()
        freed = asyncio.Event()  # an entry of this lane finished: its retry may be due, or more work
        async with asyncio.TaskGroup() as workers:
            while not run.stopped():
                freed.clear()
                await self._report_unreachable(run)  # batched: once per read, not once per message
                skip = frozenset(run.seen if run.seen is not None else in_flight)
                batch = await asyncio.to_thread(
                    self._outbox.due, run.now(), self._batch_size, channels=lane.channels, skip=skip
                )
                if not batch:
                    if run.idle_poll is None:
                        return  # drain_once: what was due has been started; in-flight entries finish
                    if not in_flight:
                        run.idle.add(lane.name)
                        if len(run.idle) == len(self._lanes):
                            return  # nothing due anywhere: give the lease up until the next poll
                    # Another lane (or our own in flight) is busy: look again soon, lease kept.
                    await _first_of(freed, run.stop, seconds=run.idle_poll)
                    continue
                run.idle.discard(lane.name)
                for entry in batch:
                    await slots.acquire()  # refilled as soon as a slot frees: no idle tail per batch
                    if run.stopped():
                        slots.release()
                        break
                    at = (entry.message.period, entry.message.key)
                    in_flight.add(at)
                    if run.seen is not None:
                        run.seen.add(at)
                    workers.create_task(self._attempt(entry, run, slots, in_flight, freed))

    async def _attempt(
        self,
        entry: OutboxEntry,
        run: _Pass,
        slots: asyncio.Semaphore,
        in_flight: set[tuple[str, str]],
        freed: asyncio.Event,
    ) -> None:
        # The slot is held until the outcome is durable: this bounds what a crash re-sends.
        try:
            try:
                activity_id = await self._deliverer.deliver(entry)
            except DeliveryError as exc:
                outcome = self._after_failure(entry, exc)
            except Exception:
                # A bug in a deliverer must not sink the whole broadcast: retry it, bounded.
                logger.exception("delivering outbox entry %s raised", entry.message.key)
                outcome = self._after_failure(
                    entry, DeliveryError(DeliveryKind.RETRY, reason="internal error")
                )
            else:
                outcome = entry.sent(activity_id, self._clock())
            await run.commit.record(outcome)
        finally:
            in_flight.discard((entry.message.period, entry.message.key))
            slots.release()
            freed.set()
        # A retry is recorded as pending again: counted as such, not as "sent".
        self.outcomes[outcome.status] += 1
        if outcome.status is not Status.SENT and outcome.last_error:
            self.errors[outcome.last_error] += 1
        if outcome.status is Status.UNREACHABLE:
            run.unreachable.append(outcome.message.recipient)
        run.attempted += 1
        if run.progress is not None:
            run.progress(run.attempted)

    async def _report_unreachable(self, run: _Pass) -> None:
        recipients, run.unreachable = list(dict.fromkeys(run.unreachable)), []
        if not recipients or self._on_unreachable is None:
            return
        # In batches, so thousands of people without a chat cost one write per shard, not each.
        try:
            await self._on_unreachable(recipients)
        except Exception:
            logger.exception("on_unreachable hook failed for %d recipient(s)", len(recipients))

    def _after_failure(self, entry: OutboxEntry, error: DeliveryError) -> OutboxEntry:
        if error.kind is DeliveryKind.UNREACHABLE:
            return entry.unreachable(error.reason)
        if error.kind is DeliveryKind.FAIL:
            return entry.failed(error.reason)
        if error.status == 429:
            # Throttled: the whole app waits, not only this entry.
            pause = error.retry_after if error.retry_after is not None else self._policy.base_delay
            self._limiter.pause_until(self._limiter.now() + pause)
        delay = self._policy.delay(entry.attempts + 1, error.retry_after, rng=self._rng)
        if delay is None:
            return entry.failed(error.reason)
        return entry.retry(self._clock() + timedelta(seconds=delay), error.reason)
