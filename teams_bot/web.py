"""The aiohttp app: /api/messages through botbuilder's CloudAdapter, /healthz, and background work.

The activity handler and the background work (outbox drainer, programme clock) come from the
composition root (app.py); this module knows HTTP, auth and botbuilder, not the use cases.

With no app id the bot runs unauthenticated for local use (Agents Playground). With one, the token
is checked first (teams_bot/auth.py: asynchronous, cached key fetch with timeouts), before the body
is read. Then the body is bounded, parsed and checked (teams_bot/inbound.py) before botbuilder sees
it: a missing or bad token is 401, a body that is not a well-formed activity 400, too large 413.
Nothing a request carries reaches a log line: errors are logged by class, and the access log
(AccessLogger) has no headers, query strings or bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from botbuilder.core import ActivityHandler, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import AuthenticateRequestResult, ClaimsIdentity

from support.config import BotSettings
from teams_bot.auth import BOT_FRAMEWORK_ISSUER, InboundAuth, KeyCache, TokenRefusedError, VerifiedToken
from teams_bot.connectors import SharedConnectorFactory
from teams_bot.inbound import (
    MAX_BODY_BYTES,
    BadActivityError,
    BodyTooLargeError,
    check_activity,
    parse_body,
)

log = logging.getLogger(__name__)
# Work that lives and dies with the web app (cleanup_ctx): entered at start-up in order, left at
# shutdown in reverse order.
Background = Callable[[], AbstractAsyncContextManager[object]]


class AccessLogger(AbstractAccessLogger):
    """Who asked, for which route, and how it ended: no query string, no headers (Authorization,
    user agent, referrer), no body. A path we do not serve is not repeated either."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = request.match_info.route.resource if isinstance(request, web.Request) else None
        path = route.canonical if route is not None else "(unknown path)"
        self.logger.info(
            '%s "%s %s" %d %d %.6fs',
            request.remote,
            request.method,
            path,
            response.status,
            response.body_length,
            time,
        )


METADATA_URL_KEY = "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL"
ISSUER_KEY = "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER"


def _withhold_values(record: logging.LogRecord) -> bool:
    """msrest warns with what it was given (an unknown channelData key, an ignored value): keep the
    warning, log each of its arguments as its type."""
    if isinstance(record.args, tuple) and record.args:
        record.args = tuple(f"<{type(arg).__name__}>" for arg in record.args)
    return True


TURNS_IN_FLIGHT = 64


class _SharedClientsAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication, but the user-token client (unused here: no sign-in cards) is
    made once, not on every turn: each one builds an msrest pipeline, a fifth of a turn's CPU."""

    def __init__(self, config: object) -> None:
        super().__init__(config)
        self._user_token_clients: dict[str | None, Any] = {}

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        app_id = claims_identity.claims.get("aud") if claims_identity.claims else None
        client = self._user_token_clients.get(app_id)
        if client is None:
            client = await super().create_user_token_client(claims_identity)
            self._user_token_clients[app_id] = client
        return client


class _AdapterConfig:
    """The attribute names ConfigurationBotFrameworkAuthentication reads (APP_TENANT_ID is ignored)."""

    def __init__(self, bot: BotSettings) -> None:
        self.APP_ID = bot.app_id
        self.APP_PASSWORD = bot.app_password
        self.APP_TYPE = bot.app_type
        self.APP_TENANTID = bot.app_tenant_id


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    # The class only: exception text can quote what the person typed.
    log.error("turn failed: %s", type(error).__name__)
    try:
        await context.send_activity("Sorry, something went wrong on my side. Please try again in a minute.")
    except Exception as send_error:  # noqa: BLE001 - the apology is best effort; the request still ends
        log.error("turn failed, and so did telling the sender: %s", type(send_error).__name__)  # noqa: TRY400 - no traceback: it may quote data


