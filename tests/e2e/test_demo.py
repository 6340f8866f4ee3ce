"""The demo command (`./run.sh` = `python tools/playground/demo.py`) started in a test, driven through
one flow via the Playground API, and stopped, leaving no process behind.

The demo runs as a subprocess exactly as run.sh starts it, only with free ports and a temporary data
directory (`--bot-port`, `--playground-port`, `--data`). The test waits for the Playground URL it
prints, finds its children through /proc (and checks they are the two pids it printed), talks to
its Playground over HTTP and the websockets (tests/e2e/playground.py attached to the running
process, not spawning one), then stops it as a terminal's Ctrl-C does (SIGINT to the foreground
process group) or as `kill PID` does (SIGTERM to the demo alone), and checks that the demo exits 0,
says so, and that no process of it is left and both ports are closed.
"""

from __future__ import annotations

import asyncio
import email
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")

import aiohttp  # noqa: E402

from tests.card_reading import card_text, find_action, heading  # noqa: E402
from tests.e2e.conftest import card_of  # noqa: E402
from tests.e2e.playground import (  # noqa: E402
    REPO_ROOT,
    BotActivity,
    Playground,
    User,
    free_port,
    playground_available,
)

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(240)

DEMO = REPO_ROOT / "tools" / "playground" / "demo.py"
BOT_LINE = re.compile(r"^The bot \(pid (\d+)\): http://127\.0\.0\.1:(\d+)/api/messages", re.MULTILINE)
PG_LINE = re.compile(
    r"^Open the Agents Playground \(pid (\d+)\): (http://127\.0\.0\.1:(\d+))/$", re.MULTILINE
)
STOPPED = "Stopped the bot and the Playground."
START_SECONDS = 120  # three `reflect` commands, the bot and node on a loaded machine
STOP_SECONDS = 25  # the demo gives each process 10 s after SIGTERM, then kills it

# Priya Young (the Playground's current user) facilitates "Health Coach, Thursday 1"; these four of
# its members are the tenant's other users (demo.py's OTHER_USERS), the fifth is in another group.
MEMBER_EMAILS = (
    "ben.clarke1@example.org",
    "ben.green12@example.org",
    "femi.iqbal53@example.org",
    "tom.taylor28@example.org",
)
GROUP_NAME = "Health Coach, Thursday 1"


# ----------------------------------------------------------------------------------------- /proc
def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time, state) of a live or zombie process, None when there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), int(fields[19]), fields[0]


def _descendants(root: int) -> dict[int, int]:
    """Every process below `root`, by pid -> start time (so a reused pid is not mistaken for it)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            children.setdefault(st[0], []).append((int(entry.name), st[1]))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            found[pid] = start
            todo.append(pid)
    return found


def _running(pid: int, start: int) -> bool:
    st = _stat(pid)
    return st is not None and st[1] == start and st[2] != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


# ----------------------------------------------------------------------------------------- demo
@dataclass
class Demo:
    """The demo process, its output (read by a thread so the pipe never fills) and what it printed."""

    data: Path
    bot_port: int
    pg_port: int
    proc: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(DEMO),
                "--bot-port",
                str(self.bot_port),
                "--playground-port",
                str(self.pg_port),
                "--data",
                str(self.data),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a shell job in a terminal is
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self) -> tuple[int, int, str]:
        """(bot pid, Playground pid, Playground URL) once the demo has printed them."""
        assert self.proc is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            bot, pg = BOT_LINE.search(self.output), PG_LINE.search(self.output)
            if bot and pg:
                assert int(bot.group(2)) == self.bot_port and int(pg.group(3)) == self.pg_port
                return int(bot.group(1)), int(pg.group(1)), pg.group(2)
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the demo exited with {self.proc.returncode} before it was ready:\n{self.output}"
                )
            time.sleep(0.1)
        pytest.fail(f"the demo printed no Playground URL within {START_SECONDS} s:\n{self.output}")

    def wait_exit(self, seconds: float) -> int | None:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code

    def logs(self) -> str:
        out = [f"---- demo output ----\n{self.output[-4000:]}"]
        for name in ("bot.log", "playground.log", "playground-console.log"):
            path = self.data / name
            if path.exists():
                out.append(f"---- {name} ----\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def kill_everything(self) -> None:
        """After a failure: SIGKILL the demo's process group (its own, made for it)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    ports = set()
    while len(ports) < 2:
        ports.add(free_port())
    bot_port, pg_port = sorted(ports)
    running = Demo(tmp_path / "demo-data", bot_port, pg_port)
    try:
        yield running
    finally:
        print(running.logs())  # pytest shows it when the test failed
        leftover = _descendants(running.proc.pid) if running.proc is not None else {}
        running.kill_everything()
        for pid, start in leftover.items():  # anything that left the group: by its own pid
            if _running(pid, start):
                os.kill(pid, signal.SIGKILL)


