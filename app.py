"""Composition root: settings, store, use cases and the web app; `python app.py` = `reflect serve`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from service.config import db_path, load_settings, settings_path
from service.services import Services
from store import Store
from teams_bot.web import create_app


def serve(db: str | None = None, settings_file: str | None = None) -> int:
    """Run the bot on the configured host and port (127.0.0.1:3978 by default) until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(settings_path(settings_file))
    with Store(db_path(db)) as store:
        services = Services.build(store, settings.programme)
        app = create_app(services, settings.bot)
        mode = "authenticated" if settings.bot.app_id else "local, unauthenticated (no MicrosoftAppId)"
        logging.getLogger("app").info(
            "bot on http://%s:%d/api/messages, %s", settings.bot.host, settings.bot.port, mode
        )
        web.run_app(app, host=settings.bot.host, port=settings.bot.port, print=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python app.py [--db PATH] [--settings PATH]`."""
    from service.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
