"""The outbox, its drainer, the rate limiter and the retry policy; deliveries go to the fake Bot Connector."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from service.deliverer import DeliveryError, DeliveryKind
from service.delivery import TeamsDeliverer
from service.outbox import OutboundMessage, Outbox, OutboxEntry, Status
from service.outbox_drainer import OutboxDrainer
from store import Store
from support.rate_limit import TEAMS_CONVERSATION_LIMITS, RateLimiter
from support.retry import RetryPolicy
from teams_bot.connector import BotConnectorClient, NoAuth
from tests.fakes.bot_connector import FakeBotConnector

T0 = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "News"}]}


class Clock:
    """The drainer's injected clock: aware datetimes, moved by hand, or running from T0 in real time.

    Broadcast tests run it, so that a transient failure's retry (a reset keep-alive connection on a
    busy machine) becomes due instead of waiting for a hand that never moves the clock.
    """

    def __init__(self, now: datetime = T0, *, running: bool = False) -> None:
        self.now = now
        self._started = time.monotonic() if running else None

    def __call__(self) -> datetime:
        if self._started is None:
            return self.now
        return self.now + timedelta(seconds=time.monotonic() - self._started)


def message(
    email: str, *, batch: str | None = "b1", period: str = "2026-11", kind: str = "announcement"
) -> OutboundMessage:
    return OutboundMessage(
        key=f"{kind}:{period}:{batch}:{email}",
        period=period,
        recipient=email,
        kind=kind,
        card=CARD,
        text="Programme news",
        batch=batch,
    )


def people(n: int) -> list[str]:
    return [f"person{i}@x.org" for i in range(n)]


# -- the outbox on its own ---------------------------------------------------------------------


def test_enqueue_records_each_key_once(tmp_path: Path, store: Store) -> None:
    outbox = Outbox(store)
    ann = message("ann@x.org")
    assert outbox.enqueue([ann, ann], T0) == [ann.key]
    assert outbox.enqueue([ann], T0 + timedelta(hours=1)) == []
    with Store(tmp_path / "reflect.json") as other_process:
        assert Outbox(other_process).enqueue([ann], T0) == []
    [entry] = outbox.due(T0, 10)
    assert (entry.message, entry.status, entry.attempts, entry.created_at) == (ann, Status.PENDING, 0, T0)


def test_due_follows_another_process_enqueues_and_sends(tmp_path: Path, store: Store) -> None:
    mine = Outbox(store)
    assert mine.due(T0, 10) == []
    with Store(tmp_path / "reflect.json") as other_process:
        theirs = Outbox(other_process)
        theirs.enqueue([message("ann@x.org"), message("bob@x.org")], T0)
        [ann, bob] = sorted(mine.due(T0, 10), key=lambda e: e.message.recipient)
        theirs.mark_sent(ann, "activity-1", T0)
        theirs.mark_retry(bob, T0 + timedelta(minutes=5), "http 503")
    assert mine.due(T0 + timedelta(minutes=4), 10) == []
    [again] = mine.due(T0 + timedelta(minutes=5), 10)
    assert (again.message.recipient, again.attempts, again.last_error) == ("bob@x.org", 1, "http 503")


def test_due_returns_oldest_first_up_to_the_limit(store: Store) -> None:
    outbox = Outbox(store)
    outbox.enqueue([message("late@x.org")], T0 + timedelta(minutes=1))
    outbox.enqueue([message("early@x.org")], T0)
    assert [e.message.recipient for e in outbox.due(T0 + timedelta(minutes=1), 1)] == ["early@x.org"]
    assert outbox.due(T0 - timedelta(seconds=1), 10) == []


def test_due_picks_a_lane_by_channel_and_skips_what_is_in_flight(tmp_path: Path, store: Store) -> None:
    outbox = Outbox(store)
    mail = replace(message("mail@x.org"), key="mail:1", channel="email", card=None, data={"type": "mail"})
    outbox.enqueue([mail], T0)
    outbox.enqueue([message("a@x.org"), message("b@x.org")], T0 + timedelta(seconds=1))
    later = T0 + timedelta(minutes=1)
    teams = outbox.due(later, 10, channels=lambda channel: channel != "email")
    assert [e.message.recipient for e in teams] == ["a@x.org", "b@x.org"]
    assert [e.message.key for e in outbox.due(later, 10, channels=lambda channel: channel == "email")] == [
        "mail:1"
    ]
    in_flight = {("2026-11", message("a@x.org").key), ("2026-11", "mail:1")}
    assert [e.message.recipient for e in outbox.due(later, 10, skip=in_flight)] == ["b@x.org"]
    # Another process's index learns the channel from the records.
    with Store(tmp_path / "reflect.json") as other_process:
        assert [e.message.key for e in Outbox(other_process).due(later, 10, channels="email".__eq__)] == [
            "mail:1"
        ]


def test_marks_are_durable_and_keep_no_content(tmp_path: Path) -> None:
    with Store(tmp_path / "reflect.json") as store:
        outbox = Outbox(store)
        outbox.enqueue([message("ann@x.org"), message("bob@x.org"), message("cy@x.org")], T0)
        ann, bob, cy = sorted(outbox.due(T0, 10), key=lambda e: e.message.recipient)
        outbox.mark_sent(ann, "activity-9", T0 + timedelta(seconds=1))
        outbox.mark_failed(bob, "http 400 BadArgument")
        outbox.mark_unreachable(cy, "http 403 MessageWritesBlocked")
    with Store(tmp_path / "reflect.json") as reopened:
        outbox = Outbox(reopened)
        sent = outbox.get("2026-11", ann.message.key)
        assert sent is not None
        assert (sent.status, sent.activity_id, sent.sent_at, sent.attempts) == (
            Status.SENT,
            "activity-9",
            T0 + timedelta(seconds=1),
            1,
        )
        assert sent.message.card == CARD
        assert outbox.due(T0 + timedelta(days=1), 10) == []
        assert outbox.batch_counts("b1") == {"pending": 0, "sent": 1, "failed": 1, "unreachable": 1}
        assert outbox.get("2026-11", "no-such-key") is None


def test_batch_counts_count_only_their_batch(store: Store) -> None:
    outbox = Outbox(store)
    outbox.enqueue([message(e) for e in people(5)] + [message("z@x.org", batch="b2")], T0)
    outbox.mark_sent(outbox.due(T0, 1)[0], "a-1", T0)
    assert outbox.batch_counts("b1") == {"pending": 4, "sent": 1, "failed": 0, "unreachable": 0}
    assert outbox.batch_counts("b2") == {"pending": 1, "sent": 0, "failed": 0, "unreachable": 0}


def test_a_broadcast_stores_its_card_once(tmp_path: Path, store: Store) -> None:
    Outbox(store).enqueue([message(e) for e in people(50)], T0)
    assert len(store.log("outbox_bodies").all("2026-11")) == 1
    assert len(Outbox(store).records("2026-11")) == 50


def test_only_recent_periods_are_scanned(store: Store) -> None:
    outbox = Outbox(store, recent_periods=2)
    outbox.enqueue([message("ann@x.org", period=p) for p in ("2026-09", "2026-10", "2026-11")], T0)
    assert sorted(e.message.period for e in outbox.due(T0, 10)) == ["2026-10", "2026-11"]


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Outbox(store).enqueue([message("ann@x.org")], datetime(2026, 11, 12, 9, 0))  # noqa: DTZ001


# -- retry policy ------------------------------------------------------------------------------


def test_retry_delay_is_full_jitter_bounded_and_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=10.0)
    rng = random.Random(7)
    for attempt, cap in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert all(d is not None and 0 <= d <= cap for d in delays)
        assert max(d for d in delays if d is not None) > cap / 2, "jitter spans the range"
    assert policy.delay(5, rng=rng) is None


def test_retry_after_is_never_undercut() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=10.0)
    rng = random.Random(1)
    assert all((policy.delay(3, 5.0, rng=rng) or 0) >= 5.0 for _ in range(100))
    assert policy.delay(1, 60.0, rng=rng) == 60.0  # beyond max_delay: the server knows best
    assert policy.delay(5, 1.0, rng=rng) is None


# -- rate limiter (fake clock) -----------------------------------------------------------------


class FakeTime:
    """Clock and sleep for the limiter: sleeping moves time on, instantly."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The largest number of `times` within any half-open window [t, t + seconds)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + seconds) for t in ordered), default=0)


