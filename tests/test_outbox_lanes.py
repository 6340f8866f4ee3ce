"""Delivery lanes: Teams messages never wait behind email, and a Teams 429 never holds up email."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from repositories.meetings import MeetingsRepository
from service.delivery import ChannelDeliverer, MailDeliverer, TeamsDeliverer
from service.outbox import OutboundMessage, Outbox, OutboxEntry, Status
from service.outbox_drainer import OutboxDrainer
from store import Store
from support.mail import MailMessage, MeetingInvite, MeetingResult
from support.rate_limit import RateLimiter
from support.retry import RetryPolicy
from teams_bot.connector import BotConnectorClient, NoAuth
from tests.fakes.bot_connector import FakeBotConnector

T0 = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "News"}]}
GUARD = 60  # seconds: a guard against hanging, not a timed assert


def teams_message(i: int) -> OutboundMessage:
    return OutboundMessage(
        key=f"announcement:2026-11:b1:t{i}@x.org",
        period="2026-11",
        recipient=f"t{i}@x.org",
        kind="announcement",
        card=CARD,
        text="Programme news",
        batch="b1",
    )


def email_message(i: int) -> OutboundMessage:
    return OutboundMessage(
        key=f"mail:2026-11:e{i}@x.org",
        period="2026-11",
        recipient=f"e{i}@x.org",
        kind="mail",
        channel="email",
        data={"type": "mail", "to": [f"e{i}@x.org"], "subject": "Invite", "body_text": "Hello"},
    )


@dataclass
class GatedMailer:
    """An email deliverer that holds every send until `gate` is set; records what it sent."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[str] = field(default_factory=list)
    waiting: int = 0
    teams_accepted_at_send: list[int] = field(default_factory=list)
    accepted: Callable[[], int] = lambda: 0
    all_sent: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    async def deliver(self, entry: OutboxEntry) -> str:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        self.sent.append(entry.message.key)
        self.teams_accepted_at_send.append(self.accepted())
        if len(self.sent) >= self.expected:
            self.all_sent.set()
        return entry.message.key


@dataclass
class Router:
    """Sends "email" entries to the mailer, the rest to Teams (as service/delivery.py's ChannelDeliverer)."""

    teams: TeamsDeliverer
    mailer: GatedMailer

    async def deliver(self, entry: OutboxEntry) -> str:
        if entry.message.channel == "email":
            return await self.mailer.deliver(entry)
        return await self.teams.deliver(entry)