def _started(demo: Demo) -> tuple[dict[int, int], str]:
    """Start the demo; its processes (bot and Playground, checked against what it printed) and URL."""
    demo.start()
    bot_pid, pg_pid, url = demo.wait_ready()
    assert demo.proc is not None
    below = _descendants(demo.proc.pid)
    children = {pid for pid in below if (st := _stat(pid)) is not None and st[0] == demo.proc.pid}
    assert children == {bot_pid, pg_pid}, (children, bot_pid, pg_pid)
    assert _port_open(demo.bot_port) and _port_open(demo.pg_port)
    return below, url


def _assert_stopped(demo: Demo, processes: dict[int, int], started_at: float) -> None:
    code = demo.wait_exit(STOP_SECONDS)
    took = time.monotonic() - started_at
    assert code is not None, f"the demo did not exit within {STOP_SECONDS} s of the signal"
    assert code == 0, f"the demo exited with {code}:\n{demo.output}"
    assert demo.output.rstrip().endswith(STOPPED), demo.output[-2000:]
    left = [pid for pid, start in processes.items() if _running(pid, start)]
    assert left == [], f"left running: {left}"
    assert not _port_open(demo.bot_port) and not _port_open(demo.pg_port)
    print(f"demo stopped {took:.1f} s after the signal")


# ----------------------------------------------------------------------------------------- flow
def _attach(demo: Demo, url: str) -> Playground:
    """The harness's client for the demo's own Playground (it spawns nothing: `start()` is not called)."""
    tenant = json.loads((demo.data / "playground.json").read_text(encoding="utf-8"))
    pg = Playground(
        f"http://127.0.0.1:{demo.bot_port}/api/messages",
        [User.from_mapping(u) for u in tenant["users"]],
        User.from_mapping(tenant["currentUser"]),
        tenant_id=tenant["tenantId"],
        bot_id=tenant["bot"]["id"],
        bot_name=tenant["bot"]["name"],
        personal_chat_id=tenant["personalChat"]["id"],
        port=demo.pg_port,
        workdir=demo.data,  # not the harness's own: cleanup() leaves it alone
    )
    assert pg.base_url == url
    return pg


async def _connect(pg: Playground) -> None:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    pg._session = session
    await pg.conv.start(session, f"{pg.base_url}/_ws_conversation/v1/conversations/stream")
    await pg.log.start(session, f"{pg.base_url}/_ws/log/stream")


def _headed(start: str) -> Callable[[dict[str, Any]], bool]:
    """A UI message whose card's heading starts with `start` (the bot's own scheduled messages,
    e.g. this month's peer check, may arrive in the same chat in between)."""
    return lambda message: heading(card_of(message)).startswith(start)


def _card(activity: BotActivity | dict[str, Any]) -> dict[str, Any]:
    card = card_of(activity)
    assert card is not None, activity
    return card