def limiter_on(fake_time: FakeTime, **kwargs: object) -> RateLimiter:
    return RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)  # type: ignore[arg-type]


async def grant_times(limiter: RateLimiter, fake_time: FakeTime, keys: list[str]) -> list[float]:
    times: list[float] = []

    async def one(key: str) -> None:
        await limiter.acquire(key)
        times.append(fake_time.now)

    await asyncio.gather(*(one(k) for k in keys))
    return times


@pytest.mark.asyncio
async def test_limiter_keeps_every_conversation_window() -> None:
    fake_time = FakeTime()
    limiter = limiter_on(fake_time, app_limits=((1000, 1.0),), margin=0.0)
    times = await grant_times(limiter, fake_time, ["a:ann"] * 70)
    for count, seconds in TEAMS_CONVERSATION_LIMITS:
        assert most_in_any_window(times, seconds) <= count
    assert sorted(times)[:7] == [0.0] * 7, "the limits are used, not undercut"


@pytest.mark.asyncio
async def test_limiter_keeps_the_app_window_and_pauses() -> None:
    fake_time = FakeTime()
    limiter = limiter_on(fake_time, app_limits=((20, 1.0),), margin=0.1, app_margin=0.1)
    times = await grant_times(limiter, fake_time, [f"a:{i}" for i in range(100)])
    assert most_in_any_window(times, 1.1) <= 20
    limiter.pause_until(fake_time.now + 30.0)
    resume = fake_time.now + 30.0
    [after_pause] = await grant_times(limiter, fake_time, ["a:late"])
    assert after_pause >= resume