class LimiterTime:
    """The rate limiter's clock, moved by the test: a Retry-After pause lasts until the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0.005)  # the limiter re-checks its clock after every sleep


@dataclass
class Lanes:
    outbox: Outbox
    drainer: OutboxDrainer
    mailer: GatedMailer
    limiter: RateLimiter
    time: LimiterTime
    clock: list[datetime]


@contextlib.asynccontextmanager
async def lanes(
    path: Path, fake: FakeBotConnector, *, teams: int = 4, email: int = 2, policy: RetryPolicy | None = None
) -> AsyncIterator[Lanes]:
    time = LimiterTime()
    limiter = RateLimiter(app_limits=((1000, 1.0),), clock=time.clock, sleep=time.sleep)
    mailer = GatedMailer(accepted=lambda: len(fake.messages))
    now = [T0 + timedelta(seconds=10)]

    def reference_for(email: str) -> dict[str, str]:
        return {"service_url": fake.url, "conversation_id": f"a:{email}"}

    with Store(path) as store:
        async with aiohttp.ClientSession() as session:
            outbox = Outbox(store)
            drainer = OutboxDrainer(
                outbox,
                Router(TeamsDeliverer(BotConnectorClient(session, NoAuth()), reference_for, limiter), mailer),
                limiter,
                policy or RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=5.0),
                lambda: now[0],
                teams_concurrency=teams,
                email_concurrency=email,
                batch_size=5,  # several reads per lane: the pipeline refills across batches
                rng=random.Random(5),
            )
            yield Lanes(outbox, drainer, mailer, limiter, time, now)


def enqueue_emails_then_teams(outbox: Outbox, emails: int, teams: int) -> None:
    # The emails are older: in one queue, oldest first, they would be ahead of every Teams message.
    outbox.enqueue([email_message(i) for i in range(emails)], T0)
    outbox.enqueue([teams_message(i) for i in range(teams)], T0 + timedelta(seconds=1))


@pytest.mark.asyncio
async def test_teams_messages_do_not_wait_behind_a_stuck_mailer(tmp_path: Path) -> None:
    async with FakeBotConnector(app_limit=1000) as fake, lanes(tmp_path / "db.json", fake) as r:
        enqueue_emails_then_teams(r.outbox, emails=7, teams=23)
        r.mailer.expected = 7
        task = asyncio.create_task(r.drainer.drain_once(r.clock[0]))
        async with asyncio.timeout(GUARD):
            await fake.wait_for_messages(23)
        # Every Teams message is out while the mailer still holds the emails: the email lane is full
        # (its bound, 2, is waiting) and nothing was sent by mail yet.
        assert (r.mailer.sent, r.mailer.waiting) == ([], 2)
        r.mailer.gate.set()
        async with asyncio.timeout(GUARD):
            attempted = await task
        records = r.outbox.records("2026-11")
    assert attempted == 30
    assert Counter(r.mailer.sent) == Counter(email_message(i).key for i in range(7))  # each once
    assert Counter(cid for cid, _ in fake.messages) == Counter(f"a:t{i}@x.org" for i in range(23))
    assert {doc["status"] for doc in records.values()} == {Status.SENT}
    assert r.drainer.outcomes == Counter({Status.SENT: 30})


@pytest.mark.asyncio
async def test_emails_go_out_while_teams_is_paused_by_a_429(tmp_path: Path) -> None:
    # One Teams message in flight at a time, so the one answered 429 is the only one on the wire.
    async with FakeBotConnector(app_limit=1000) as fake, lanes(tmp_path / "db.json", fake, teams=1) as r:
        paused: list[float] = []
        pause_until = r.limiter.pause_until

        def recording(t: float) -> None:
            paused.append(t)
            pause_until(t)
            r.mailer.gate.set()  # the mailer sends only once Teams is paused

        r.limiter.pause_until = recording  # type: ignore[method-assign]
        # Teams is throttled: the first send is answered 429 with a Retry-After of 30 s, and the
        # limiter's clock does not move until the test moves it, so Teams stays paused meanwhile.
        fake.fail_next(429, retry_after=30, code="TooManyRequests")
        enqueue_emails_then_teams(r.outbox, emails=0, teams=12)
        r.outbox.enqueue([email_message(i) for i in range(7)], T0 + timedelta(seconds=2))
        r.mailer.expected = 7
        stop = asyncio.Event()
        task = asyncio.create_task(r.drainer.run(stop, poll_seconds=0.01))
        async with asyncio.timeout(GUARD):
            await r.mailer.all_sent.wait()
        # Every email went out during the pause, none of the Teams messages did.
        assert paused and r.time.now < min(paused)
        assert r.mailer.teams_accepted_at_send == [0] * 7
        assert fake.messages == []
        # The pause ends (and the throttled message's retry comes due): Teams finishes.
        r.time.now = max(paused) + 1
        r.clock[0] += timedelta(seconds=60)
        async with asyncio.timeout(GUARD):
            await fake.wait_for_messages(12)
        stop.set()
        await task
        records = r.outbox.records("2026-11")
    assert [q.status for q in fake.requests].count(429) == 1
    assert Counter(r.mailer.sent) == Counter(email_message(i).key for i in range(7))
    assert Counter(cid for cid, _ in fake.messages) == Counter(f"a:t{i}@x.org" for i in range(12))
    assert {doc["status"] for doc in records.values()} == {Status.SENT}


@pytest.mark.asyncio
async def test_each_entry_is_attempted_once_per_drain_once(tmp_path: Path) -> None:
    # A retry whose backoff came out as zero is due again at once: not in the same call.
    no_wait = RetryPolicy(max_attempts=5, base_delay=1e-9, max_delay=1e-9)  # rounds to 0 µs
    async with (
        FakeBotConnector(app_limit=1000) as fake,
        lanes(tmp_path / "db.json", fake, policy=no_wait) as r,
    ):
        fake.fail_next(503, times=1)
        r.outbox.enqueue([teams_message(0)], T0)
        assert await r.drainer.drain_once(r.clock[0]) == 1
        assert await r.drainer.drain_once(r.clock[0]) == 1
        assert await r.drainer.drain_once(r.clock[0]) == 0
    assert [q.status for q in fake.requests] == [503, 201]


class GatedMail:
    """A Mailer whose sends wait until `gate` is set."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.sent: list[str] = []  # the message ids (outbox keys) sent

    async def send_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> MeetingResult:
        raise AssertionError("no invites here")

    async def cancel_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> None:
        raise AssertionError("no invites here")

    async def send_mail(self, message: MailMessage) -> None:
        await self.gate.wait()
        self.sent.append(message.message_id or "")

    async def close(self) -> None:
        return None


def with_fallback(i: int) -> OutboundMessage:
    """A Teams message to someone without a chat with the bot, with an email version."""
    return replace(
        teams_message(i),
        key=f"announcement:2026-11:b1:nochat{i}@x.org",
        recipient=f"nochat{i}@x.org",
        data={"email_fallback": {"subject": "News", "body_text": "Programme news"}},
    )


