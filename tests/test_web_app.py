"""teams_bot/web.py's create_app: it serves any activity handler and runs the background work it is given."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import aiohttp
import pytest
from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext

from support.config import BotSettings
from teams_bot.web import create_app


class Echo(ActivityHandler):
    """Not our bot: the web layer needs nothing of the use cases."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"echo: {turn_context.activity.text}"))


def recording(name: str, events: list[str]) -> Callable[[], AbstractAsyncContextManager[object]]:
    @contextlib.asynccontextmanager
    async def work() -> AsyncIterator[None]:
        events.append(f"start {name}")
        try:
            yield
        finally:
            events.append(f"stop {name}")

    return work


@pytest.mark.asyncio
async def test_background_work_starts_in_order_and_stops_in_reverse() -> None:
    events: list[str] = []
    app = create_app(
        Echo(), BotSettings(), background=[recording("drainer", events), recording("clock", events)]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        assert events == ["start drainer", "start clock"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as answer,
        ):
            assert (answer.status, await answer.json()) == (200, {"status": "ok"})
    finally:
        await runner.cleanup()
    assert events == ["start drainer", "start clock", "stop clock", "stop drainer"]


@pytest.mark.asyncio
async def test_a_body_that_is_not_an_activity_never_reaches_the_handler() -> None:
    app = create_app(Echo(), BotSettings())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/api/messages", json={"type": 3}) as answer,
        ):
            assert answer.status == 400
    finally:
        await runner.cleanup()
