"""The outbox worker: one drainer delivering Teams messages and email, within the Teams limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from mailers.base import Mailer
from service.delivery import ChannelDeliverer, MailDeliverer
from service.outbox import OutboxDrainer
from service.services import Services
from support.config import BotSettings
from support.rate_limit import RateLimiter
from support.retry import RetryPolicy
from teams_bot.connector import (
    BotConnectorClient,
    ClientCredentialsToken,
    NoAuth,
    TeamsDeliverer,
    TokenProvider,
)


@asynccontextmanager
async def outbox_drainer(
    services: Services,
    bot: BotSettings,
    mailer: Mailer | None,
    *,
    token_url: str | None = None,
    app_rate_limit: int = 50,
    sender: str = "",
) -> AsyncIterator[OutboxDrainer]:
    """A drainer for the store's outbox, with its HTTP session open for as long as it is used."""
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
