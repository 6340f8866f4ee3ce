"""The composition root: settings -> store -> use cases -> scheduler -> mailer -> drainer -> bot -> web app.

Nothing else builds these. `reflect serve` (and `python app.py`) runs `serve`; `reflect run-due` and
`reflect invites send` open `wiring` and deliver what they queued with `deliver`; the data commands
open `wiring` too. Tests and benches use the same functions, so what they run is wired as in
production. The web stack (aiohttp, botbuilder: about half a second) is imported where the bot and
the drainer are built, so commands that only open the store stay quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cards.outbound import CardMessages
from mailers.factory import open_mailer
from service.delivery import ChannelDeliverer, DeliveryRun, MailDeliverer, TeamsDeliverer, deliver_due
from service.invites import Invites, MailSettings
from service.outbox_drainer import OutboxDrainer
from service.scheduler import Scheduler
from service.services import Services, system_clock
from store import Store
from support.config import BotSettings, MailConfig, Settings, db_path, load_settings, settings_path
from support.log_format import configure_logging
from support.mail import Mailer
from support.progress import Progress
from support.rate_limit import RateLimiter
from support.retry import RetryPolicy

if TYPE_CHECKING:
    from aiohttp import web

    from teams_bot.web import Background

log = logging.getLogger("app")
# A one-shot run delivers what it queued, but never loops for ever on a failing backend.
RUN_DUE_PASSES = 20


def scheduler_for(services: Services, settings: Settings) -> Scheduler:
    """The programme clock over the use cases, with the meeting requests sent from the programme mailbox."""
    mail = MailSettings(mailbox=settings.mail.mailbox, domain=settings.mail.domain)
    return Scheduler(services, Invites(services.sessions, services.outbox, mail))


@dataclass(frozen=True)
class Wiring:
    """One process's programme: its settings, the open store, the use cases and the clock's jobs."""

    settings: Settings
    store: Store
    services: Services
    scheduler: Scheduler


@contextlib.contextmanager
def wiring(
    db: str | None, settings_file: str | None, clock: Callable[[], datetime] = system_clock
) -> Iterator[Wiring]:
    """Load the settings, open the store and build the use cases; the store closes on exit."""
    settings = load_settings(settings_path(settings_file))
    with Store(db_path(db)) as store:
        services = Services.build(
            store,
            settings.programme,
            clock,
            messages=CardMessages(),
            tenant_id=settings.bot.organisation_tenant,
            programmes=settings.programmes,
        )
        yield Wiring(settings, store, services, scheduler_for(services, settings))


@contextlib.asynccontextmanager
async def outbox_drainer(
    services: Services,
    bot: BotSettings,
    mailer: Mailer | None,
    *,
    token_url: str | None = None,
    app_rate_limit: int = 50,
    sender: str = "",
) -> AsyncIterator[OutboxDrainer]:
    """A drainer for the store's outbox (Teams through the Bot Connector, email through `mailer`),
    with its HTTP session open for as long as it is used."""
    import aiohttp

    from teams_bot.connector import BotConnectorClient, ClientCredentialsToken, NoAuth, TokenProvider

    async with aiohttp.ClientSession() as session:
        tokens: TokenProvider = NoAuth()
        if bot.app_id:
            tokens = ClientCredentialsToken(
                bot.app_id, bot.app_password, bot.app_tenant_id or None, session, token_url=token_url
            )
        limiter = RateLimiter(app_limits=((app_rate_limit, 1.0),))
        teams = TeamsDeliverer(BotConnectorClient(session, tokens), services.directory.reference_for, limiter)
        email = (
            MailDeliverer(mailer, services.programme.meetings_repo, sender) if mailer is not None else None
        )

        async def unreachable(recipients: list[str]) -> None:
            # Only people have 1:1 chats; "group:..." email entries never end up here.
            await asyncio.to_thread(services.directory.mark_unreachable_many, recipients, services.clock())

        yield OutboxDrainer(
            services.outbox,
            ChannelDeliverer(teams, email),
            limiter,
            RetryPolicy(),
            services.clock,
            on_unreachable=unreachable,
        )


async def deliver(root: Wiring, progress: Progress | None = None) -> DeliveryRun:
    """Deliver what is due now through the configured mailer and the Bot Connector, then stop."""
    services, settings = root.services, root.settings
    due = await asyncio.to_thread(services.outbox.due_count, services.clock())
    async with (
        open_mailer(settings.mail, services.clock, settings.programme.timezone) as mailer,
        outbox_drainer(services, settings.bot, mailer, sender=settings.mail.mailbox) as drainer,
    ):
        return await deliver_due(drainer, services.clock, due=due, passes=RUN_DUE_PASSES, progress=progress)


async def _tick(
    scheduler: Scheduler, clock: Callable[[], datetime], stop: asyncio.Event, seconds: float
) -> None:
    """Run the programme clock's due jobs every `seconds` until stopped; a failed tick is retried."""
    while not stop.is_set():
        try:
            reports = await asyncio.to_thread(scheduler.run_due, clock())
        except Exception as error:  # noqa: BLE001 - the clock must outlive one bad tick
            log.error("programme clock tick failed: %s", type(error).__name__)  # noqa: TRY400 - no traceback: it may quote data
        else:
            for report in reports:
                log.info("job %s queued %d message(s)", report.job.key, report.queued)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


