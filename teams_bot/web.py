"""The aiohttp app: /api/messages through botbuilder's CloudAdapter, /healthz, and the outbox drainer.

With no app id the bot runs unauthenticated for local use (Agents Playground). With one, every
request without a valid token gets 401: botbuilder answers some auth failures (missing header,
expired token) with a 500, so anything that fails before the bot's turn starts is mapped to 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from service.config import BotSettings, MailConfig
from service.mail_factory import open_mailer
from service.scheduler import Scheduler
from service.services import Services
from teams_bot.bot import ReflectionBot
from teams_bot.sending import outbox_drainer

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
    mail: MailConfig | None = None,
    scheduler: Scheduler | None = None,
    tick_seconds: float = 60.0,
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

    async def background(app: web.Application) -> AsyncIterator[None]:
        # The outbox drainer and the programme clock live and die with the web app.
        async with contextlib.AsyncExitStack() as stack:
            mailer = (
                await stack.enter_async_context(
                    open_mailer(mail, services.clock, services.programme.settings.timezone)
                )
                if mail
                else None
            )
            worker = await stack.enter_async_context(
                outbox_drainer(
                    services,
                    bot_settings,
                    mailer,
                    token_url=token_url,
                    app_rate_limit=app_rate_limit,
                    sender=mail.mailbox if mail else "",
                )
            )
            stop = asyncio.Event()
            tasks = [asyncio.create_task(worker.run(stop, poll_seconds))]
            if scheduler is not None:
                tasks.append(asyncio.create_task(_tick(scheduler, services, stop, tick_seconds)))
            yield
            stop.set()
            await asyncio.gather(*tasks)

    app = web.Application()
    app[SERVICES] = services
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(background)
    return app


async def _tick(scheduler: Scheduler, services: Services, stop: asyncio.Event, seconds: float) -> None:
    """Run the programme clock's due jobs every `seconds` until stopped; a failed tick is retried."""
    while not stop.is_set():
        try:
            reports = await asyncio.to_thread(scheduler.run_due, services.clock())
        except Exception as error:  # noqa: BLE001 - the clock must outlive one bad tick
            log.error("programme clock tick failed: %s", type(error).__name__)  # noqa: TRY400 - no traceback: it may quote data
        else:
            for report in reports:
                log.info("job %s queued %d message(s)", report.job.key, report.queued)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


class _TurnBot:
    """What CloudAdapter.process wants: an object with on_turn."""

    def __init__(self, on_turn: Callable[[TurnContext], Any]) -> None:
        self.on_turn = on_turn
