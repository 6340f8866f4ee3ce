"""Run the bot with the Microsoft 365 Agents Playground on a fresh demo programme (`./run.sh`).

Loads the demo roster into a fresh TinyDB file, allocates groups and a pairing round, starts the
bot (`reflect serve`) on 127.0.0.1:3978 and the Playground on a free loopback port with a mock
tenant whose six users are on that roster, prints where to look, and stops both on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLI = HERE / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
ROSTER = ROOT / "examples" / "demo-roster.csv"
DATA = ROOT / "data" / "demo"
BOT_PORT = 3978
# Priya facilitates a Health Coach group and coordinates the programme; the others are on the roster.
CURRENT_USER = "priya.young10@example.org"
OTHER_USERS = (
    "ben.clarke1@example.org",
    "ben.green12@example.org",
    "femi.iqbal53@example.org",
    "tom.taylor28@example.org",
    "uma.brown0@example.org",
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reflect(*args: str) -> None:
    """Run a `reflect` command on the demo data file."""
    subprocess.run(
        [sys.executable, "-m", "service.cli", *args, "--db", str(DATA / "reflect.json")], check=True, cwd=ROOT
    )


def tenant_user(row: dict[str, str], n: int) -> dict[str, str]:
    given, _, surname = row["name"].partition(" ")
    return {
        "id": f"29:demo-user-{n}",
        "name": row["name"],
        "userPrincipleName": row["email"],  # sic: the Playground's spelling
        "aadObjectId": row["aad_object_id"],
        "givenName": given,
        "surname": surname,
        "email": row["email"],
    }


def tenant_config() -> dict[str, object]:
    """The mock tenant: six users from the demo roster."""
    import csv

    with ROSTER.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["email"]: row for row in csv.DictReader(handle)}
    users = [tenant_user(rows[email], n) for n, email in enumerate(OTHER_USERS, start=1)]
    return {
        "version": "0.1.1",
        "tenantId": "00000000-0000-4000-8000-0000000000aa",
        "bot": {"id": "28:reflection-bot", "name": "Peer Reflection"},
        "currentUser": tenant_user(rows[CURRENT_USER], 0),
        "users": users,
        "personalChat": {"id": "personal-chat-priya"},
        "groupChat": {"id": "group-chat-demo", "name": "Reflection demo"},
        "team": {
            "id": "team-demo",
            "name": "Wellbeing services",
            "aadGroupId": "team-demo-aad",
            "channels": [],
        },
    }


def wait_for(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 60) -> None:
    """Poll `url` until it answers 200, or fail if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{what} did not start within {seconds:.0f} s")


def main() -> int:
    """Set up the demo, run until Ctrl-C, stop everything started."""
    if not CLI.exists():
        raise SystemExit("the Agents Playground is not installed: run ./scripts/setup.sh")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", BOT_PORT)) == 0:
            raise SystemExit(f"port {BOT_PORT} is in use: stop whatever runs there first")
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    reflect("roster", "import", str(ROSTER))
    reflect("groups", "allocate")
    reflect("pairs", "rotate")

    tenant = DATA / "playground.json"
    tenant.write_text(json.dumps(tenant_config(), indent=2) + "\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "REFLECT_DB": str(DATA / "reflect.json")}
    started: list[subprocess.Popen[bytes]] = []
    try:
        with (DATA / "bot.log").open("wb") as bot_log, (DATA / "playground.log").open("wb") as pg_log:
            bot = subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=bot_log, stderr=subprocess.STDOUT
            )
            started.append(bot)
            wait_for(f"http://127.0.0.1:{BOT_PORT}/healthz", bot, "the bot")
            pg_env = {
                **os.environ,
                "TEAMSAPPTESTER_BROWSER": "none",
                "APPLICATION_INSIGHTS_NO_STATSBEAT": "true",
                "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(tenant),
                "M365_AGENTS_PLAYGROUND_LOGFILE": str(DATA / "playground-console.log"),
            }
            playground = subprocess.Popen(
                [
                    shutil.which("node") or "node",
                    "-r",
                    str(HERE / "loopback.cjs"),
                    str(CLI),
                    "-e",
                    f"http://127.0.0.1:{BOT_PORT}/api/messages",
                    "-c",
                    "msteams",
                    "-p",
                    str(port),
                    "--service-url",
                    f"http://127.0.0.1:{port}/_connector",
                    "--disable-telemetry",
                ],
                cwd=DATA,
                env=pg_env,
                stdout=pg_log,
                stderr=subprocess.STDOUT,
            )
            started.append(playground)
            wait_for(f"http://127.0.0.1:{port}/_debug/ping", playground, "the Agents Playground")
            print(
                f"\nThe bot: http://127.0.0.1:{BOT_PORT}/api/messages (data: {DATA / 'reflect.json'}).\n"
                f"Open the Agents Playground: http://127.0.0.1:{port}/\n"
                "You are Priya Young, facilitator and coordinator. Try: help, intro, coming, attendance,\n"
                "announce, escalations. Logs: data/demo/*.log. Stop with Ctrl-C.\n",
                flush=True,
            )
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            while not stop.wait(0.5):
                if any(process.poll() is not None for process in started):
                    print("The bot or the Playground stopped; see data/demo/*.log.", file=sys.stderr)
                    break
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    print("Stopped the bot and the Playground.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
