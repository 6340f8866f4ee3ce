"""The one retry helper: exponential backoff with full jitter, bounded attempts, Retry-After honoured."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before the next attempt, and when to give up."""

    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay <= 0 or self.max_delay < self.base_delay:
            raise ValueError("need max_attempts >= 1 and 0 < base_delay <= max_delay")

    def delay(self, attempt: int, retry_after: float | None = None, *, rng: random.Random) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (1-based), or None to give up."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, not {attempt}")
        if attempt >= self.max_attempts:
            return None
        # Full jitter (uniform over [0, cap]) spreads the retries of a failed broadcast over time.
        cap = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        jittered = rng.uniform(0.0, cap)
        if retry_after is not None:
            # The server said when: never earlier, even when that is beyond max_delay.
            return max(retry_after, jittered)
        return jittered


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; an HTTP-date or junk gives None (use our own backoff)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86400 else None
