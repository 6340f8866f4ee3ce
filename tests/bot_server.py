"""OUR web app (`app.build_web_app`) served from its own thread and event loop, on 127.0.0.1.

Its own loop, as in production: if anything in the bot blocked its loop, the test's client (on
the test's loop) would see the server stop answering instead of freezing along with it. The store
is seeded like the end-to-end world (tests/e2e/conftest.py: roster, two Thursday groups) and the
clock is fixed before the Thursday session. `activity()` builds what Teams would post.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.e2e.conftest import BEFORE_SESSION, MovableClock, groups, roster_csv

TENANT = "00000000-0000-4000-8000-00000000aaaa"
BOT_ID = "28:bot-reflect"


class BotServer:
    """start() / stop() from any thread; `endpoint` is /api/messages, `base` the server's root."""

    def __init__(self, root: Path, bot_settings: Any = None, **options: Any) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = root / "reflect.json"
        self.clock = MovableClock(BEFORE_SESSION)
        self._bot_settings = bot_settings
        self._options = options
        self.store: Any = None
        self.services: Any = None
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bot-server", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base}/api/messages"

    def start(self) -> BotServer:
        from cards.outbound import CardMessages
        from programme.settings import ProgrammeSettings
        from service.services import Services
        from store import Store
        from support.config import BotSettings
        from tests.worlds import place_groups

        self.store = Store(self.db_path)
        self.services = Services.build(
            self.store, ProgrammeSettings(), clock=self.clock, messages=CardMessages()
        )
        self.services.programme.import_roster(roster_csv(), "roster.csv", self.clock())
        place_groups(self.store, groups(), self.clock())
        self._settings = self._bot_settings or BotSettings()
        self._thread.start()
        self._call(self._serve()).result(timeout=30)
        return self

    async def _serve(self) -> None:
        from app import build_web_app
        from teams_bot.web import AccessLogger

        app = build_web_app(self.services, self._settings, poll_seconds=0.05, **self._options)
        self._runner = web.AppRunner(app, access_log_class=AccessLogger)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def _call(self, coroutine: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def stop(self) -> None:
        """Stop serving (the drainer too), end the thread, close the store."""
        try:
            if self._runner is not None:
                self._call(self._runner.cleanup()).result(timeout=30)
                self._runner = None
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
            if self.store is not None:
                self.store.close()

    def __enter__(self) -> BotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def activity(
    service_url: str,
    user_id: str = "29:pat",
    aad_object_id: str | None = None,
    *,
    type_: str = "message",
    conversation: str = "a:chat-pat",
    **fields: Any,
) -> dict[str, Any]:
    """An activity as Teams posts it to the bot, in a 1:1 chat."""
    sender: dict[str, Any] = {"id": user_id, "name": "Someone"}
    if aad_object_id:
        sender["aadObjectId"] = aad_object_id
    return {
        "type": type_,
        "id": "act-1",
        "timestamp": "2026-11-02T09:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": sender,
        "recipient": {"id": BOT_ID, "name": "Reflect"},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        **fields,
    }


def card_action(service_url: str, verb: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An adaptiveCard/action invoke (an Action.Execute press)."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
    return activity(service_url, type_="invoke", name="adaptiveCard/action", value=value, **kwargs)
