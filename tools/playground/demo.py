"""Run the bot with the Microsoft 365 Agents Playground on a fresh demo programme (`./run.sh`).

    python tools/playground/demo.py [--bot-port N] [--playground-port N] [--data DIR]

Loads the demo roster into a fresh TinyDB file, allocates the groups of its two programmes (monthly
peer reflection groups with peer pairs, and reflective practice by team, in person) and a pairing
round, sends the next sessions' meeting requests into the demo's mail folder, starts the
bot (`python app.py`) on 127.0.0.1:3978 and the Playground on a free loopback port with a mock
tenant whose six users are on that roster, prints where to look (and both processes' ids), and
stops both on Ctrl-C or SIGTERM, then exits 0 (1 when one of them stopped by itself).

Everything the demo writes is in the data directory (default `data/demo/`, emptied first): the
data file, its own settings file `demo.toml` (the bot's port; mail into `mail/` there, never a real
server; a `./reflect.toml` is not read), the Playground's tenant file and the logs. A `--data`
directory that is not empty is only emptied when an earlier demo made it (`.reflect-demo`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLI = HERE / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
ROSTER = ROOT / "examples" / "demo-roster.csv"
DATA = ROOT / "data" / "demo"
MARKER = ".reflect-demo"  # written into a data directory the demo made, so it may empty it next time
BOT_PORT = 3978
# The Bot Framework credentials: the Playground cannot authenticate, so the demo bot runs without.
BOT_CREDENTIALS = ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppType", "MicrosoftAppTenantId")
# Priya facilitates a Health Coach group and coordinates the programme; the others are on the roster.
CURRENT_USER = "priya.young10@example.org"
OTHER_USERS = (
    "ben.clarke1@example.org",
    "ben.green12@example.org",
    "femi.iqbal53@example.org",
    "tom.taylor28@example.org",
    "uma.brown0@example.org",
)
STOP_SECONDS = 10  # how long each process gets to stop after SIGTERM before it is killed


class ChildStopped(Exception):
    """The bot or the Playground exited while the demo was running."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


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


# The demo's two programmes (README, "Programmes"): v1's monthly role groups with peer pairs, and
# reflective practice in existing teams, in person, with a member keeping time.
PROGRAMMES = """\
[[programmes]]
id = "main"
name = "Peer reflection"
kind = ["groups", "pairs"]

[[programmes]]
id = "practice"
name = "Reflective practice"
kind = "groups"
formation = "team"
facilitation = "rotating"
venue = "Meeting room 2, Head Office"
weekday = "Tuesday"
fallback_weekdays = ["Wednesday"]
time = "14:00"
themes = ["Caseload", "Safeguarding", "Team communication"]
"""
PRACTICE_WEEKDAY = 1  # Tuesday, as above


def settings_text(data: Path, bot_port: int) -> str:
    """The demo's settings file: its two programmes, the bot's port, mail into the data directory."""
    return (
        "# Written by tools/playground/demo.py for this demo run.\n"
        f"{PROGRAMMES}\n"
        "[bot]\n"
        'host = "127.0.0.1"\n'
        f"port = {bot_port}\n\n"
        "[mail]\n"
        'backend = "pickup"\n'
        f"pickup_dir = {json.dumps(str(data / 'mail'))}\n"
    )


def fresh_data_dir(data: Path) -> None:
    """Empty `data` (only the default one or one an earlier demo made), then mark it as the demo's."""
    if data.exists() and any(data.iterdir()) and data != DATA and not (data / MARKER).exists():
        raise SystemExit(f"{data} is not empty and not a demo data directory: choose another --data")
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    (data / MARKER).write_text("made by tools/playground/demo.py; emptied by the next demo run\n")


def next_session_month(weekday: int = 3) -> str:
    """The month of a programme's next session on `weekday` (this month's, if it is still to come)."""
    from programme.calendar import main_session_date
    from programme.settings import ProgrammeSettings

    today = datetime.now(UTC).date()
    if main_session_date(today.year, today.month, ProgrammeSettings(weekday=weekday)) >= today:
        return f"{today.year:04d}-{today.month:02d}"
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year:04d}-{month:02d}"


