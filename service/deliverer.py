"""What a deliverer tells the outbox drainer (service/outbox_drainer.py) about one attempt.

A deliverer returns the channel's id for the sent message, or raises `DeliveryError` (retry later,
the person is unreachable on this channel, or give up), or `Rerouted` (send another channel's
version of the message instead, in that channel's lane).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from service.outbox import OutboxEntry


class DeliveryKind(StrEnum):
    """What to do about a delivery that did not happen."""

    RETRY = "retry"  # transient: throttled, server busy, connection lost
    UNREACHABLE = "unreachable"  # the person cannot be reached on this channel
    FAIL = "fail"  # the request itself is wrong: repeating it cannot help


class DeliveryError(Exception):
    """A delivery attempt that did not deliver; `reason` is short and fixed, never message content."""

    def __init__(
        self,
        kind: DeliveryKind,
        status: int | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.reason = reason or (f"http {status}" if status is not None else kind.value)
        super().__init__(self.reason)


class Deliverer(Protocol):
    """Sends one outbox entry on its channel."""

    async def deliver(self, entry: OutboxEntry) -> str:
        """Deliver `entry`; returns the channel's id for the sent message; raises DeliveryError."""
        ...


Send = Callable[[], Awaitable[str]]


class Rerouted(Exception):
    """Raised by a deliverer: not deliverable on the entry's channel, but `send` delivers its version
    for `channel` (a Teams message's email fallback). The drainer runs `send` in that channel's
    lane, so a slow mailer holds an email slot for it, never a Teams one."""

    def __init__(self, channel: str, send: Send) -> None:
        super().__init__(f"rerouted to {channel}")
        self.channel = channel
        self.send = send
