"""One Bot Connector client per service URL, shared by every turn.

botbuilder's CloudAdapter asks its connector factory for a new ConnectorClient on every turn: a
new HTTP session and msrest pipeline each time (about a quarter of a turn's CPU at load, and never
closed). This factory keeps one per (service URL, audience); the credentials inside cache their
token, so sharing is what botbuilder's own long-lived clients do.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import ConnectorFactory

_KEEP = 64  # service URLs: Teams uses a handful per region


class SharedConnectorFactory(ConnectorFactory):
    """Wraps botbuilder's factory, creating each client once and closing them at shutdown."""

    def __init__(self, inner: ConnectorFactory) -> None:
        self._inner = inner
        self._clients: OrderedDict[tuple[str, str | None], ConnectorClient] = OrderedDict()
        self._lock = asyncio.Lock()

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (service_url, audience)
        async with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = await self._inner.create(service_url, audience)
                if len(self._clients) > _KEEP:
                    await self._clients.popitem(last=False)[1].__aexit__(None, None, None)
            else:
                self._clients.move_to_end(key)
            return client

    async def close(self) -> None:
        """Close every client (their HTTP sessions)."""
        async with self._lock:
            for client in self._clients.values():
                await client.__aexit__(None, None, None)
            self._clients.clear()