def reflect(data: Path, *args: str) -> None:
    """Run a `reflect` command on the demo data file."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            *args,
            "--db",
            str(data / "reflect.json"),
            "--settings",
            str(data / "demo.toml"),
        ],
        check=True,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def wait_for(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 60) -> None:
    """Poll `url` until it answers 200, or fail if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChildStopped(f"{what} exited with status {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise ChildStopped(f"{what} did not start within {seconds:.0f} s")


def check_listening(log: Path, port: int) -> None:
    """The Playground moves to another port, silently, when its own is taken: then the service URL
    the bot replies to would be wrong."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    found = re.search(r"^Listening on (\d+)$", text, re.MULTILINE)
    if found is not None and int(found.group(1)) != port:
        raise ChildStopped(f"the Agents Playground did not get port {port} (it took {found.group(1)})")


def stop_all(started: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process (by its own id), wait, and kill any that is still there."""
    for process in reversed(started):
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def watch(started: Sequence[subprocess.Popen[bytes]]) -> None:
    """Until Ctrl-C or SIGTERM (KeyboardInterrupt); ChildStopped if a process exits by itself."""
    while all(process.poll() is None for process in started):
        time.sleep(0.5)
    raise ChildStopped("the bot or the Playground stopped by itself")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bot-port", type=int, default=BOT_PORT, help=f"the bot's port (default {BOT_PORT})")
    parser.add_argument(
        "--playground-port", type=int, default=0, help="the Playground's port (default: a free one)"
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="the demo's data directory, emptied first (default data/demo)"
    )
    return parser.parse_args(argv)


def shown(path: Path) -> str:
    """`path` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Set up the demo, run until Ctrl-C or SIGTERM, stop everything started."""
    # SIGTERM behaves like Ctrl-C from here on (KeyboardInterrupt), so either one, even while
    # starting up, ends in the `finally` below that stops the bot and the Playground.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = parse_args(argv)
    data = args.data.resolve()
    if not CLI.exists():
        raise SystemExit("the Agents Playground is not installed: run ./scripts/setup.sh")
    if port_in_use(args.bot_port):
        raise SystemExit(f"port {args.bot_port} is in use: stop whatever runs there first")
    port = args.playground_port or free_port()
    if args.playground_port and port_in_use(port):
        raise SystemExit(f"port {port} is in use: stop whatever runs there first")

    fresh_data_dir(data)
    (data / "demo.toml").write_text(settings_text(data, args.bot_port), encoding="utf-8")
    tenant = data / "playground.json"
    tenant.write_text(json.dumps(tenant_config(), indent=2) + "\n", encoding="utf-8")
    try:
        reflect(data, "roster", "import", str(ROSTER))
        reflect(data, "groups", "allocate")
        reflect(data, "pairs", "rotate")
        # The meeting requests of the next sessions, as .eml files in the demo's mail folder.
        reflect(data, "invites", "send", "--programme", "main", "--month", next_session_month())
        reflect(
            data,
            "invites",
            "send",
            "--programme",
            "practice",
            "--month",
            next_session_month(PRACTICE_WEEKDAY),
        )
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"setting up the demo programme failed: {error}") from None
    except KeyboardInterrupt:
        print("Stopped before the demo started.", flush=True)
        return 0

    bot_env = {key: value for key, value in os.environ.items() if key not in BOT_CREDENTIALS}
    pg_env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_"))
        },
        "TEAMSAPPTESTER_BROWSER": "none",
        "APPLICATION_INSIGHTS_NO_STATSBEAT": "true",
        "NO_UPDATE_NOTIFIER": "1",
        "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(tenant),
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(data / "playground-console.log"),
    }
    started: list[subprocess.Popen[bytes]] = []
    status = 0
    try:
        with (data / "bot.log").open("wb") as bot_log, (data / "playground.log").open("wb") as pg_log:
            bot = subprocess.Popen(
                [
                    sys.executable,
                    "app.py",
                    "--db",
                    str(data / "reflect.json"),
                    "--settings",
                    str(data / "demo.toml"),
                ],
                cwd=ROOT,
                env=bot_env,
                stdin=subprocess.DEVNULL,
                stdout=bot_log,
                stderr=subprocess.STDOUT,
            )
            started.append(bot)
            wait_for(f"http://127.0.0.1:{args.bot_port}/healthz", bot, "the bot")
            playground = subprocess.Popen(
                [
                    shutil.which("node") or "node",
                    "-r",
                    str(HERE / "loopback.cjs"),
                    str(CLI),
                    "-e",
                    f"http://127.0.0.1:{args.bot_port}/api/messages",
                    "-c",
                    "msteams",
                    "-p",
                    str(port),
                    "--service-url",
                    f"http://127.0.0.1:{port}/_connector",
                    "--disable-telemetry",
                ],
                cwd=data,
                env=pg_env,
                stdin=subprocess.DEVNULL,
                stdout=pg_log,
                stderr=subprocess.STDOUT,
            )
            started.append(playground)
            wait_for(f"http://127.0.0.1:{port}/_debug/ping", playground, "the Agents Playground")
            check_listening(data / "playground.log", port)
            print(
                f"\nThe bot (pid {bot.pid}): http://127.0.0.1:{args.bot_port}/api/messages"
                f" (data: {shown(data / 'reflect.json')}).\n"
                f"Open the Agents Playground (pid {playground.pid}): http://127.0.0.1:{port}/\n"
                "You are Priya Young, facilitator and coordinator. Try: help, intro, coming, attendance,\n"
                f"announce, escalations, report. Meeting requests: {shown(data / 'mail')}/*.eml.\n"
                f"Logs: {shown(data)}/*.log. Stop with Ctrl-C.\n",
                flush=True,
            )
            watch(started)
    except KeyboardInterrupt:
        pass
    except ChildStopped as stopped:
        print(f"{stopped}; see {shown(data)}/*.log", file=sys.stderr, flush=True)
        status = 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave a process behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(started)
    print("Stopped the bot and the Playground.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
