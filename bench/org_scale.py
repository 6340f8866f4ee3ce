"""Organisation-scale scenario: a generated HR roster through import, allocation, a pairing round,
the eve-of-session `run-due` (twice), and the bot under 1, 50 and 200 concurrent users.

    .venv/bin/python -m bench.org_scale --staff 2000
    .venv/bin/python -m bench.org_scale --staff 2000 --staff 20000   # prints the 20k/2k ratios

The bot is `reflect serve` in a child process (local mode) on a free port; its replies go to the
fake Bot Connector of tests/fakes, run here with its per-app limit lifted (replies to a person's
own message, not a broadcast). Users send `help` and answer their RSVP card (adaptiveCard/action).
Prints figures beside their targets; asserts nothing. The broadcast at Teams' 50/s is measured by
bench/broadcast.py (20,000 messages at 50/s take 400 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app as app_module  # noqa: E402
from bench.roster_gen import synthetic_roster  # noqa: E402
from programme.sessions import month_key, next_session  # noqa: E402
from service.config import load_settings  # noqa: E402
from service.services import Services  # noqa: E402
from store import Store  # noqa: E402
from tests.fakes.bot_connector import FakeBotConnector  # noqa: E402

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # import, allocate, rotate
EVE = datetime(2026, 12, 9, 9, 30, tzinfo=UTC)  # the day before the Thursday sessions
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
COLUMNS = (
    "email,name,role,service,working_days,hours_per_week,start_date,probation_end,"
    "facilitator,coordinator,aad_object_id,timezone"
).split(",")


@dataclass
class Figures:
    staff: int
    values: dict[str, float] = field(default_factory=dict)


def roster_csv(staff: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for p in synthetic_roster(staff, 7):
        writer.writerow(
            [
                p.email,
                p.name,
                p.role,
                p.service,
                " ".join(DAYS[d] for d in sorted(p.working_days)),
                p.hours_per_week or "",
                p.start_date or "",
                p.probation_end or "",
                "yes" if p.facilitator else "no",
                "yes" if p.coordinator else "no",
                p.aad_object_id,
                p.timezone,
            ]
        )
    return out.getvalue().encode()


def written_bytes() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io)."""
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def timed(figures: Figures, label: str, action: Any) -> Any:
    start = time.perf_counter()
    result = action()
    figures.values[label] = time.perf_counter() - start
    return result