@pytest.mark.asyncio
async def test_limiter_runs_a_broadcast_at_over_95_percent_of_the_teams_app_cap() -> None:
    fake_time = FakeTime()
    limiter = limiter_on(fake_time)  # the Teams limits and margins the service uses
    times = await grant_times(limiter, fake_time, [f"a:{i}" for i in range(1000)])
    assert most_in_any_window(times, 1.0) <= 50  # never over Teams' 50/s per app
    rate = (len(times) - 1) / (max(times) - min(times))
    assert rate >= 0.95 * 50, rate


@pytest.mark.asyncio
async def test_limiter_forgets_idle_conversations() -> None:
    fake_time = FakeTime()
    limiter = limiter_on(fake_time, app_limits=((100_000, 1.0),))
    for i in range(20_000):
        await limiter.acquire(f"a:{i}")
    assert limiter.tracked_conversations == 20_000
    fake_time.now += 3601.0  # past the longest (hour) window
    for i in range(20_000):
        await limiter.acquire(f"b:{i}")
    assert limiter.tracked_conversations <= 20_000


# -- the drainer against the fake Bot Connector --------------------------------------------------


def reference(fake: FakeBotConnector, email: str) -> dict[str, str]:
    return {
        "service_url": fake.url,
        "conversation_id": f"a:{email}",
        "tenant_id": "tenant-1",
        "bot_id": "28:bot",
        "user_id": f"29:{email}",
    }


@dataclass
class Rig:
    store: Store
    outbox: Outbox
    drainer: OutboxDrainer
    limiter: RateLimiter
    clock: Clock


