"""Tolerant weekday parsing shared by the roster and the settings."""

from __future__ import annotations

import re

from programme.model import WEEKDAY_NAMES

_SEPARATORS = re.compile(r"[\s,;/]+")


def parse_weekday(token: str) -> int | None:
    """Monday=0 for a weekday name or an abbreviation of 3+ letters (any case), else None."""
    word = token.strip().lower().rstrip(".")
    if len(word) < 3:
        return None
    for number, name in enumerate(WEEKDAY_NAMES):
        if name.lower().startswith(word):
            return number
    return None


def split_weekdays(text: str) -> list[str]:
    """The weekday tokens of a list separated by spaces or commas."""
    return [token for token in _SEPARATORS.split(text.strip()) if token]
