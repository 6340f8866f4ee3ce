"""A clock for use cases under test: set by hand, timezone-aware."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Clock:
    """Returns `now`; tests move it by assigning `now`."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now