@contextlib.asynccontextmanager
async def rig(
    path: Path,
    fake: FakeBotConnector,
    *,
    app_limit: int = 1000,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
    on_unreachable: Callable[[list[str]], Awaitable[None]] | None = None,
    known: Callable[[str], bool] = lambda email: True,
    running_clock: bool = False,
) -> AsyncIterator[Rig]:
    """A store, outbox and drainer delivering through the real client to `fake`."""
    clock = Clock(running=running_clock)
    limiter = RateLimiter(app_limits=((app_limit, 1.0),))

    def reference_for(email: str) -> dict[str, str] | None:
        return reference(fake, email) if known(email) else None

    with Store(path) as store:
        async with aiohttp.ClientSession() as session:
            outbox = Outbox(store)
            deliverer = TeamsDeliverer(BotConnectorClient(session, NoAuth()), reference_for, limiter)
            drainer = OutboxDrainer(
                outbox,
                deliverer,
                limiter,
                policy or RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=5.0),
                clock,
                on_unreachable=on_unreachable,
                teams_concurrency=concurrency,
                rng=random.Random(3),
            )
            yield Rig(store, outbox, drainer, limiter, clock)


def the_entry(outbox: Outbox, email: str) -> OutboxEntry:
    entry = outbox.get("2026-11", message(email).key)
    assert entry is not None
    return entry


@pytest.mark.asyncio
async def test_the_same_decision_twice_is_delivered_once(tmp_path: Path) -> None:
    async with FakeBotConnector() as fake, rig(tmp_path / "db.json", fake) as r:
        r.outbox.enqueue([message("ann@x.org")], T0)
        r.outbox.enqueue([message("ann@x.org")], T0)
        assert await r.drainer.drain_once(T0) == 1
        r.outbox.enqueue([message("ann@x.org")], T0)
        assert await r.drainer.drain_once(T0) == 0
        entry = the_entry(r.outbox, "ann@x.org")
    [sent] = fake.messages_to("a:ann@x.org")
    assert [a["content"] for a in sent["attachments"]] == [CARD]  # the decided card, as decided
    assert (entry.status, entry.activity_id, entry.attempts) == (Status.SENT, "activity-1", 1)


@pytest.mark.asyncio
async def test_429_waits_for_retry_after(tmp_path: Path) -> None:
    async with FakeBotConnector() as fake, rig(tmp_path / "db.json", fake) as r:
        fake.fail_next(429, retry_after=1, code="TooManyRequests")
        r.outbox.enqueue([message("ann@x.org")], T0)
        await r.drainer.drain_once(T0)
        throttled = the_entry(r.outbox, "ann@x.org")
        assert (throttled.status, throttled.attempts) == (Status.PENDING, 1)
        assert throttled.last_error == "http 429 TooManyRequests"
        assert throttled.not_before >= T0 + timedelta(seconds=1)
        assert await r.drainer.drain_once(T0 + timedelta(seconds=0.5)) == 0
        assert await r.drainer.drain_once(throttled.not_before) == 1
    first, second = fake.requests
    assert (first.status, second.status) == (429, 201)
    # The limiter was paused app-wide: the retry reached the server no sooner than Retry-After.
    assert second.time - first.time >= 1.0


@pytest.mark.asyncio
async def test_5xx_is_retried_with_backoff_then_sent(tmp_path: Path) -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=5.0)
    async with FakeBotConnector() as fake, rig(tmp_path / "db.json", fake, policy=policy) as r:
        fake.fail_next(503, times=2)
        r.outbox.enqueue([message("ann@x.org")], T0)
        caps = []
        for attempt in (1, 2):
            await r.drainer.drain_once(r.clock.now)
            entry = the_entry(r.outbox, "ann@x.org")
            assert (entry.status, entry.attempts) == (Status.PENDING, attempt)
            caps.append((entry.not_before - r.clock.now).total_seconds())
            assert 0 <= caps[-1] <= 0.5 * 2 ** (attempt - 1)
            r.clock.now = entry.not_before
        await r.drainer.drain_once(r.clock.now)
        entry = the_entry(r.outbox, "ann@x.org")
    assert (entry.status, entry.attempts, entry.last_error) == (Status.SENT, 3, "http 503 Fault503")
    assert [q.status for q in fake.requests] == [503, 503, 201]


