"""The outbox drainer: delivers due entries concurrently within the Teams limits, with retries.

At most `concurrency` entries are in flight, and an entry stays in flight until its outcome is
durable (recorded through a group commit): that is the most a crash can make it send twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
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


class OutboxDrainer:
    """Delivers due entries concurrently within the rate limits, retrying with the retry policy.

    At most `concurrency` entries are in flight, and an entry stays in flight until its outcome
    is durable: that is the most a crash can make it send twice. Each pass holds the outbox's
    delivery lease, so a second drainer on the same store skips its turn instead of racing.
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
        concurrency: int = 32,
        batch_size: int = 500,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1 or batch_size < 1:
            raise ValueError("concurrency and batch_size must be at least 1")
        self._outbox = outbox
        self._deliverer = deliverer
        self._limiter = limiter
        self._policy = retry_policy
        self._clock = clock
        self._on_unreachable = on_unreachable
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._rng = rng or random.Random()
        # Outcomes of every attempt this drainer made, for callers that report them (run-due).
        self.outcomes: Counter[Status] = Counter()
        self.errors: Counter[str] = Counter()  # last_error of the attempts that did not send

    async def drain_once(self, now: datetime) -> int:
        """Attempt the entries due at `now` (at most batch_size); returns how many were attempted."""
        return await self._drain(now, None)

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Drain until `stop` is set; sends under way then finish and are recorded, the rest wait."""
        while not stop.is_set():
            try:
                attempted = await self._drain(self._clock(), stop)
            except Exception:
                # A full disk or a locked store should not end delivery for good: try again later.
                logger.exception("outbox drain failed; retrying in %s s", poll_seconds)
                attempted = 0
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)

    async def _drain(self, now: datetime, stop: asyncio.Event | None) -> int:
        with self._outbox.delivery_lease() as mine:
            if not mine:
                return 0  # another drainer is delivering this store's outbox
            entries = await asyncio.to_thread(self._outbox.due, now, self._batch_size)
            if not entries:
                return 0
            commit = _GroupCommit(self._outbox)
            slots = asyncio.Semaphore(self._concurrency)
            async with asyncio.TaskGroup() as group:
                group.create_task(commit.run())
                async with asyncio.TaskGroup() as workers:
                    attempts = [workers.create_task(self._attempt(e, slots, commit, stop)) for e in entries]
                commit.close()
            outcomes = [task.result() for task in attempts]
            for outcome in outcomes:
                if outcome is None:
                    continue
                # A retry is recorded as pending again: counted as such, not as "sent".
                self.outcomes[outcome.status] += 1
                if outcome.status is not Status.SENT and outcome.last_error:
                    self.errors[outcome.last_error] += 1
            unreachable = [o.message.recipient for o in outcomes if o and o.status is Status.UNREACHABLE]
            if unreachable and self._on_unreachable is not None:
                # Once per pass, so thousands of people without a chat cost one write per shard.
                try:
                    await self._on_unreachable(list(dict.fromkeys(unreachable)))
                except Exception:
                    logger.exception("on_unreachable hook failed for %d recipient(s)", len(unreachable))
            return sum(1 for outcome in outcomes if outcome is not None)

    async def _attempt(
        self, entry: OutboxEntry, slots: asyncio.Semaphore, commit: _GroupCommit, stop: asyncio.Event | None
    ) -> OutboxEntry | None:
        async with slots:  # held until the outcome is durable: this bounds what a crash re-sends
            if stop is not None and stop.is_set():
                return None
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
            await commit.record(outcome)
        return outcome

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