async def _introductions_reach_the_members(pg: Playground) -> None:
    """Priya installs the app (welcome card in her chat), four members install it, she opens the
    introduction console and sends; each member gets the introduction, one answers it, and Priya's
    `coming` shows the answer."""
    priya = pg.current_user
    members = [u for u in pg.users if u.email in MEMBER_EMAILS]
    assert len(members) == len(MEMBER_EMAILS)

    mark = pg.mark()
    await pg.install(pg.personal_chat_id)
    welcome = await pg.wait_for_message(pg.personal_chat_id, _headed("Welcome"), timeout=30, since=mark)
    assert heading(_card(welcome)) == f"Welcome, {priya.name}"
    assert "As a facilitator" in card_text(_card(welcome))

    chats: dict[str, str] = {}
    lmark = pg.log_mark()
    for member in members:
        chats[member.id] = await pg.install_for(member.id)
    for member in members:
        got = await pg.wait_for_bot_message(
            chats[member.id], lambda a: heading(card_of(a)).startswith("Welcome"), 30, lmark
        )
        assert heading(_card(got)) == f"Welcome, {member.name}"

    mark = pg.mark()
    await pg.send_text(pg.personal_chat_id, priya.id, "intro")
    console_msg = await pg.wait_for_message(
        pg.personal_chat_id, _headed("Introduce yourself"), timeout=30, since=mark
    )
    console = _card(console_msg)
    assert GROUP_NAME in card_text(console)
    send = find_action(console, "intro.send")

    lmark = pg.log_mark()
    note = "Looking forward to our first session together."
    answer = await pg.invoke_action(
        pg.personal_chat_id,
        priya.id,
        console_msg["messageId"],
        "intro.send",
        {**send["data"], "intro_message": note},
    )
    assert "Introductions queued for" in card_text(answer["value"]), answer

    intros: dict[str, BotActivity] = {}
    for member in members:
        intros[member.id] = await pg.wait_for_bot_message(
            chats[member.id], lambda a: heading(card_of(a)).endswith(f"introduces {GROUP_NAME}"), 30, lmark
        )
        card = _card(intros[member.id])
        assert heading(card) == f"{priya.name} introduces {GROUP_NAME}"
        assert note in card_text(card)

    ben = members[0]
    attend = find_action(_card(intros[ben.id]), "rsvp.answer", answer="attending")
    message_id = intros[ben.id].id
    assert message_id
    answered = await pg.invoke_action(chats[ben.id], ben.id, message_id, "rsvp.answer", attend["data"])
    assert "Your answer: Attending" in card_text(answered["value"]), answered

    mark = pg.mark()
    await pg.send_text(pg.personal_chat_id, priya.id, "coming")
    coming = _card(
        await pg.wait_for_message(pg.personal_chat_id, _headed("Who is coming"), timeout=30, since=mark)
    )
    assert heading(coming) == f"Who is coming: {GROUP_NAME}"
    shown = card_text(coming).splitlines()
    assert shown[shown.index("Attending (1)") + 1] == ben.name, shown


def test_demo_runs_one_flow_and_ctrl_c_stops_everything(demo: Demo) -> None:
    processes, url = _started(demo)

    async def drive() -> None:
        pg = _attach(demo, url)
        try:
            await _connect(pg)
            await _introductions_reach_the_members(pg)
        finally:
            await pg.stop()  # closes the websockets and the HTTP session; it started no process

    asyncio.run(drive())
    # The flow went through the demo's own data file, and the next sessions' meeting requests are
    # in its mail folder, one per group, as meeting requests.
    assert (demo.data / "reflect.json").exists()
    invites = sorted((demo.data / "mail").glob("*-request.eml"))
    assert invites
    summaries: dict[str, str] = {}
    for path in invites:
        parts = list(email.message_from_bytes(path.read_bytes()).walk())
        calendars = [p for p in parts if p.get_content_type() == "text/calendar"]
        assert [p.get_param("method") for p in calendars] == ["REQUEST"]
        event = calendars[0].get_payload(decode=True).decode()
        summary = re.search(r"^SUMMARY:(.*)$", event, re.M)
        location = re.search(r"^LOCATION:(.*)$", event, re.M)
        assert summary and location
        summaries[summary.group(1).strip()] = location.group(1).strip()
    # Both of the demo's programmes: online role groups, and in-person reflective practice.
    assert any(s.startswith("Peer reflection:") for s in summaries)
    practice = {s: where for s, where in summaries.items() if s.startswith("Reflective practice:")}
    assert practice and set(practice.values()) == {"Meeting room 2\\, Head Office"}

    # Ctrl-C in a terminal: SIGINT to the foreground process group (the demo and both children).
    assert demo.proc is not None
    processes |= _descendants(demo.proc.pid)
    stopped_at = time.monotonic()
    os.killpg(demo.proc.pid, signal.SIGINT)
    _assert_stopped(demo, processes, stopped_at)


def test_demo_stops_its_processes_on_sigterm_to_itself_alone(demo: Demo) -> None:
    """`kill PID` (or a service manager) signals the demo only: it must stop the bot and the
    Playground itself."""
    processes, _ = _started(demo)
    assert demo.proc is not None
    stopped_at = time.monotonic()
    demo.proc.send_signal(signal.SIGTERM)
    _assert_stopped(demo, processes, stopped_at)
