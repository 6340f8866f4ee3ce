"""The outbox drainer: delivers due entries in two lanes, Teams and email, with retries.

Lanes, because the channels differ: an email (pickup, EWS, Graph) takes far longer than a Teams
message and is not bound by Teams' rate limit. In one shared pool the emails ahead in the queue
held the slots and the Teams messages behind them waited (at 20,000 staff, 2,140 invite emails
held Teams to half its 50/s cap). Each lane has its own bound on entries in flight and reads its
own entries from the outbox, oldest due first: a stuck mailer fills only the email lane, and a
Teams 429 (which pauses the shared RateLimiter) only the Teams lane.

Pipelined, because a pass that waits for its slowest entry leaves the other workers idle: a lane
starts its next entry as soon as a slot frees, reading the outbox in batches ahead of need.

A Teams message's email fallback (for someone the bot cannot reach) is handed to the email lane
(the deliverer raises `Rerouted`): it gives its Teams slot up and waits for the mailer there.

An entry holds its lane's slot until its outcome is durable (recorded through a group commit), so
a kill -9 re-sends at most the entries in flight: teams_concurrency + email_concurrency (32 + 4 by
default). A handed-over entry waiting for an email slot has sent nothing yet, so it is not counted.
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

from service.deliverer import Deliverer, DeliveryError, DeliveryKind, Rerouted, Send
from service.outbox import Outbox, OutboxEntry, Status
from service.outbox_commit import GroupCommit
from support.rate_limit import RateLimiter
from support.retry import RetryPolicy

logger = logging.getLogger(__name__)


async def _first_of(*events: asyncio.Event | None, seconds: float | None) -> None:
    """Wait until one of `events` is set, or `seconds` have passed (None: no limit)."""
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
class _LaneRun:
    """A lane during one pass: its slots, what it has in flight, and entries handed to it."""

    lane: _Lane
    slots: asyncio.Semaphore
    active: int = 0
    handoffs: list[tuple[OutboxEntry, Send]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # work finished or handed over


@dataclass
class _Pass:
    """One hold of the delivery lease: its clock, its lanes, what it attempted and must report."""

    now: Callable[[], datetime]
    stop: asyncio.Event | None
    idle_poll: float | None  # how often an idle lane looks for new work (None: drain_once, never)
    progress: Callable[[int], None] | None
    commit: GroupCommit
    lanes: list[_LaneRun]
    # drain_once: every key started in this pass, so each entry due is attempted once (a retry
    # with a zero backoff would otherwise come round again in the same call).
    seen: set[tuple[str, str]] | None = None
    busy: set[tuple[str, str]] = field(default_factory=set)  # in flight or handed over: not due
    attempted: int = 0
    unreachable: list[str] = field(default_factory=list)
    idle: set[str] = field(default_factory=set)  # lanes with nothing due, queued or in flight
    done: bool = False  # every lane was idle at once: the pass is over

    def stopped(self) -> bool:
        return self.done or (self.stop is not None and self.stop.is_set())

    def lane_for(self, channel: str) -> _LaneRun:
        return next(run for run in self.lanes if run.lane.channels(channel))


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
        self._lanes = (  # ChannelDeliverer sends every channel but email to Teams
            _Lane("teams", lambda channel: channel != "email", teams_concurrency),
            _Lane("email", lambda channel: channel == "email", email_concurrency),
        )
        self._batch_size = batch_size  # entries a lane reads from the outbox at a time
        self._rng = rng or random.Random()
        # Outcomes of every attempt this drainer made, for callers that report them (run-due).
        self.outcomes: Counter[Status] = Counter()
        self.errors: Counter[str] = Counter()  # last_error of the attempts that did not send

    async def drain_once(self, now: datetime, progress: Callable[[int], None] | None = None) -> int:
        """Attempt each entry due at `now` once, both lanes pipelined; returns how many were attempted.

        `progress(attempted so far)` is called as each outcome becomes durable.
        """
        return await self._drain(lambda: now, None, None, progress, seen=set())

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Drain until `stop` is set; sends under way then finish and are recorded, the rest wait."""
        while not stop.is_set():
            try:
                attempted = await self._drain(self._clock, stop, poll_seconds, None)
            except Exception:
                # A full disk or a locked store should not end delivery for good: try again later.
                logger.exception("outbox drain failed; retrying in %s s", poll_seconds)
                attempted = 0
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)

    async def _drain(
        self,
        now: Callable[[], datetime],
        stop: asyncio.Event | None,
        idle_poll: float | None,
        progress: Callable[[int], None] | None,
        seen: set[tuple[str, str]] | None = None,
    ) -> int:
        with self._outbox.delivery_lease() as mine:
            if not mine:
                return 0  # another drainer is delivering this store's outbox
            lanes = [_LaneRun(lane, asyncio.Semaphore(lane.bound)) for lane in self._lanes]
            run = _Pass(now, stop, idle_poll, progress, GroupCommit(self._outbox), lanes, seen)
            async with asyncio.TaskGroup() as group:
                group.create_task(run.commit.run())
                async with asyncio.TaskGroup() as feeders:
                    for lane in lanes:
                        feeders.create_task(self._feed(lane, run))
                run.commit.close()
            await self._report_unreachable(run)
            return run.attempted

    async def _feed(self, lane: _LaneRun, run: _Pass) -> None:
        """Keep the lane's slots busy with its due entries (oldest first) until the pass is over."""
        async with asyncio.TaskGroup() as workers:
            while not run.stopped():
                lane.wake.clear()
                if len(run.unreachable) >= self._batch_size:
                    await self._report_unreachable(run)  # batched, and the rest when the pass ends
                # Handed-over entries first: their turn in another lane is over.
                work: list[tuple[OutboxEntry, Send | None]] = [*lane.handoffs]
                lane.handoffs.clear()
                if len(work) < self._batch_size:
                    skip = frozenset(run.seen if run.seen is not None else run.busy)
                    due = await asyncio.to_thread(
                        self._outbox.due,
                        run.now(),
                        self._batch_size - len(work),
                        channels=lane.lane.channels,
                        skip=skip,
                    )
                    work.extend((entry, None) for entry in due)
                if work:
                    run.idle.discard(lane.lane.name)
                    for entry, send in work:
                        await lane.slots.acquire()  # refilled as a slot frees: no idle tail per batch
                        if run.stopped():
                            lane.slots.release()
                            break
                        # Counted now, before the next read: the task has not started yet.
                        at = (entry.message.period, entry.message.key)
                        run.busy.add(at)
                        if run.seen is not None:
                            run.seen.add(at)
                        lane.active += 1
                        workers.create_task(self._attempt(entry, at, send, lane, run))
                    continue
                if lane.handoffs:
                    continue  # handed over while we were reading
                if lane.active == 0:
                    run.idle.add(lane.lane.name)
                    if len(run.idle) == len(run.lanes):
                        run.done = True  # nothing due anywhere: end the pass, give the lease up
                        for other in run.lanes:
                            other.wake.set()
                        break
                # Our own entries in flight, or another lane busy (it may hand us work): wait.
                await _first_of(lane.wake, run.stop, seconds=run.idle_poll)

    async def _attempt(
        self, entry: OutboxEntry, at: tuple[str, str], send: Send | None, lane: _LaneRun, run: _Pass
    ) -> None:
        handed_over = False
        # The slot is held until the outcome is durable: this bounds what a crash re-sends.
        try:
            outcome = await self._outcome(entry, send, lane, run)
            if outcome is None:
                handed_over = True  # in another lane's hands now; still busy, so not due again
                return
            await run.commit.record(outcome)
        finally:
            lane.active -= 1
            lane.slots.release()
            lane.wake.set()
            if not handed_over:
                run.busy.discard(at)
        # A retry is recorded as pending again: counted as such, not as "sent".
        self.outcomes[outcome.status] += 1
        if outcome.status is not Status.SENT and outcome.last_error:
            self.errors[outcome.last_error] += 1
        if outcome.status is Status.UNREACHABLE:
            run.unreachable.append(outcome.message.recipient)
        run.attempted += 1
        if run.progress is not None:
            run.progress(run.attempted)

    async def _outcome(
        self, entry: OutboxEntry, send: Send | None, lane: _LaneRun, run: _Pass
    ) -> OutboxEntry | None:
        """Deliver `entry` (by `send`, when handed over); its outcome, or None when handed over."""
        try:
            try:
                activity_id = await (send() if send is not None else self._deliverer.deliver(entry))
            except Rerouted as moved:
                target = run.lane_for(moved.channel)
                if target is not lane:
                    target.handoffs.append((entry, moved.send))
                    run.idle.discard(target.lane.name)  # it has work: the pass is not over
                    target.wake.set()
                    return None
                activity_id = await moved.send()
        except DeliveryError as exc:
            return self._after_failure(entry, exc)
        except Exception:
            # A bug in a deliverer must not sink the whole broadcast: retry it, bounded.
            logger.exception("delivering outbox entry %s raised", entry.message.key)
            return self._after_failure(entry, DeliveryError(DeliveryKind.RETRY, reason="internal error"))
        return entry.sent(activity_id, self._clock())

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
