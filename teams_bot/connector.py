"""Bot Connector REST client on aiohttp: tokens, sending and updating activities, 1:1 conversations.

botbuilder's ConnectorClient is not used here: it never retries and its Teams helpers block or
are broken (PLATFORM-NOTES.md). Every failure is a ConnectorError carrying the HTTP status,
Retry-After and the service's error code; deciding what a failure means (retry, unreachable,
give up) and retrying are the caller's (service/delivery.py, the outbox drainer).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from support.retry import parse_retry_after

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
# Renew this long before the token expires, so no request carries one that lapses in transit.
TOKEN_RENEW_BEFORE = 300.0

# Error codes from the service (e.g. "MessageWritesBlocked") are kept; anything else is dropped.
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def default_token_url(tenant_id: str | None) -> str:
    """The Entra ID token endpoint for a single-tenant bot, or the Bot Framework's for multi-tenant."""
    return f"https://login.microsoftonline.com/{tenant_id or 'botframework.com'}/oauth2/v2.0/token"


class ConnectorError(Exception):
    """A Bot Connector (or token) call that did not succeed.

    `status` is the HTTP status, None when no usable answer came (connection lost, timeout, an
    answer without what it should hold); `retry_after` the seconds the service asked to wait;
    `code` the service's error code (e.g. "MessageWritesBlocked"). `reason` is short and fixed:
    never anything the request or the response carried beyond the status and the code.
    """

    def __init__(
        self, status: int | None, reason: str, *, retry_after: float | None = None, code: str | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.code = code
        self.reason = reason
        super().__init__(reason)


def _error_code(body: bytes) -> str | None:
    try:
        error = orjson.loads(body).get("error", {})
    except (orjson.JSONDecodeError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None


async def _error_from(response: aiohttp.ClientResponse) -> ConnectorError:
    code = _error_code(await response.read())
    return ConnectorError(
        response.status,
        f"http {response.status} {code}" if code else f"http {response.status}",
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        code=code,
    )


class TokenProvider(Protocol):
    """Supplies the bearer token for outbound Bot Connector calls."""

    async def token(self) -> str | None:
        """The current token, or None to send no Authorization header."""
        ...

    def invalidate(self) -> None:
        """Forget a cached token the service rejected."""
        ...


class NoAuth:
    """No token: for the Agents Playground and the emulator, which run without an app id."""

    async def token(self) -> str | None:
        """No token."""
        return None

    def invalidate(self) -> None:
        """Nothing is cached."""


class ClientCredentialsToken:
    """OAuth client-credentials token for the bot's app id, cached until 5 minutes before expiry."""

    def __init__(
        self,
        app_id: str,
        password: str,
        tenant_id: str | None,
        session: aiohttp.ClientSession,
        token_url: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 30.0,
    ) -> None:
        self._app_id = app_id
        self._password = password
        self._session = session
        self.token_url = token_url or default_token_url(tenant_id)
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._renew_at = float("-inf")
        # One fetch at a time: a broadcast's first burst of sends waits for one token, not many.
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentialsToken(app_id={self._app_id!r}, token_url={self.token_url!r})"

    async def token(self) -> str:
        """A valid token, fetched when none is cached or the cached one is about to expire."""
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                self._renew_at = self._clock() + lifetime - TOKEN_RENEW_BEFORE
                logger.info("fetched a Bot Connector token for app %s, valid %d s", self._app_id, lifetime)
            return self._token

    def invalidate(self) -> None:
        """Drop the cached token so the next call fetches a new one."""
        self._token = None

    async def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app_id,
            "client_secret": self._password,
            "scope": BOT_FRAMEWORK_SCOPE,
        }
        try:
            async with self._session.post(self.token_url, data=form, timeout=self._timeout) as response:
                if response.status != 200:
                    # The body may echo request details: only the status is kept.
                    raise ConnectorError(response.status, f"token http {response.status}")
                body = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectorError(None, "token connection error") from exc
        except orjson.JSONDecodeError as exc:
            raise ConnectorError(None, "token response not JSON") from exc
        token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise ConnectorError(None, "token response without a token")
        return token, float(lifetime)


class BotConnectorClient:
    """The Bot Connector REST calls the service needs; every failure raises ConnectorError."""

    failure = ConnectorError  # what service/delivery.py's TeamsClient protocol reads failures as

    def __init__(
        self, session: aiohttp.ClientSession, tokens: TokenProvider, *, timeout: float = 30.0
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def _call(self, method: str, url: URL, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        token = await self._tokens.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.request(
                method, url, data=orjson.dumps(body), headers=headers, timeout=self._timeout
            ) as response:
                if response.status == 401:
                    self._tokens.invalidate()  # revoked or expired early: fetch a new one next time
                if response.status >= 300:
                    raise await _error_from(response)
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectorError(None, "connection error") from exc
        try:
            result = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            result = {}  # the call succeeded; only its (optional) answer is unreadable
        return result if isinstance(result, dict) else {}

    @staticmethod
    def _url(service_url: str, *segments: str) -> URL:
        # Teams ids contain ':' ';' '@': quote every segment fully, and stop yarl re-quoting it.
        path = "/".join(quote(segment, safe="") for segment in segments)
        return URL(f"{service_url.rstrip('/')}/v3/conversations/{path}".rstrip("/"), encoded=True)

    async def send_to_conversation(
        self, service_url: str, conversation_id: str, activity: Mapping[str, Any]
    ) -> str:
        """POST an activity to a conversation; returns the new activity's id ('' if none given)."""
        result = await self._call("POST", self._url(service_url, conversation_id, "activities"), activity)
        return str(result.get("id") or "")

    async def update_activity(
        self, service_url: str, conversation_id: str, activity_id: str, activity: Mapping[str, Any]
    ) -> None:
        """Replace a sent activity (e.g. a card) for everyone in the conversation."""
        url = self._url(service_url, conversation_id, "activities", activity_id)
        await self._call("PUT", url, {**activity, "id": activity_id})

    async def create_personal_conversation(
        self, service_url: str, tenant_id: str, bot_id: str, user_id: str
    ) -> str:
        """Create (or find) the 1:1 chat between the bot and a Teams user; returns its conversation id."""
        body = {
            "isGroup": False,
            "bot": {"id": bot_id},
            "members": [{"id": user_id}],
            "tenantId": tenant_id,
            "channelData": {"tenant": {"id": tenant_id}},
        }
        result = await self._call("POST", self._url(service_url), body)
        conversation_id = result.get("id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ConnectorError(None, "no conversation id returned")
        return conversation_id