def build_web_app(
    services: Services,
    bot_settings: BotSettings,
    *,
    mail: MailConfig | None = None,
    scheduler: Scheduler | None = None,
    auth_metadata: dict[str, str] | None = None,
    auth_timeout: float = 10.0,
    token_url: str | None = None,
    app_rate_limit: int = 50,
    poll_seconds: float = 1.0,
    tick_seconds: float = 60.0,
) -> web.Application:
    """The bot's web app with the outbox drainer (and the programme clock, given a scheduler) inside."""
    from surfaces.teams import TeamsSurface
    from teams_bot.bot import ReflectionBot
    from teams_bot.web import create_app

    bot = ReflectionBot(TeamsSurface(services))

    @contextlib.asynccontextmanager
    async def use_case_threads() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await asyncio.to_thread(bot.close)  # let the use-case threads finish and end

    @contextlib.asynccontextmanager
    async def delivery_and_clock() -> AsyncIterator[None]:
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
                tasks.append(asyncio.create_task(_tick(scheduler, services.clock, stop, tick_seconds)))
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(*tasks)

    background: Sequence[Background] = (use_case_threads, delivery_and_clock)
    return create_app(
        bot, bot_settings, background=background, auth_metadata=auth_metadata, auth_timeout=auth_timeout
    )


def serve(db: str | None = None, settings_file: str | None = None) -> int:
    """Run the bot on the configured host and port (127.0.0.1:3978 by default) until interrupted."""
    from aiohttp import web

    from teams_bot.web import AccessLogger

    configure_logging()
    with wiring(db, settings_file) as root:
        settings = root.settings
        app = build_web_app(root.services, settings.bot, mail=settings.mail, scheduler=root.scheduler)
        mode = "authenticated" if settings.bot.app_id else "local, unauthenticated (no MicrosoftAppId)"
        if settings.bot.app_id and not settings.bot.organisation_tenant:
            log.warning(
                "no tenant_id (or MicrosoftAppTenantId) set: users of any tenant that installs the app "
                "are recognised by their Entra ID user id; set [bot] tenant_id to the organisation's"
            )
        log.info(
            "bot on http://%s:%d/api/messages, %s; mail: %s",
            settings.bot.host,
            settings.bot.port,
            mode,
            settings.mail.backend,
        )
        web.run_app(
            app,
            host=settings.bot.host,
            port=settings.bot.port,
            print=None,
            access_log_class=AccessLogger,
        )
    return 0


if __name__ == "__main__":
    # `python app.py [--db PATH] [--settings PATH]` is `reflect serve`, errors and exit statuses
    # included. Only the script uses the CLI: the module itself never imports it (cli imports app).
    from cli.main import main

    sys.exit(main(["serve", *sys.argv[1:]]))
