"""The one rate limiter for outbound Teams traffic: sliding windows per conversation and per app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

# (requests, seconds): at most `requests` in any window of `seconds`.
Limit = tuple[int, float]

# Microsoft Teams: per bot per conversation, and per app per tenant (PLATFORM-NOTES.md).
TEAMS_CONVERSATION_LIMITS: tuple[Limit, ...] = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
TEAMS_APP_LIMITS: tuple[Limit, ...] = ((50, 1.0),)

_MIN_SWEEP_INTERVAL = 1024  # grants between sweeps of idle conversations, at least


def _check_limits(limits: Sequence[Limit]) -> tuple[Limit, ...]:
    if not limits or any(count < 1 or seconds <= 0 for count, seconds in limits):
        raise ValueError(f"limits must be (requests >= 1, seconds > 0) pairs, not {limits!r}")
    return tuple(limits)


class _Windows:
    """Grant times (oldest first) checked against several sliding windows at once."""

    def __init__(self, limits: Sequence[Limit], margin: float) -> None:
        # The margin widens every window: requests reach the server with jittered latency, so a
        # schedule that exactly fills our windows could overfill the server's.
        self.limits = tuple((count, seconds + margin) for count, seconds in limits)
        self.keep = max(count for count, _ in self.limits)
        self.span = max(seconds for _, seconds in self.limits)

    def wait(self, times: list[float], now: float) -> float:
        """Seconds until one more grant fits every window (0 if it fits now)."""
        wait = 0.0
        for count, seconds in self.limits:
            if len(times) >= count:
                # Fits once the count-th most recent grant has left the window.
                wait = max(wait, times[-count] + seconds - now)
        return wait

    def grant(self, times: list[float], now: float) -> None:
        """Record a grant at `now`, forgetting grants no window can count any more."""
        times.append(now)
        if len(times) > 2 * self.keep:  # trimmed in bulk: amortised O(1) per grant
            del times[: len(times) - self.keep]

    def expired(self, times: list[float], now: float) -> bool:
        """True when no window still counts any of `times`."""
        return not times or times[-1] + self.span <= now


class RateLimiter:
    """Waits until a send fits the per-conversation and the app-wide limits, then counts it.

    One instance is shared by everything that calls the Bot Connector, so the app-wide limit
    holds across all conversations; `pause_until` stops every sender after a 429.
    """

    def __init__(
        self,
        *,
        app_limits: Sequence[Limit] = TEAMS_APP_LIMITS,
        conversation_limits: Sequence[Limit] = TEAMS_CONVERSATION_LIMITS,
        margin: float = 0.1,
        app_margin: float = 0.03,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if margin < 0 or app_margin < 0:
            raise ValueError("margins must not be negative")
        # The app-wide window decides a broadcast's speed: its margin is kept small (50 per 1.03 s
        # is 97% of Teams' cap), enough for loopback and LAN jitter; a rare 429 is retried.
        self._app = _Windows(_check_limits(app_limits), app_margin)
        self._conversation = _Windows(_check_limits(conversation_limits), margin)
        self._clock = clock
        self._sleep = sleep
        self._app_times: list[float] = []
        self._conversations: dict[str, list[float]] = {}
        self._paused_until = float("-inf")
        self._grants_until_sweep = _MIN_SWEEP_INTERVAL
        # FIFO: only the head of the queue waits for an app-wide slot, so a free slot wakes one
        # waiter rather than every one of them.
        self._app_lock = asyncio.Lock()

    def now(self) -> float:
        """The limiter's clock (seconds, monotonic): the time base of `pause_until`."""
        return self._clock()

    def pause_until(self, t: float) -> None:
        """Grant nothing before `t` (limiter clock), e.g. until a 429's Retry-After has passed."""
        self._paused_until = max(self._paused_until, t)

    @property
    def tracked_conversations(self) -> int:
        """How many conversations' recent grants are held in memory."""
        return len(self._conversations)

    def _conversation_wait(self, key: str, now: float) -> float:
        times = self._conversations.get(key)
        return self._conversation.wait(times, now) if times else 0.0

    def _app_wait(self, now: float) -> float:
        return max(self._app.wait(self._app_times, now), self._paused_until - now)

    async def acquire(self, conversation_key: str) -> None:
        """Wait until one more send to `conversation_key` fits every limit, and count it."""
        while True:
            # Wait out this conversation's own limits without holding up other conversations.
            while (wait := self._conversation_wait(conversation_key, self._clock())) > 0:
                await self._sleep(wait)
            async with self._app_lock:
                # Grants happen only under the lock and time only relaxes limits, so once this
                # conversation fits here it still fits after waiting for the app-wide slot.
                if self._conversation_wait(conversation_key, self._clock()) > 0:
                    continue  # another send to the same conversation took the slot first
                while (wait := self._app_wait(self._clock())) > 0:
                    await self._sleep(wait)
                self._grant(conversation_key, self._clock())
                return

    def _grant(self, key: str, now: float) -> None:
        self._app.grant(self._app_times, now)
        self._conversation.grant(self._conversations.setdefault(key, []), now)
        self._grants_until_sweep -= 1
        # Sweeping after as many grants as there were conversations after the last sweep keeps
        # memory within twice the conversations of the longest window, at amortised O(1) a grant.
        if self._grants_until_sweep <= 0:
            expired = [
                k for k, times in self._conversations.items() if self._conversation.expired(times, now)
            ]
            for k in expired:
                del self._conversations[k]
            self._grants_until_sweep = max(len(self._conversations), _MIN_SWEEP_INTERVAL)
