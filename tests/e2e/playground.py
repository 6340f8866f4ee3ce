"""Drive the Microsoft 365 Agents Playground (Teams emulator) headlessly from Python tests.

Stdlib + aiohttp only. The Playground is the pinned npm package in tools/playground/ (run
``npm ci`` there first). Everything binds 127.0.0.1; nothing leaves the machine.

What the Playground 0.2.28 does (read from its bundled server and web client, then observed):

* ``POST /_conversation/v1/conversations/{cid}/messages`` ``{"from":{"id"},"text","textFormat"}``
  (``textFormat`` is required: plain|markdown|xml) answers ``{"messageId","timestamp"}`` at once and
  forwards to the bot afterwards; a bot failure is invisible here. ``from.id`` is only *validated*
  (must be a member of that chat): the activity the bot gets is always from the config's
  ``currentUser``. Outside a personal chat the bot only gets the message when ``mentions`` names it.
* ``POST /_conversation/v1/invoke`` (``adaptiveCard/action``) and ``POST /_conversation/v1/submit``
  do honour ``from.id``: the bot sees that user's id, name and aadObjectId.
* ``POST /_internal/v1/customActivities`` posts any activity JSON to the bot unchanged (the
  Playground's "custom activity" feature). This harness uses it to speak as any of the users.
* Bot replies: websocket ``/_ws_conversation/v1/conversations/stream`` frames
  ``{"action":"createMessage"|"updateMessage"|"typing","actionConversationId",
  "message":{"messageId","timestamp","from":{"id"},"text","textFormat","attachments":[...],...}}``
  -- but only for chats the current user is in. Every HTTP exchange (both directions, including
  bot -> connector calls into other users' 1:1 chats) is on ``/_ws/log/stream`` as
  ``{"logAction":"appendLog","log":{"activityName","from","to","conversationId",
  "request":{"body"},"response":{"statusCode","body"}, ...}}``.
* Frames sent while no client is connected are buffered and flushed to the next client that
  connects; the harness connects before anything happens and de-duplicates anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND_DIR = REPO_ROOT / "tools" / "playground"
PRELOAD = PLAYGROUND_DIR / "loopback.cjs"
CLI = PLAYGROUND_DIR / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def playground_available() -> str | None:
    """None when the Playground can run here, else the reason it cannot (for pytest.skip)."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not CLI.is_file():
        return f"Playground not installed: run `npm ci` in {PLAYGROUND_DIR}"
    if not PRELOAD.is_file():
        return f"missing {PRELOAD}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PlaygroundError(RuntimeError):
    """The Playground answered an API call with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class User:
    """One mock-tenant user. ``id`` is the Teams channel account id the bot sees (e.g. "29:...")."""

    id: str
    name: str
    email: str
    aad_object_id: str
    given_name: str = ""
    surname: str = ""
    upn: str = ""

    @classmethod
    def make(cls, key: str, name: str, n: int, domain: str = "contoso.test") -> User:
        given, _, surname = name.partition(" ")
        email = f"{key}@{domain}"
        return cls(
            id=f"29:{key}",
            name=name,
            email=email,
            aad_object_id=f"00000000-0000-4000-8000-{n:012d}",
            given_name=given,
            surname=surname or given,
            upn=email,
        )

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> User:
        return cls(
            id=m["id"],
            name=m["name"],
            email=m.get("email", ""),
            aad_object_id=m.get("aadObjectId") or m.get("aad_object_id") or str(uuid.uuid4()),
            given_name=m.get("givenName") or m.get("given_name") or "",
            surname=m.get("surname", ""),
            upn=m.get("userPrincipleName") or m.get("upn") or m.get("email", ""),
        )

    def to_config(self) -> dict[str, str]:
        # The Playground's schema spells it "userPrincipleName"; all seven keys are required.
        return {
            "id": self.id,
            "name": self.name,
            "userPrincipleName": self.upn or self.email,
            "aadObjectId": self.aad_object_id,
            "givenName": self.given_name or self.name.split(" ")[0],
            "surname": self.surname or self.name.split(" ")[-1],
            "email": self.email,
        }

    def account(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}


DEFAULT_CURRENT_USER = User.make("operator", "Test Operator", 0)


@dataclass
class BotActivity:
    """A bot -> connector call seen on the log stream (covers chats the UI stream does not)."""

    name: str  # activityName: "message", "createConversation", "getConversationMember", ...
    conversation_id: str | None
    id: str | None  # message id the connector assigned (response.body.id), when there is one
    status: int | None
    body: dict[str, Any]  # the bot's request body (the activity it sent)
    raw: dict[str, Any]

    @property
    def text(self) -> str | None:
        return self.body.get("text")

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.body.get("attachments") or [])


Predicate = Callable[[dict[str, Any]], bool]


class _Stream:
    """A websocket reader that keeps every (de-duplicated) JSON frame and wakes waiters."""

    def __init__(self, key: Callable[[dict[str, Any]], str]) -> None:
        self.frames: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._key = key
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def start(self, session: aiohttp.ClientSession, url: str) -> None:
        self._ws = await session.ws_connect(url, heartbeat=20)
        self._task = asyncio.create_task(self._run(self._ws))

    async def _run(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                continue
            k = self._key(frame)
            if k in self._seen:
                continue
            self._seen.add(k)
            self.frames.append(frame)
            self._changed.set()

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def wait_for(self, predicate: Predicate, timeout: float, since: int = 0) -> dict[str, Any]:  # noqa: ASYNC109 - explicit per-wait deadline
        i = since
        async with asyncio.timeout(timeout):
            while True:
                while i < len(self.frames):
                    frame = self.frames[i]
                    i += 1
                    if predicate(frame):
                        return frame
                self._changed.clear()
                await self._changed.wait()


def _conv_key(f: dict[str, Any]) -> str:
    m = f.get("message") or {}
    return json.dumps(
        [f.get("action"), f.get("actionConversationId"), m.get("messageId"), m.get("timestamp")]
    )


def _log_key(f: dict[str, Any]) -> str:
    log = f.get("log") or {}
    return str(log.get("id") or json.dumps(f, sort_keys=True))


class Playground:
    """One Playground process plus an HTTP client and both websocket readers.

    Usage (inside a running event loop)::

        async with Playground(bot.endpoint, users=five_users, current_user=facilitator) as pg:
            await pg.install(pg.personal_chat_id)
            mark = pg.mark()
            await pg.send_text(pg.personal_chat_id, pg.current_user.id, "hi")
            frame = await pg.wait_for(lambda f: f["action"] == "createMessage", since=mark)

    ``users``: exactly five (the Playground's schema requires 5; ``current_user`` is a sixth person,
    the one "using" the UI; defaults to a synthetic "Test Operator"). All six are in the group chat
    and the team.
    """

    def __init__(
        self,
        bot_endpoint: str,
        users: Sequence[User | Mapping[str, Any]],
        current_user: User | Mapping[str, Any] | None = None,
        *,
        tenant_id: str = "00000000-0000-4000-8000-00000000aaaa",
        bot_id: str = "28:00000000-0000-4000-8000-00000000b007",
        bot_name: str = "Test Bot",
        personal_chat_id: str = "personal-chat-id",
        group_chat_id: str = "group-chat-id",
        group_chat_name: str = "Group Chat",
        team_id: str = "team-id",
        team_name: str = "Team",
        team_aad_group_id: str = "00000000-0000-4000-8000-00000000cccc",
        extra_channel: tuple[str, str] | None = ("channel-2-id", "Second Channel"),
        port: int | None = None,
        workdir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        ulist = [u if isinstance(u, User) else User.from_mapping(u) for u in users]
        if len(ulist) != 5:
            raise ValueError(f"the Playground needs exactly 5 users (plus current_user), got {len(ulist)}")
        cu = current_user if current_user is not None else DEFAULT_CURRENT_USER
        self.current_user = cu if isinstance(cu, User) else User.from_mapping(cu)
        self.users = ulist
        ids = [self.current_user.id, *(u.id for u in ulist)]
        if len(set(ids)) != len(ids):
            raise ValueError("user ids must be unique (current_user included)")
        self.bot_endpoint = bot_endpoint
        self.tenant_id = tenant_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.personal_chat_id = personal_chat_id
        self.group_chat_id = group_chat_id
        self.group_chat_name = group_chat_name
        self.team_id = team_id  # also the General channel's conversation id
        self.team_name = team_name
        self.team_aad_group_id = team_aad_group_id
        self.extra_channel = extra_channel
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="pg-run-"))
        self.config_path = self.workdir / ".m365agentsplayground.yml"
        self.log_path = self.workdir / "playground.out.log"  # node stdout+stderr
        self.console_log_path = self.workdir / "playground.console.log"  # its console.* (no TTY)
        self.personal_chats: dict[str, str] = {self.current_user.id: personal_chat_id}
        self.proc: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.conv = _Stream(_conv_key)
        self.log = _Stream(_log_key)
        self._logfile: Any = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/_connector"

    def all_users(self) -> list[User]:
        return [self.current_user, *self.users]

    def user(self, user_id: str) -> User:
        for u in self.all_users():
            if u.id == user_id:
                return u
        raise KeyError(user_id)

    def config_document(self) -> dict[str, Any]:
        return {
            "version": "0.1.1",
            "tenantId": self.tenant_id,
            "bot": {"id": self.bot_id, "name": self.bot_name},
            "currentUser": self.current_user.to_config(),
            "users": [u.to_config() for u in self.users],
            "personalChat": {"id": self.personal_chat_id},
            "groupChat": {"id": self.group_chat_id, "name": self.group_chat_name},
            "team": {
                "id": self.team_id,
                "name": self.team_name,
                "aadGroupId": self.team_aad_group_id,
                "channels": (
                    [{"id": self.extra_channel[0], "name": self.extra_channel[1]}]
                    if self.extra_channel
                    else []
                ),
            },
        }

    def write_config(self) -> Path:
        # JSON is valid YAML 1.2 and the Playground's `yaml` parser reads it; no PyYAML needed.
        self.config_path.write_text(json.dumps(self.config_document(), indent=2) + "\n", encoding="utf-8")
        return self.config_path

    async def start(self) -> Playground:
        reason = playground_available()
        if reason:
            raise RuntimeError(reason)
        self._spawn()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        try:
            await self._wait_ready()
            await self.conv.start(self._session, f"{self.base_url}/_ws_conversation/v1/conversations/stream")
            await self.log.start(self._session, f"{self.base_url}/_ws/log/stream")
        except BaseException:
            await self.stop()
            raise
        return self

    def _spawn(self) -> None:
        """Write the tenant file and start node (non-blocking Popen; stdout+stderr to a file)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_"))
        }
        env.update(
            TEAMSAPPTESTER_BROWSER="none",
            APPLICATION_INSIGHTS_NO_STATSBEAT="true",
            M365_AGENTS_PLAYGROUND_CONFIG_PATH=str(self.config_path),
            M365_AGENTS_PLAYGROUND_LOGFILE=str(self.console_log_path),
            NO_UPDATE_NOTIFIER="1",
        )
        cmd = [
            shutil.which("node") or "node",
            "-r",
            str(PRELOAD),
            str(CLI),
            "-e",
            self.bot_endpoint,
            "-c",
            "msteams",
            "-p",
            str(self.port),
            "--service-url",
            self.service_url,
            "--disable-telemetry",
        ]
        self._logfile = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._logfile,
            stderr=subprocess.STDOUT,
        )

    async def _wait_ready(self) -> None:
        assert self._session is not None and self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Playground exited with {self.proc.returncode}:\n{self.read_log()}")
            out = self.read_log()
            m = re.search(r"^Listening on (\d+)$", out, re.MULTILINE)
            if m is None:  # it prints this (non-TTY stdout) right after binding, before routes exist
                await asyncio.sleep(0.1)
                continue
            if int(m.group(1)) != self.port:
                # It silently moves to another port when ours is taken; the service URL would be wrong.
                raise RuntimeError(f"Playground did not get port {self.port}:\n{out}")
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with self._session.get(
                    f"{self.base_url}/_debug/ping", timeout=aiohttp.ClientTimeout(total=2)
                ) as r:
                    if r.status == 200 and (await r.text()) == "pong":
                        return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"Playground not ready after {self.startup_timeout}s:\n{self.read_log()}")

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    async def stop(self) -> None:
        await self.conv.stop()
        await self.log.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # SIGTERM to this PID only
            try:
                await asyncio.to_thread(proc.wait, 5)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 5)
        if self._logfile is not None:
            self._logfile.close()
            self._logfile = None

    def cleanup(self) -> None:
        """Remove the temp working dir (only if the harness created it)."""
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> Playground:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP helpers
    async def _request(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        assert self._session is not None, "Playground not started"
        async with self._session.request(method, self.base_url + path, json=body, **kw) as r:
            text = await r.text()
            if r.status >= 400:
                raise PlaygroundError(method, path, r.status, text)
            if not text:
                return None
            try:
                return json.loads(text)
            except ValueError:
                return text

    async def config(self) -> dict[str, Any]:
        """GET /_internal/v1/config -> {"config": {tenantId, bot, currentUser, users, personalChat,
        groupChats:[{id,name,members}], teams:[{id,name,aadGroupId,channels,members}]},
        "internalConfig": {...}}. Note: it first waits (up to 15 s) for the bot endpoint to answer."""
        return await self._request("GET", "/_internal/v1/config")  # type: ignore[no-any-return]

    async def install(self, conversation_id: str | None = None) -> None:
        """The UI's "install": the bot gets installationUpdate(action=add) and conversationUpdate
        (membersAdded), both *from the current user*, sent asynchronously after the 200."""
        cid = conversation_id or self.personal_chat_id
        await self._request("POST", f"/_debug/conversation/{cid}/installation", {})

    async def template(self, conversation_id: str, type_: str | None = None) -> dict[str, Any]:
        """The Playground's own activity skeleton for a conversation (from = current user)."""
        params = {"conversationId": conversation_id}
        if type_:
            params["type"] = type_
        return await self._request(  # type: ignore[no-any-return]
            "GET", "/_internal/v1/customActivities/template", params=params
        )

    async def send_activity(self, activity: Mapping[str, Any]) -> None:
        """POST /_internal/v1/customActivities: delivered to the bot as-is (fire and forget)."""
        await self._request("POST", "/_internal/v1/customActivities", dict(activity))

    def mention_bot(self) -> tuple[str, list[dict[str, Any]]]:
        tag = f"<at>{self.bot_name}</at>"
        return tag, [{"mentioned": {"id": self.bot_id}, "text": tag}]

    async def send_text(
        self,
        conversation_id: str,
        from_user_id: str | None,
        text: str,
        *,
        mention_bot: bool | None = None,
        via: str = "auto",
    ) -> dict[str, Any]:
        """Send a user message to the bot.

        ``via="playground"``: the real UI path (stored and shown in the chat). The bot always sees
        it from the *current user*, whatever ``from_user_id`` says. ``via="custom"``: a message
        activity built from the Playground's template with ``from`` replaced by ``from_user_id``
        (id, name, aadObjectId); it is not shown in the UI chat. ``auto`` picks playground for the
        current user, custom for anyone else. Outside a personal chat the bot is @mentioned by
        default (the Playground drops unmentioned group/channel messages).
        Returns {"via", "id", ...}.
        """
        uid = from_user_id or self.current_user.id
        if via == "auto":
            via = "playground" if uid == self.current_user.id else "custom"
        personal = conversation_id in self.personal_chats.values()
        if mention_bot is None:
            mention_bot = not personal
        if via == "playground":
            body: dict[str, Any] = {"from": {"id": uid}, "text": text, "textFormat": "plain"}
            if mention_bot:
                tag, mentions = self.mention_bot()
                body["text"] = f"{tag} {text}"
                body["mentions"] = mentions
            res = await self._request(
                "POST", f"/_conversation/v1/conversations/{conversation_id}/messages", body
            )
            return {"via": via, "id": res.get("messageId"), **res}
        if via != "custom":
            raise ValueError(via)
        act = await self.template(conversation_id)
        user = self.user(uid)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        act.update(
            type="message",
            id=str(uuid.uuid4()),
            timestamp=now,
            localTimestamp=now,
            localTimezone="UTC",
            text=text,
            textFormat="plain",
            locale="en-US",
        )
        act["from"] = user.account()
        # Real Teams (and the Playground's own messages) always carry channelData.tenant; botbuilder's
        # TeamsInfo.get_member fails with a TypeError without channelData.
        act["channelData"] = self._channel_data(act)
        entities: list[dict[str, Any]] = [
            {"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web", "timezone": "UTC"}
        ]
        if mention_bot:
            tag, _ = self.mention_bot()
            act["text"] = f"{tag} {text}"
            entities.insert(
                0, {"type": "mention", "mentioned": {"id": self.bot_id, "name": self.bot_name}, "text": tag}
            )
        act["entities"] = entities
        await self.send_activity(act)
        return {"via": via, "id": act["id"], "activity": act}

    def _channel_data(self, act: Mapping[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = dict(act.get("channelData") or {})
        data.setdefault("tenant", {"id": self.tenant_id})
        conv = act.get("conversation") or {}
        if conv.get("conversationType") == "channel":
            channel_id = str(conv.get("id", "")).split(";")[0]
            data.setdefault("team", {"id": self.team_id})
            data.setdefault("channel", {"id": channel_id})
            data.setdefault("teamsTeamId", self.team_id)
            data.setdefault("teamsChannelId", channel_id)
        return data

    async def open_personal_chat(self, user_id: str) -> str:
        """Create (or get) the 1:1 chat of bot and ``user_id`` through the mock connector, exactly
        as a bot's create_conversation would: POST /_connector/v3/conversations. Ids look like
        "<uuid>@test.user" and are stable per user for the process lifetime."""
        if user_id in self.personal_chats:
            return self.personal_chats[user_id]
        res = await self._request(
            "POST",
            "/_connector/v3/conversations",
            {
                "isGroup": False,
                "bot": {"id": self.bot_id, "name": self.bot_name},
                "members": [{"id": user_id}],
                "tenantId": self.tenant_id,
                "channelData": {"tenant": {"id": self.tenant_id}},
            },
        )
        cid = str(res["id"])
        self.personal_chats[user_id] = cid
        return cid

    async def install_for(self, user_id: str) -> str:
        """Simulate ``user_id`` installing the bot personally: open their 1:1 chat and send the bot
        installationUpdate + conversationUpdate from that user (same shapes as install())."""
        if user_id == self.current_user.id:
            await self.install(self.personal_chat_id)
            return self.personal_chat_id
        cid = await self.open_personal_chat(user_id)
        acct = self.user(user_id).account()
        inst = await self.template(cid, "install")
        inst["from"] = {"id": acct["id"], "aadObjectId": acct["aadObjectId"]}
        added = await self.template(cid, "botAdded")
        added["from"] = {"id": acct["id"], "aadObjectId": acct["aadObjectId"]}
        added["membersAdded"] = [{"id": acct["id"], "aadObjectId": acct["aadObjectId"]}, {"id": self.bot_id}]
        inst["channelData"] = self._channel_data(inst)
        added["channelData"] = self._channel_data(added)
        await self.send_activity(inst)
        await self.send_activity(added)
        return cid

    async def invoke_action(
        self,
        conversation_id: str,
        from_user_id: str,
        reply_to_id: str,
        verb: str,
        data: Any = None,
        *,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Click an Action.Execute: POST /_conversation/v1/invoke. ``reply_to_id`` is the card
        message's id (frame message.messageId / BotActivity.id). Synchronous: returns the bot's
        answer as {"type": ..., "value": ...} (the card itself for type
        application/vnd.microsoft.card.adaptive). The Playground stores the new card for that
        message but sends no updateMessage frame. Bot failure -> PlaygroundError 502."""
        action: dict[str, Any] = {
            "type": "Action.Execute",
            "verb": verb,
            "data": data if data is not None else {},
        }
        if title is not None:
            action["title"] = title
        body = {
            "name": "adaptiveCard/action",
            "from": {"id": from_user_id},
            "conversation": {"id": conversation_id},
            "replyToId": reply_to_id,
            "value": {"action": action},
        }
        return await self._request("POST", "/_conversation/v1/invoke", body)  # type: ignore[no-any-return]

    async def submit(
        self, conversation_id: str, from_user_id: str, reply_to_id: str, value: Mapping[str, Any]
    ) -> None:
        """Click an Action.Submit: POST /_conversation/v1/submit; the bot gets a message activity
        with ``value`` (and no text) from ``from_user_id``; fire and forget."""
        body = {
            "conversation": {"id": conversation_id},
            "from": {"id": from_user_id},
            "replyToId": reply_to_id,
            "value": dict(value),
        }
        await self._request("POST", "/_conversation/v1/submit", body)

    async def get_member(self, conversation_id: str, user_id: str) -> dict[str, Any]:
        """What TeamsInfo.get_member returns via the mock connector."""
        return await self._request(  # type: ignore[no-any-return]
            "GET", f"/_connector/v3/conversations/{conversation_id}/members/{user_id}"
        )

    # ------------------------------------------------------------------ observing
    def mark(self) -> int:
        """Index into the conversation frames; pass as ``since`` to only see later frames."""
        return len(self.conv.frames)

    def log_mark(self) -> int:
        return len(self.log.frames)

    async def wait_for(self, predicate: Predicate, timeout: float = 10.0, since: int = 0) -> dict[str, Any]:  # noqa: ASYNC109 - explicit per-wait deadline
        """First conversation-stream frame (createMessage/updateMessage/typing) matching."""
        return await self.conv.wait_for(predicate, timeout, since)

    async def wait_for_message(
        self,
        conversation_id: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        action: str = "createMessage",
        timeout: float = 10.0,  # noqa: ASYNC109 - explicit per-wait deadline
        since: int = 0,
    ) -> dict[str, Any]:
        """The ``message`` of the first frame of ``action`` in ``conversation_id`` matching."""

        def match(f: dict[str, Any]) -> bool:
            return (
                f.get("action") == action
                and f.get("actionConversationId") == conversation_id
                and (predicate is None or predicate(f["message"]))
            )

        frame = await self.wait_for(match, timeout, since)
        return frame["message"]  # type: ignore[no-any-return]

    async def wait_for_log(
        self,
        predicate: Predicate,
        timeout: float = 10.0,  # noqa: ASYNC109 - explicit per-wait deadline
        since: int = 0,
    ) -> dict[str, Any]:
        return await self.log.wait_for(predicate, timeout, since)

    @staticmethod
    def _bot_activity(frame: dict[str, Any]) -> BotActivity:
        log = frame.get("log") or {}
        req = (log.get("request") or {}).get("body") or {}
        resp = log.get("response") or {}
        rbody = resp.get("body")
        return BotActivity(
            name=str(log.get("activityName")),
            conversation_id=log.get("conversationId") or (req.get("conversation") or {}).get("id"),
            id=rbody.get("id") if isinstance(rbody, dict) else None,
            status=resp.get("statusCode"),
            body=req if isinstance(req, dict) else {},
            raw=log,
        )

    async def wait_for_bot_activity(
        self,
        predicate: Callable[[BotActivity], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - explicit per-wait deadline
        since: int = 0,
    ) -> BotActivity:
        """First bot -> Playground call (from the raw log stream) matching. Sees every
        conversation, including other users' 1:1 chats the UI stream leaves out."""

        def match(f: dict[str, Any]) -> bool:
            log = f.get("log") or {}
            return log.get("from") == "User Application" and predicate(self._bot_activity(f))

        return self._bot_activity(await self.wait_for_log(match, timeout, since))

    async def wait_for_bot_message(
        self,
        conversation_id: str,
        predicate: Callable[[BotActivity], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - explicit per-wait deadline
        since: int = 0,
    ) -> BotActivity:
        return await self.wait_for_bot_activity(
            lambda a: (
                a.name == "message"
                and a.conversation_id == conversation_id
                and (predicate is None or predicate(a))
            ),
            timeout,
            since,
        )

    def bot_deliveries(self) -> list[dict[str, Any]]:
        """Playground -> bot calls seen so far (activity and the bot's HTTP answer)."""
        out = []
        for f in self.log.frames:
            log = f.get("log") or {}
            if log.get("to") == "User Application":
                out.append(
                    {
                        "name": log.get("activityName"),
                        "activity": (log.get("request") or {}).get("body"),
                        "status": (log.get("response") or {}).get("statusCode"),
                    }
                )
        return out


__all__ = [
    "CARD_CONTENT_TYPE",
    "DEFAULT_CURRENT_USER",
    "BotActivity",
    "Playground",
    "PlaygroundError",
    "User",
    "free_port",
    "playground_available",
]
