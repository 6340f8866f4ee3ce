"""A real local fake of the Bot Connector REST API: an aiohttp app on 127.0.0.1.

It records every request, enforces the Teams rate limits itself (429 with Retry-After) and
injects faults on demand. Its limits are written out here, not imported from the service, so a
wrong number in the service shows up as a 429 in the tests.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.loopback_app import LoopbackApp

# Microsoft Teams, per bot per conversation: 7 sends/1 s, 8/2 s, 60/30 s, 1800/3600 s.
CONVERSATION_LIMITS: tuple[tuple[int, float], ...] = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it."""

    time: float  # time.monotonic() on arrival
    method: str
    path: str
    conversation_id: str | None
    body: Any
    authorization: str | None
    status: int  # what the fake answered


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: float | None
    code: str | None
    conversation: str | None


def _over_limit(times: deque[float], limits: tuple[tuple[int, float], ...], now: float) -> float:
    """Seconds until one more request fits every window of accepted `times` (0 if it fits now)."""
    wait = 0.0
    for count, seconds in limits:
        in_window = [t for t in itertools.islice(reversed(times), count) if t > now - seconds]
        if len(in_window) >= count:
            wait = max(wait, in_window[-1] + seconds - now)
    return wait


class FakeBotConnector(LoopbackApp):
    """The Bot Connector endpoints the service calls, plus an OAuth token endpoint.

    `app_limit` requests/s across the app, the Teams limits per conversation. With `app_id` set,
    every call needs a token the fake's token endpoint issued for that app id and password.
    """

    def __init__(
        self,
        *,
        app_limit: int = 50,
        app_id: str | None = None,
        password: str | None = None,
        token_lifetime: int = 3600,
        latency: float = 0.0,
    ) -> None:
        self.app_limit = app_limit
        self.app_id = app_id
        self.password = password
        self.token_lifetime = token_lifetime
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self.messages: list[tuple[str, dict[str, Any]]] = []  # (conversation id, activity) accepted
        self.updates: list[tuple[str, str, dict[str, Any]]] = []  # (conversation id, activity id, activity)
        self.token_requests: list[dict[str, str]] = []  # form fields, the secret left out
        self.issued_tokens: list[str] = []
        self.throttled = 0  # 429s from the fake's own limit enforcement (not injected ones)
        self._faults: list[_Fault] = []
        self._blocked: set[str] = set()
        self._removed: set[str] = set()
        self._activities: set[tuple[str, str]] = set()
        self._app_times: deque[float] = deque(maxlen=max(app_limit, 1))
        self._conversation_times: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self._arrived = asyncio.Condition()
        super().__init__()

    # -- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        conversation: str | None = None,
    ) -> None:
        """Answer the next `times` calls (to `conversation`, or any) with `status`."""
        self._faults.append(_Fault(status, times, retry_after, code, conversation))

    def block(self, conversation_id: str) -> None:
        """The user blocked or removed the bot: 403 MessageWritesBlocked from now on."""
        self._blocked.add(conversation_id)

    def remove(self, conversation_id: str) -> None:
        """The conversation no longer exists: 404 ConversationNotFound from now on."""
        self._removed.add(conversation_id)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return f"{self.url}/botframework.com/oauth2/v2.0/token"

    def routes(self, app: web.Application) -> None:
        """The endpoints this fake answers."""
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        # A reply to an activity (botbuilder's send_activity within a turn) is a send as well.
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)

    # -- what tests read ---------------------------------------------------------------------

    def messages_to(self, conversation_id: str) -> list[dict[str, Any]]:
        """Activities accepted for one conversation."""
        return [activity for cid, activity in self.messages if cid == conversation_id]

    async def wait_for_messages(self, count: int) -> None:
        """Return once `count` activities have been accepted in all."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)

    def answered(self, status: int) -> list[RecordedRequest]:
        """Recorded requests answered with `status`."""
        return [r for r in self.requests if r.status == status]

    # -- handlers ----------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: str, retry_after: float | None = None) -> web.Response:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        body = {"error": {"code": code, "message": f"fake connector: {code}"}}
        return web.json_response(body, status=status, headers=headers)

    def _authorised(self, authorization: str | None) -> bool:
        if self.app_id is None:
            return True
        return authorization is not None and authorization.removeprefix("Bearer ") in self.issued_tokens

    def _refusal(
        self, conversation: str | None, authorization: str | None, now: float
    ) -> web.Response | None:
        if not self._authorised(authorization):
            return self._error(401, "Unauthorized")
        for fault in self._faults:
            if fault.remaining > 0 and fault.conversation in (None, conversation):
                fault.remaining -= 1
                return self._error(fault.status, fault.code or f"Fault{fault.status}", fault.retry_after)
        if conversation in self._blocked:
            return self._error(403, "MessageWritesBlocked")
        if conversation in self._removed:
            return self._error(404, "ConversationNotFound")
        wait = _over_limit(self._app_times, ((self.app_limit, 1.0),), now)
        times = self._conversation_times.get(conversation or "")
        if times is not None:
            wait = max(wait, _over_limit(times, CONVERSATION_LIMITS, now))
        if wait > 0:
            self.throttled += 1
            return self._error(429, "TooManyRequests", max(1, math.ceil(wait)))
        return None

    async def _handle(
        self,
        request: web.Request,
        conversation: str | None,
        answer: dict[str, Any],
        status: int = 201,
        invalid: web.Response | None = None,
    ) -> tuple[web.Response, Any]:
        now = time.monotonic()
        raw = await request.read()
        body = orjson.loads(raw) if raw else None
        authorization = request.headers.get("Authorization")
        response = invalid or self._refusal(conversation, authorization, now)
        if response is None:
            self._app_times.append(now)
            if conversation is not None:
                self._conversation_times.setdefault(conversation, deque(maxlen=1800)).append(now)
            response = web.json_response(answer, status=status)
        self.requests.append(
            RecordedRequest(
                now, request.method, request.path, conversation, body, authorization, response.status
            )
        )
        if self.latency:
            await asyncio.sleep(self.latency)
        return response, body

    async def _send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity_id = f"activity-{next(self._ids)}"
        response, body = await self._handle(request, conversation, {"id": activity_id})
        if response.status == 201:
            self.messages.append((conversation, body))
            self._activities.add((conversation, activity_id))
            async with self._arrived:
                self._arrived.notify_all()
        return response

    async def _update(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["conversation"], request.match_info["activity"]
        unknown = (conversation, activity_id) not in self._activities
        invalid = self._error(404, "ActivityNotFound") if unknown else None
        response, body = await self._handle(request, conversation, {"id": activity_id}, 200, invalid)
        if response.status == 200:
            self.updates.append((conversation, activity_id, body))
        return response

    async def _create_conversation(self, request: web.Request) -> web.Response:
        body = await request.json()
        members = body.get("members") or [{}]
        tenant = body.get("channelData", {}).get("tenant", {}).get("id")
        invalid = None if tenant and members[0].get("id") else self._error(400, "BadArgument")
        response, _ = await self._handle(request, None, {"id": f"a:{members[0].get('id')}"}, 201, invalid)
        return response

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        fields = {k: str(v) for k, v in form.items() if k != "client_secret"}
        self.token_requests.append(fields)
        valid = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.app_id
            and form.get("client_secret") == self.password
            and form.get("scope") == "https://api.botframework.com/.default"
        )
        if not valid:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"fake-token-{len(self.issued_tokens) + 1}"
        self.issued_tokens.append(token)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": self.token_lifetime, "access_token": token}
        )