def clock_scenario(figures: Figures, tmp: Path, settings_file: Path) -> None:
    db = tmp / "reflect.json"
    settings = load_settings(settings_file)
    raw = roster_csv(figures.staff)
    with Store(db) as store:
        services = Services.build(store, settings.programme, lambda: START)
        timed(figures, "import (s)", lambda: services.programme.import_roster(raw, "roster.csv", START))
        timed(figures, "allocate (s)", lambda: services.programme.allocate(START))
        timed(figures, "pairs rotate (s)", lambda: services.programme.rotate_pairs(START.date()))
    quiet = contextlib.redirect_stdout(io.StringIO())
    before = written_bytes()
    with quiet:
        timed(
            figures,
            "run-due, eve of session (s)",
            lambda: app_module.run_due(str(db), str(settings_file), EVE, dry_run=False, as_json=True),
        )
    disk = written_bytes() - before
    mail = sum(f.stat().st_size for f in (tmp / "mail").rglob("*") if f.is_file())
    figures.values["run-due disk written (MB)"] = disk / 1e6
    figures.values["mail produced (MB)"] = mail / 1e6
    figures.values["disk / mail"] = disk / max(mail, 1)
    with contextlib.redirect_stdout(io.StringIO()):
        timed(
            figures,
            "run-due, same moment again (s)",
            lambda: app_module.run_due(str(db), str(settings_file), EVE, dry_run=False, as_json=True),
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def activity(i: int, aad: str, service_url: str, rsvp: tuple[str, str] | None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "channelId": "msteams",
        "id": f"act-{i}-{time.monotonic_ns()}",
        "from": {"id": f"29:user-{i}", "aadObjectId": aad, "name": "Bench user"},
        "recipient": {"id": "28:bench-bot", "name": "Reflection"},
        "conversation": {"id": f"a:chat-{i}", "conversationType": "personal"},
        "channelData": {"tenant": {"id": "bench-tenant"}},
        "serviceUrl": service_url,
    }
    if rsvp is None:
        return {**base, "type": "message", "text": "help"}
    group, month = rsvp
    data = {"group": group, "month": month, "answer": "attending"}
    action = {"type": "Action.Execute", "verb": "rsvp.answer", "data": data}
    return {**base, "type": "invoke", "name": "adaptiveCard/action", "value": {"action": action}}


async def bot_load(
    url: str, users: list[tuple[str, tuple[str, str] | None]], service_url: str, concurrency: int, turns: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    queue = list(range(turns))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            nonlocal failures
            while queue:
                n = queue.pop()
                i = n % len(users)
                aad, rsvp = users[i]
                body = activity(i, aad, service_url, rsvp if n % 2 else None)
                start = time.perf_counter()
                async with session.post(url, json=body) as response:
                    await response.read()
                    if response.status >= 300:
                        failures += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, failures, elapsed


def bot_scenario(figures: Figures, tmp: Path, settings_file: Path) -> None:
    db = tmp / "reflect.json"
    settings = load_settings(settings_file)
    with Store(db) as store:
        services = Services.build(store, settings.programme, lambda: START)
        users: list[tuple[str, tuple[str, str] | None]] = []
        for person in list(services.programme.people().values())[:2000]:
            actor = services.programme.actor(person)
            rsvp = None
            if actor.member_of:
                group = actor.member_of[0]
                session = next_session(group, datetime.now(UTC), settings.programme)
                rsvp = (group.id, month_key(session.start.astimezone(settings.programme.zone).date()))
            if person.aad_object_id:
                users.append((person.aad_object_id, rsvp))
    port = free_port()
    bot_settings = tmp / "bot.toml"
    bot_settings.write_text(settings_file.read_text() + f"\n[bot]\nport = {port}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--db", str(db), "--settings", str(bot_settings)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(_drive_bot(figures, port, users))
        figures.values["bot peak memory (MB)"] = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


async def _drive_bot(figures: Figures, port: int, users: list[tuple[str, tuple[str, str] | None]]) -> None:
    url = f"http://127.0.0.1:{port}/api/messages"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.2)
    async with FakeBotConnector(app_limit=1_000_000) as fake:
        await bot_load(url, users, fake.url, 10, 100)  # warm-up: first contacts, caches
        for concurrency, turns in ((1, 200), (50, 1000), (200, 2000)):
            latencies, failures, elapsed = await bot_load(url, users, fake.url, concurrency, turns)
            latencies.sort()
            figures.values[f"bot x{concurrency} p50 (ms)"] = statistics.median(latencies) * 1000
            figures.values[f"bot x{concurrency} p99 (ms)"] = latencies[int(len(latencies) * 0.99) - 1] * 1000
            figures.values[f"bot x{concurrency} turns/s"] = turns / elapsed
            figures.values[f"bot x{concurrency} failures"] = failures


TARGETS = {
    "run-due, eve of session (s)": "<= 30 at 20k",
    "run-due, same moment again (s)": "<= 2",
    "disk / mail": "<= 10",
    "bot x1 p50 (ms)": "<= 20",
    "bot x200 p99 (ms)": "<= 1000",
    "bot x200 turns/s": ">= 200",
    "bot x200 failures": "0",
    "bot peak memory (MB)": "<= 400",
}


def run(staff: int) -> Figures:
    figures = Figures(staff)
    with tempfile.TemporaryDirectory(prefix="reflect-org-") as name:
        tmp = Path(name)
        settings_file = tmp / "reflect.toml"
        settings_file.write_text(f'[mail]\nbackend = "pickup"\npickup_dir = "{tmp}/mail"\n')
        clock_scenario(figures, tmp, settings_file)
        bot_scenario(figures, tmp, settings_file)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--staff", type=int, action="append", help="roster size (repeat for ratios)")
    args = parser.parse_args()
    sizes = args.staff or [2000]
    results = [run(n) for n in sizes]
    header = f"{'figure':<34}" + "".join(f"{n:>12,}" for n in sizes)
    if len(sizes) > 1:
        header += f"{'ratio':>9}"
    print(header + "   target")
    for label in results[0].values:
        row = f"{label:<34}" + "".join(f"{r.values.get(label, float('nan')):>12.2f}" for r in results)
        if len(sizes) > 1:
            first = results[0].values.get(label) or float("nan")
            row += f"{results[-1].values.get(label, float('nan')) / first:>9.2f}"
        print(row + "   " + TARGETS.get(label, ""))


if __name__ == "__main__":
    main()
