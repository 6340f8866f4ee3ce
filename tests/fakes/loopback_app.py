"""The lifecycle every aiohttp fake shares: serve on a free 127.0.0.1 port in the running loop."""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackApp(ABC):
    """Subclasses add their routes in `routes`; `url` is where the client should talk to them."""

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the fake's endpoints."""

    @property
    def url(self) -> str:
        """The fake's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Serve on a free loopback port in the running event loop."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