@pytest.mark.asyncio
async def test_attempts_are_bounded_then_failed(tmp_path: Path) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=5.0)
    async with FakeBotConnector() as fake, rig(tmp_path / "db.json", fake, policy=policy) as r:
        fake.fail_next(502, times=10)
        r.outbox.enqueue([message("ann@x.org")], T0)
        for _ in range(5):
            await r.drainer.drain_once(r.clock.now)
            r.clock.now += timedelta(seconds=10)
        entry = the_entry(r.outbox, "ann@x.org")
        counts = r.outbox.batch_counts("b1")
    assert (entry.status, entry.attempts, entry.last_error) == (Status.FAILED, 3, "http 502 Fault502")
    assert len(fake.requests) == 3
    assert counts == {"pending": 0, "sent": 0, "failed": 1, "unreachable": 0}


@pytest.mark.asyncio
async def test_blocked_or_unknown_recipients_are_unreachable_and_reported(tmp_path: Path) -> None:
    reported: list[str] = []

    async def on_unreachable(emails: list[str]) -> None:
        reported.extend(emails)

    def known(email: str) -> bool:
        return email != "new@x.org"

    async with (
        FakeBotConnector() as fake,
        rig(tmp_path / "db.json", fake, on_unreachable=on_unreachable, known=known) as r,
    ):
        fake.block("a:blocked@x.org")
        fake.remove("a:gone@x.org")
        fake.fail_next(400, code="BadArgument", conversation="a:bad@x.org")
        emails = ["blocked@x.org", "gone@x.org", "new@x.org", "bad@x.org", "ok@x.org"]
        r.outbox.enqueue([message(e) for e in emails], T0)
        assert await r.drainer.drain_once(T0) == 5
        outcome = {e: the_entry(r.outbox, e) for e in emails}
    assert sorted(reported) == ["blocked@x.org", "gone@x.org", "new@x.org"]
    assert {e: (x.status, x.last_error) for e, x in outcome.items()} == {
        "blocked@x.org": (Status.UNREACHABLE, "http 403 MessageWritesBlocked"),
        "gone@x.org": (Status.UNREACHABLE, "http 404 ConversationNotFound"),
        "new@x.org": (Status.UNREACHABLE, "no conversation"),
        "bad@x.org": (Status.FAILED, "http 400 BadArgument"),
        "ok@x.org": (Status.SENT, None),
    }


class ExplodingDeliverer:
    """A deliverer with a bug: the drainer must retry, not crash."""

    async def deliver(self, entry: OutboxEntry) -> str:
        raise KeyError("service_url")


@pytest.mark.asyncio
async def test_a_deliverer_bug_is_retried_not_fatal(store: Store) -> None:
    outbox = Outbox(store)
    policy = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=1.0)
    drainer = OutboxDrainer(outbox, ExplodingDeliverer(), RateLimiter(), policy, Clock())
    outbox.enqueue([message("ann@x.org")], T0)
    assert await drainer.drain_once(T0) == 1
    assert await drainer.drain_once(T0 + timedelta(seconds=5)) == 1
    entry = the_entry(outbox, "ann@x.org")
    assert (entry.status, entry.attempts, entry.last_error) == (Status.FAILED, 2, "internal error")


@pytest.mark.asyncio
async def test_one_drainer_at_a_time_per_store(tmp_path: Path) -> None:
    async with FakeBotConnector() as fake, rig(tmp_path / "db.json", fake) as r:
        r.outbox.enqueue([message("ann@x.org")], T0)
        with Store(tmp_path / "db.json") as other_process, Outbox(other_process).delivery_lease() as theirs:
            assert theirs
            assert await r.drainer.drain_once(T0) == 0, "the other process is delivering"
        assert await r.drainer.drain_once(T0) == 1
    assert len(fake.messages) == 1


def record_grants(limiter: RateLimiter) -> list[float]:
    """The limiter's clock at each send it lets go, kept by wrapping `acquire` on this instance."""
    grants: list[float] = []
    acquire = limiter.acquire

    async def recording(conversation_key: str) -> None:
        await acquire(conversation_key)
        grants.append(limiter.now())

    limiter.acquire = recording  # type: ignore[method-assign]
    return grants


