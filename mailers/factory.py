"""Opens the configured Mailer; each backend's library is imported only when it is chosen."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from programme.errors import SettingsError
from support.config import MailConfig
from support.mail import Mailer


@asynccontextmanager
async def open_mailer(
    config: MailConfig, clock: Callable[[], datetime], timezone: str, *, msal_http_client: Any = None
) -> AsyncIterator[Mailer]:
    """The backend named by `[mail] backend`, closed when the block ends.

    `msal_http_client` is msal's HTTP client hook (tests route the sign-in host to a fake with it).
    """
    mailer: Mailer
    if config.backend == "pickup":
        from mailers.pickup import PickupMailer

        mailer = PickupMailer(Path(config.pickup_dir), clock=clock)
        try:
            yield mailer
        finally:
            await mailer.close()
        return
    if config.backend == "graph":
        import aiohttp

        from mailers.graph import GraphMailer, GraphTokens, graph_scope
        from mailers.msal_tokens import authority_for

        if not config.client_secret:
            raise SettingsError("[mail] graph needs the client secret in $REFLECT_MAIL_CLIENT_SECRET")
        tokens = GraphTokens(
            config.client_id,
            config.client_secret,
            authority_for(config.tenant_id, config.login_url),
            scope=graph_scope(config.graph_url),
            http_client=msal_http_client,
        )
        async with aiohttp.ClientSession() as session:
            mailer = GraphMailer(session, config.mailbox, tokens, base_url=config.graph_url)
            try:
                yield mailer
            finally:
                await mailer.close()
        return
    if config.backend == "ews":
        from mailers.ews import EwsMailer

        secret_missing = not (config.client_secret if config.ews_auth == "oauth" else config.password)
        if secret_missing:
            variable = "REFLECT_MAIL_CLIENT_SECRET" if config.ews_auth == "oauth" else "REFLECT_MAIL_PASSWORD"
            raise SettingsError(f"[mail] ews needs the secret in ${variable}")
        mailer = EwsMailer(
            service_endpoint=config.ews_url or None,
            mailbox=config.mailbox,
            auth=config.ews_auth,
            default_timezone=timezone,
            username=config.ews_username or None,
            password=config.password or None,
            client_id=config.client_id or None,
            client_secret=config.client_secret or None,
            tenant_id=config.tenant_id or None,
            authority_host=config.login_url,
            http_client=msal_http_client,
            # Impersonation is an OAuth (Exchange Online) choice; on-premises accounts send as themselves.
            access_type=config.ews_access if config.ews_auth == "oauth" else "delegate",
            autodiscover=config.ews_autodiscover,
        )
        try:
            yield mailer
        finally:
            await mailer.close()
        return
    raise SettingsError(f"[mail] backend {config.backend!r} is not available")
