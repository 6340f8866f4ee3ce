"""The aiohttp app: /api/messages through botbuilder's CloudAdapter, /healthz, and the outbox drainer.

With no app id the bot runs unauthenticated for local use (Agents Playground). With one, every
request without a valid token gets 401: botbuilder answers some auth failures (missing header,
expired token) with a 500, so anything that fails before the bot's turn starts is mapped to 401.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from service.config import BotSettings
from service.outbox import OutboxDrainer
from service.rate_limit import RateLimiter
from service.retry import RetryPolicy
from service.services import Services
from teams_bot.bot import ReflectionBot
from teams_bot.connector import (
    BotConnectorClient,
    ClientCredentialsToken,
    NoAuth,
    TeamsDeliverer,
    TokenProvider,
)

log = logging.getLogger(__name__)
SERVICES = web.AppKey("services", Services)
# Per request, whether the bot's turn began (so auth passed). A shared list survives the context
# copies botbuilder may make for tasks.
_turn_started: contextvars.ContextVar[list[bool]] = contextvars.ContextVar("turn_started")


class _AdapterConfig:
    """The attribute names ConfigurationBotFrameworkAuthentication reads (APP_TENANT_ID is ignored)."""

    def __init__(self, bot: BotSettings, metadata: dict[str, str]) -> None:
        self.APP_ID = bot.app_id
        self.APP_PASSWORD = bot.app_password
        self.APP_TYPE = bot.app_type
        self.APP_TENANTID = bot.app_tenant_id
        # Tests point these at a local JWKS so they can sign their own tokens.
        for name, value in metadata.items():
            setattr(self, name, value)


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    # The class only: exception text can quote what the person typed.
    log.error("turn failed: %s", type(error).__name__)
    await context.send_activity("Sorry, something went wrong on my side. Please try again in a minute.")


def create_app(
    services: Services,
    bot_settings: BotSettings,
    *,
    auth_metadata: dict[str, str] | None = None,
    token_url: str | None = None,
    app_rate_limit: int = 50,
    poll_seconds: float = 1.0,
) -> web.Application:
    """The web app with its background outbox drainer tied to the app's lifecycle."""
    adapter = CloudAdapter(
        ConfigurationBotFrameworkAuthentication(_AdapterConfig(bot_settings, auth_metadata or {}))
    )
    adapter.on_turn_error = _on_turn_error
    bot = ReflectionBot(services)
    authenticated = bool(bot_settings.app_id)
    original_on_turn = bot.on_turn

    async def on_turn(context: TurnContext) -> None:
        _turn_started.get([False])[0] = True
        await original_on_turn(context)

    async def messages(request: web.Request) -> web.StreamResponse:
        if authenticated and not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"error": "unauthorized"}, status=401)
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return web.json_response({"error": "body is not an activity"}, status=400)
        started = [False]
        _turn_started.set(started)
        try:
            response = await adapter.process(request, _TurnBot(on_turn))
        except web.HTTPException as http_error:
            return web.json_response({"error": http_error.reason}, status=http_error.status)
        except Exception as error:
            if authenticated and not started[0]:
                log.info("request refused: %s", type(error).__name__)
                return web.json_response({"error": "unauthorized"}, status=401)
            raise
        return response or web.Response(status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def drainer(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession()
        tokens: TokenProvider = NoAuth()
        if authenticated:
            tokens = ClientCredentialsToken(
                bot_settings.app_id,
                bot_settings.app_password,
                bot_settings.app_tenant_id or None,
                session,
                token_url=token_url,
            )
        limiter = RateLimiter(app_limits=((app_rate_limit, 1.0),))
        deliverer = TeamsDeliverer(
            BotConnectorClient(session, tokens), services.directory.reference_for, limiter
        )
        worker = OutboxDrainer(services.outbox, deliverer, limiter, RetryPolicy(), services.clock)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, poll_seconds))
        yield
        stop.set()
        await task
        await session.close()

    app = web.Application()
    app[SERVICES] = services
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(drainer)
    return app


class _TurnBot:
    """What CloudAdapter.process wants: an object with on_turn."""

    def __init__(self, on_turn: Callable[[TurnContext], Any]) -> None:
        self.on_turn = on_turn