@pytest.mark.asyncio
async def test_an_email_fallback_waits_in_the_email_lane_not_in_a_teams_slot(tmp_path: Path) -> None:
    mail = GatedMail()
    async with FakeBotConnector(app_limit=1000) as fake, aiohttp.ClientSession() as session:

        def reference_for(email: str) -> dict[str, str] | None:
            no_chat = email.startswith("nochat")
            return None if no_chat else {"service_url": fake.url, "conversation_id": f"a:{email}"}

        with Store(tmp_path / "db.json") as store:
            outbox = Outbox(store)
            limiter = RateLimiter(app_limits=((1000, 1.0),))
            teams = TeamsDeliverer(BotConnectorClient(session, NoAuth()), reference_for, limiter)
            email = MailDeliverer(mail, MeetingsRepository(store), "reflect@x.org")
            drainer = OutboxDrainer(
                outbox,
                ChannelDeliverer(teams, email),
                limiter,
                RetryPolicy(),
                lambda: T0,
                teams_concurrency=2,
                email_concurrency=1,
            )
            # More people without a chat than Teams slots, and ahead of everyone else.
            outbox.enqueue([with_fallback(i) for i in range(5)], T0 - timedelta(seconds=1))
            outbox.enqueue([teams_message(i) for i in range(9)], T0)
            task = asyncio.create_task(drainer.drain_once(T0))
            async with asyncio.timeout(GUARD):
                await fake.wait_for_messages(9)
            assert mail.sent == []  # every Teams message went out while the mailer held the fallbacks
            mail.gate.set()
            async with asyncio.timeout(GUARD):
                assert await task == 14
            records = outbox.records("2026-11")
    assert Counter(mail.sent) == Counter(with_fallback(i).key for i in range(5))
    assert Counter(cid for cid, _ in fake.messages) == Counter(f"a:t{i}@x.org" for i in range(9))
    assert {doc["status"] for doc in records.values()} == {Status.SENT}
    assert {key: doc["activity_id"] for key, doc in records.items() if "nochat" in key} == {
        with_fallback(i).key: f"email:{with_fallback(i).key}" for i in range(5)
    }


@pytest.mark.asyncio
async def test_unreachable_people_are_reported_in_one_batch_not_one_by_one(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    async def on_unreachable(emails: list[str]) -> None:
        calls.append(emails)

    async with FakeBotConnector(app_limit=1000) as fake, aiohttp.ClientSession() as session:
        with Store(tmp_path / "db.json") as store:
            outbox = Outbox(store)
            limiter = RateLimiter(app_limits=((1000, 1.0),))
            known = {f"t{i}@x.org" for i in range(0, 60, 3)}

            def reference_for(email: str) -> dict[str, str] | None:
                return {"service_url": fake.url, "conversation_id": f"a:{email}"} if email in known else None

            teams = TeamsDeliverer(BotConnectorClient(session, NoAuth()), reference_for, limiter)
            drainer = OutboxDrainer(
                outbox,
                teams,
                limiter,
                RetryPolicy(),
                lambda: T0,
                on_unreachable=on_unreachable,
                teams_concurrency=4,
            )
            outbox.enqueue([teams_message(i) for i in range(60)], T0)
            assert await drainer.drain_once(T0) == 60
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(f"t{i}@x.org" for i in range(60) if f"t{i}@x.org" not in known)
    assert len(fake.messages) == 20


@pytest.mark.asyncio
async def test_stop_lets_the_sends_under_way_finish_and_starts_no_more(tmp_path: Path) -> None:
    async with FakeBotConnector(app_limit=1000) as fake, lanes(tmp_path / "db.json", fake) as r:
        enqueue_emails_then_teams(r.outbox, emails=7, teams=6)
        stop = asyncio.Event()
        task = asyncio.create_task(r.drainer.run(stop, poll_seconds=0.01))
        async with asyncio.timeout(GUARD):
            await fake.wait_for_messages(6)
        stop.set()
        await asyncio.sleep(0.05)  # let the drainer see the stop: it still waits for the mailer
        assert not task.done() and r.mailer.waiting == 2
        r.mailer.gate.set()
        async with asyncio.timeout(GUARD):
            await task
        records = r.outbox.records("2026-11")
    emails = {key: doc for key, doc in records.items() if doc["channel"] == "email"}
    assert sorted(doc["status"] for doc in emails.values()) == ["pending"] * 5 + ["sent"] * 2
    assert {doc["attempts"] for doc in emails.values() if doc["status"] == "pending"} == {0}
    assert sorted(r.mailer.sent) == sorted(key for key, doc in emails.items() if doc["status"] == "sent")
