"""A broadcast at Teams' own limits, killed mid-way and resumed.

    .venv/bin/python -m bench.broadcast_limit --recipients 20000 --kill-after 60

N recipients are queued as one announcement; a child process (`reflect serve`'s drainer: the
outbox, the rate limiter and the Teams deliverer as configured for production) delivers them to
a fake Bot Connector here that enforces Teams' limits (50/s per app; 7/1 s, 8/2 s, 60/30 s per
conversation; 429 with Retry-After). After --kill-after seconds the child is killed with SIGKILL
and a new one finishes the job. Prints the sustained rate against the 50/s cap, 429s, failures,
recipients missed and duplicates (at most the messages that were in flight at the kill).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from programme.identity import ConversationReference  # noqa: E402
from repositories.links import TeamsLinksRepository  # noqa: E402
from repositories.people import PeopleRepository  # noqa: E402
from service.outbox import OutboundMessage, Outbox  # noqa: E402
from store import Store  # noqa: E402
from tests.fakes.bot_connector import FakeBotConnector  # noqa: E402

NOW = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
CAP = 50
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Reflection groups move to the second Thursday.", "wrap": True}],
}

_CHILD = """
import asyncio, sys
from datetime import UTC, datetime
from cards.outbound import CardMessages
from support.config import BotSettings
from service.services import Services
from programme.settings import ProgrammeSettings
from store import Store
from app import outbox_drainer

async def main():
    with Store(sys.argv[1]) as store:
        settings, clock = ProgrammeSettings(), lambda: datetime.now(UTC)
        services = Services.build(store, settings, clock, messages=CardMessages())
        async with outbox_drainer(services, BotSettings(), None) as drainer:
            while services.outbox.batch_counts("a1")["pending"]:
                if not await drainer.drain_once(datetime.now(UTC)):
                    await asyncio.sleep(0.2)  # retries wait for their time

asyncio.run(main())
"""


def prepare(db: Path, recipients: int, service_url: str) -> None:
    emails = [f"person{i}@example.org" for i in range(recipients)]
    with Store(db) as store:
        PeopleRepository(store)  # the production layout
        TeamsLinksRepository(store).save_references(
            {
                email: ConversationReference("tenant", service_url, f"a:{i}", "28:bot", f"29:{i}")
                for i, email in enumerate(emails)
            }
        )
        Outbox(store).enqueue(
            [
                OutboundMessage(
                    key=f"announcement:2026-11:a1:{email}",
                    period="2026-11",
                    recipient=email,
                    kind="announcement",
                    card=CARD,
                    text="Programme announcement",
                    batch="a1",
                )
                for email in emails
            ],
            NOW,
        )


async def drain(db: Path, kill_after: float | None) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gaps: list[float] = []
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(db), NOW.isoformat(), cwd=ROOT, env=env
    )
    if kill_after is not None:
        try:
            await asyncio.wait_for(child.wait(), kill_after)
        except TimeoutError:
            child.send_signal(signal.SIGKILL)
            await child.wait()
            killed = time.monotonic()
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _CHILD, str(db), NOW.isoformat(), cwd=ROOT, env=env
            )
            gaps.append(killed)
    await child.wait()
    return gaps


async def run(recipients: int, kill_after: float | None) -> None:
    with tempfile.TemporaryDirectory(prefix="reflect-broadcast-") as tmp:
        db = Path(tmp) / "reflect.json"
        async with FakeBotConnector(app_limit=CAP) as fake:
            await asyncio.to_thread(prepare, db, recipients, fake.url)
            start = time.monotonic()
            kills = await drain(db, kill_after)
            elapsed = time.monotonic() - start
            accepted = sorted(r.time for r in fake.requests if r.method == "POST" and r.status < 300)
            per_conversation = Counter(cid for cid, _ in fake.messages)
            with Store(db) as store:
                counts = Outbox(store).batch_counts("a1")
        restart_gap = 0.0
        first = [t for t in accepted if not kills or t <= kills[0]]
        first_rate = (len(first) - 1) / (first[-1] - first[0]) if len(first) > 1 else 0.0
        if kills:
            # The restart (a new process opening the store) is not the limiter's doing: leave it out.
            before = [t for t in accepted if t <= kills[0]]
            after = [t for t in accepted if t > kills[0]]
            if before and after:
                restart_gap = after[0] - before[-1]
        sustained = (
            (len(accepted) - 1) / (accepted[-1] - accepted[0] - restart_gap) if len(accepted) > 1 else 0
        )
        missed = recipients - len(per_conversation)
        duplicates = sum(n - 1 for n in per_conversation.values() if n > 1)
        print(f"recipients                {recipients:>10,}")
        print(f"elapsed                   {elapsed:>10.1f} s (restart gap {restart_gap:.1f} s)")
        share = sustained / CAP
        print(
            f"sustained rate            {sustained:>10.1f} /s = {share:.3f} of the 50/s cap (target >= 0.95)"
        )
        print(f"rate until the kill       {first_rate:>10.1f} /s = {first_rate / CAP:.3f} of the cap")
        print(f"429s from the fake        {fake.throttled:>10,} (retried, not failures)")
        print(
            f"outbox: sent / failed / unreachable / pending  {counts['sent']:,} / {counts['failed']} / "
            f"{counts['unreachable']} / {counts['pending']}"
        )
        print(f"killed mid-broadcast      {'yes' if kills else 'no':>10}")
        print(f"recipients missed         {missed:>10,} (target 0)")
        print(
            f"duplicates                {duplicates:>10,} (at most the 32 Teams sends in flight at the kill)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--kill-after", type=float, default=60.0, help="seconds; 0 = no kill")
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.kill_after or None))


if __name__ == "__main__":
    main()
