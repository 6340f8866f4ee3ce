"""The drainer's group commit: delivery outcomes made durable together, as few writes as possible."""

from __future__ import annotations

import asyncio

from service.outbox import Outbox, OutboxEntry


class GroupCommit:
    """Records outcomes in as few durable writes as the store allows.

    One write runs at a time; the outcomes that arrive during it go together in the next, so at
    50 sends/s a write covers a few outcomes and at 2,000/s a hundred or more, with no timer to tune.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._queue: asyncio.Queue[tuple[OutboxEntry, asyncio.Future[None]] | None] = asyncio.Queue()

    async def record(self, entry: OutboxEntry) -> None:
        """Return once `entry` is durable."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((entry, done))
        await done

    def close(self) -> None:
        """Let `run` return once everything queued so far is written."""
        self._queue.put_nowait(None)

    async def run(self) -> None:
        """Write queued outcomes until closed."""
        closed = False
        while not closed:
            items = [await self._queue.get()]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            closed = None in items
            batch = [item for item in items if item is not None]
            if batch:
                # The store blocks on fsync: keep it off the event loop.
                await asyncio.to_thread(self._outbox.record, [entry for entry, _ in batch])
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