def _problem(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


async def _read_body(request: web.Request) -> bytes:
    """At most MAX_BODY_BYTES of the body (BadActivityError beyond), whatever Content-Length says."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BodyTooLargeError("body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLargeError("body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    bot: ActivityHandler,
    bot_settings: BotSettings,
    *,
    background: Sequence[Background] = (),
    auth_metadata: dict[str, str] | None = None,
    auth_timeout: float = 10.0,
) -> web.Application:
    """The web app serving `bot`, with `background` work tied to the app's lifecycle.

    `auth_metadata` overrides the OpenID metadata URL (METADATA_URL_KEY, else the setting) and the
    token issuer (ISSUER_KEY) so tests can sign their own tokens; `auth_timeout` bounds a key fetch.
    """
    metadata = auth_metadata or {}
    msrest_log = logging.getLogger("msrest.serialization")
    if _withhold_values not in msrest_log.filters:
        msrest_log.addFilter(_withhold_values)
    bf_auth = _SharedClientsAuthentication(_AdapterConfig(bot_settings))
    adapter = CloudAdapter(bf_auth)
    adapter.on_turn_error = _on_turn_error
    turns_in_flight = asyncio.Semaphore(TURNS_IN_FLIGHT)
    inbound_auth = (
        InboundAuth(
            bot_settings.app_id,
            KeyCache(
                metadata.get(METADATA_URL_KEY) or bot_settings.openid_metadata_url, timeout=auth_timeout
            ),
            metadata.get(ISSUER_KEY) or BOT_FRAMEWORK_ISSUER,
        )
        if bot_settings.app_id
        else None
    )

    connectors: list[SharedConnectorFactory] = []  # one for the app, made with the first turn

    def shared(identity: ClaimsIdentity) -> SharedConnectorFactory:
        if not connectors:
            connectors.append(SharedConnectorFactory(bf_auth.create_connector_factory(identity)))
        return connectors[0]

    async def authenticated(token: VerifiedToken | None, activity: Activity) -> AuthenticateRequestResult:
        if token is None:
            # Local mode: botbuilder's anonymous identity (no header, no app id: nothing fetched).
            result = await bf_auth.authenticate_request(activity, "")
            result.connector_factory = shared(result.claims_identity)
            return result
        # What botbuilder's own authenticate_request would build for a channel token, without its
        # blocking key fetch: outbound calls use our app id's credentials for the channel.
        identity = ClaimsIdentity(token.claims, True)
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = bf_auth.get_originating_audience()
        result.caller_id = CallerIdConstants.public_azure_channel
        result.connector_factory = shared(identity)
        return result

    async def messages(request: web.Request) -> web.StreamResponse:
        token = None
        if inbound_auth is not None:
            try:
                token = await inbound_auth.verify(request.headers.get("Authorization"))
            except TokenRefusedError as refused:
                log.info("request refused: %s", refused)
                return _problem(401, "unauthorized")
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _problem(415, "expected application/json")
        try:
            body = parse_body(await _read_body(request))
            check_activity(body)
        except BadActivityError as bad:
            log.info("request refused: %s", bad)
            return _problem(413 if isinstance(bad, BodyTooLargeError) else 400, str(bad))
        if token is not None:
            try:
                token.check_activity(body["channelId"], body["serviceUrl"])
            except TokenRefusedError as refused:
                log.info("request refused: %s", refused)
                return _problem(401, "unauthorized")
        try:
            activity = Activity().deserialize(body)
        except Exception as error:  # noqa: BLE001 - msrest raises several kinds; all mean a bad body
            log.info("request refused: activity not readable (%s)", type(error).__name__)
            return _problem(400, "activity not readable")
        try:
            # Bounded work in flight: beyond it, requests wait here holding only their small body,
            # so memory stays flat however many users arrive at once.
            async with turns_in_flight:
                auth = await authenticated(token, activity)
                invoke = await adapter.process_activity(auth, activity, bot.on_turn)
        except Exception as error:  # noqa: BLE001 - answered 500 without the traceback, which quotes data
            log.error("request failed: %s", type(error).__name__)  # noqa: TRY400
            return _problem(500, "internal error")
        if invoke is None:
            return web.Response(status=201)
        return web.json_response(serializer_helper(invoke.body), status=invoke.status)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:

            async def close_connectors() -> None:
                for factory in connectors:
                    await factory.close()

            stack.push_async_callback(close_connectors)  # last: in-flight work may still reply
            for start in background:
                await stack.enter_async_context(start())
            yield

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(lifecycle)
    return app