@pytest.mark.asyncio
async def test_broadcast_stays_within_the_app_limit_and_reaches_everyone_once(tmp_path: Path) -> None:
    # 100/s rather than Teams' 50/s keeps the test to ~3 s; the limiter must still be the bottleneck.
    recipients = people(300)
    async with (
        FakeBotConnector(app_limit=100) as fake,
        rig(tmp_path / "db.json", fake, app_limit=100, concurrency=32, running_clock=True) as r,
    ):
        grants = record_grants(r.limiter)
        r.outbox.enqueue([message(e) for e in recipients], T0)
        stop = asyncio.Event()
        task = asyncio.create_task(r.drainer.run(stop, poll_seconds=0.05))
        async with asyncio.timeout(180):  # a guard against hanging, not a timed assert
            await fake.wait_for_messages(300)
        stop.set()
        await task
        counts = r.outbox.batch_counts("b1")
    # What the limiter controls is when it lets each send go: never more than the cap in any
    # second (a limiter that let all 32 workers through at once fails here). When those sends
    # reach the fake is up to the event loop the fake shares with the client in this test: a loop
    # stall under a loaded suite bunches arrivals and the fake answers the bunch with 429s (seen 0
    # alone, 27 once in a full CI run). How often that happens is measured, not asserted, by
    # bench/broadcast_limit against the fake in its own process; here each 429 must be honoured
    # and retried, never a failure or a duplicate.
    assert most_in_any_window(grants, 1.0) <= 100
    assert len(grants) == 300 + fake.throttled
    assert sorted(cid for cid, _ in fake.messages) == sorted(f"a:{e}" for e in recipients)
    assert counts == {"pending": 0, "sent": 300, "failed": 0, "unreachable": 0}


@pytest.mark.asyncio
async def test_crash_mid_broadcast_resumes_without_loss_and_bounded_repeats(tmp_path: Path) -> None:
    recipients = people(300)
    concurrency = 16
    path = tmp_path / "db.json"
    async with FakeBotConnector(app_limit=400, latency=0.02) as fake:
        async with rig(path, fake, app_limit=400, concurrency=concurrency, running_clock=True) as first:
            first.outbox.enqueue([message(e) for e in recipients], T0)
            task = asyncio.create_task(first.drainer.run(asyncio.Event(), poll_seconds=0.05))
            async with asyncio.timeout(180):
                await fake.wait_for_messages(120)
            task.cancel()  # the crash: whatever was in flight is abandoned mid-request
            with contextlib.suppress(asyncio.CancelledError):
                await task
            delivered_before = len(fake.messages)
        async with rig(path, fake, app_limit=400, concurrency=concurrency, running_clock=True) as second:
            async with asyncio.timeout(180):  # a guard against hanging, not a timed assert
                while second.outbox.batch_counts("b1")["pending"]:
                    if not await second.drainer.drain_once(second.clock()):
                        await asyncio.sleep(0.05)  # only retries left: wait until one is due
            counts = second.outbox.batch_counts("b1")
    per_recipient: dict[str, int] = {}
    for cid, _ in fake.messages:
        per_recipient[cid] = per_recipient.get(cid, 0) + 1
    repeats = sum(n - 1 for n in per_recipient.values())
    assert 120 <= delivered_before < 300, "the crash happened mid-broadcast"
    assert set(per_recipient) == {f"a:{e}" for e in recipients}, "nobody is missing"
    assert repeats <= concurrency, f"{repeats} repeats: more than the {concurrency} in flight"
    assert counts == {"pending": 0, "sent": 300, "failed": 0, "unreachable": 0}


@pytest.mark.asyncio
async def test_delivery_error_carries_a_fixed_reason() -> None:
    error = DeliveryError(DeliveryKind.RETRY, 503)
    assert (error.reason, str(error)) == ("http 503", "http 503")
    assert DeliveryError(DeliveryKind.UNREACHABLE).reason == "unreachable"
