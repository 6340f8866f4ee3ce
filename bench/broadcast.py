"""Broadcast benchmark: enqueue 20,000 messages, then drain them through the fake Bot Connector.

At Teams' 50 requests/s a 20,000-recipient drain takes 400 s, so the drain runs with the app
limit raised (default 2,000/s, on both the limiter and the fake) and reports the rate achieved
as a ratio of that limit. Prints figures; asserts nothing.

    .venv/bin/python bench/broadcast.py [--recipients 20000] [--app-limit 2000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.delivery import TeamsDeliverer  # noqa: E402
from service.outbox import OutboundMessage, Outbox  # noqa: E402
from service.outbox_drainer import OutboxDrainer  # noqa: E402
from store import Store  # noqa: E402
from support.rate_limit import RateLimiter  # noqa: E402
from support.retry import RetryPolicy  # noqa: E402
from teams_bot.connector import BotConnectorClient, NoAuth  # noqa: E402
from tests.fakes.bot_connector import FakeBotConnector  # noqa: E402

NOW = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
MARGIN = 0.1  # the RateLimiter default
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Programme announcement", "weight": "Bolder", "size": "Medium"},
        {"type": "TextBlock", "text": "Reflection groups move to the second Thursday. " * 12, "wrap": True},
    ],
    "actions": [{"type": "Action.OpenUrl", "title": "Read more", "url": "https://intranet.example/peer"}],
}


def broadcast(n: int) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            key=f"announcement:2026-11:a1:person{i}@example.org",
            period="2026-11",
            recipient=f"person{i}@example.org",
            kind="announcement",
            card=CARD,
            text="Programme announcement",
            batch="a1",
        )
        for i in range(n)
    ]


def timed(label: str, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"{label:<46} {seconds:8.3f} s")
    return seconds


async def drain(outbox: Outbox, n: int, app_limit: int, concurrency: int) -> None:
    async with FakeBotConnector(app_limit=app_limit) as fake, aiohttp.ClientSession() as session:
        references = {
            f"person{i}@example.org": {"service_url": fake.url, "conversation_id": f"a:{i}"} for i in range(n)
        }
        limiter = RateLimiter(app_limits=((app_limit, 1.0),), margin=MARGIN)
        deliverer = TeamsDeliverer(BotConnectorClient(session, NoAuth()), references.get, limiter)
        drainer = OutboxDrainer(
            outbox,
            deliverer,
            limiter,
            RetryPolicy(),
            lambda: NOW,
            teams_concurrency=concurrency,
            batch_size=4 * concurrency,
            rng=random.Random(1),
        )
        start = time.perf_counter()
        while await drainer.drain_once(NOW):
            pass
        seconds = time.perf_counter() - start
        rate = n / seconds
        print(f"drain {n} at app limit {app_limit}/s, concurrency {concurrency}: {seconds:8.3f} s")
        ceiling = app_limit / (1.0 + MARGIN)
        print(f"  achieved {rate:,.0f} requests/s = {rate / app_limit:.2f} of the limit")
        print(
            f"  (limiter ceiling with its {MARGIN} s jitter margin: "
            f"{ceiling:,.0f}/s = {ceiling / app_limit:.2f} of the limit)"
        )
        print(
            f"  429s from the fake's own limits: {fake.throttled}; messages delivered: {len(fake.messages)}"
        )
        print(f"  conversations tracked by the limiter: {limiter.tracked_conversations}")
        print(f"  batch counts: {outbox.batch_counts('a1')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--app-limit", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    messages = broadcast(args.recipients)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.json") as store:
        outbox = Outbox(store)
        timed(f"enqueue {args.recipients} (one broadcast)", lambda: outbox.enqueue(messages, NOW))
        timed(
            f"enqueue the same {args.recipients} again (all skipped)", lambda: outbox.enqueue(messages, NOW)
        )
        timed("due(limit=500), index current", lambda: outbox.due(NOW, 500))
        timed("due(limit=500), first poll of a new process", lambda: Outbox(store).due(NOW, 500))
        asyncio.run(drain(outbox, args.recipients, args.app_limit, args.concurrency))
        timed("due(limit=500) after the drain (nothing due)", lambda: outbox.due(NOW, 500))


if __name__ == "__main__":
    main()
