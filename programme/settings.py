"""Programme settings: defaults from the product brief and validation of the `[programme]` table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from programme.errors import SettingsError
from programme.weekdays import parse_weekday


@dataclass(frozen=True)
class ProgrammeSettings:
    """How the programme runs; every field has the brief's default."""

    weekday: int = 3  # Thursday
    fallback_weekdays: tuple[int, ...] = (1,)  # Tuesday
    session_time: time = time(10, 0)
    duration_minutes: int = 90
    week_of_month: int = 2
    timezone: str = "Europe/London"
    max_group_size: int = 8
    min_group_size: int = 3
    facilitator_max_groups: int = 2
    rotation_months: int = 6
    quarter_starts: tuple[int, ...] = (1, 4, 7, 10)
    # Dates with no sessions (bank holidays, office closures): the session moves a week on.
    closures: frozenset[date] = frozenset()
    # Used for pairing when the roster gives no hours.
    default_hours_per_week: float = 37.5
    # The programme clock: when invites, reminders and prompts go out (local time, `send_time`).
    invite_days_before: int = 14
    reminder_days_before: int = 2
    peer_check_day: int = 25  # day of the month the "did you meet your peer?" card goes out
    send_time: time = time(9, 0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def session_weekdays(self) -> tuple[int, ...]:
        """The main weekday, then the fallbacks in order of preference."""
        return (self.weekday, *(d for d in self.fallback_weekdays if d != self.weekday))


def _weekday(key: str, value: Any) -> int:
    day = parse_weekday(value) if isinstance(value, str) else None
    if day is None:
        raise SettingsError(f"{key}: {value!r} is not a weekday name")
    return day


def _int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def _parse_time(key: str, value: Any) -> time:
    try:
        parsed = time.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if not isinstance(parsed, time) or parsed.tzinfo is not None:
        raise SettingsError(f'{key}: expected a local time like "10:00", got {value!r}')
    return parsed


def _parse_date(key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key}: expected an ISO date like 2026-12-24, got {value!r}") from None


def _list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise SettingsError(f"{key}: expected a list, got {value!r}")
    return value


def _timezone(key: str, value: Any) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SettingsError(f"{key}: {value!r} is not an IANA time zone") from None
    return str(value)


def parse_programme_settings(table: Mapping[str, Any]) -> ProgrammeSettings:
    """Settings from a `[programme]` table (TOML names); unknown keys are errors, not ignored."""
    known = {f.name for f in fields(ProgrammeSettings)} | {"time"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise SettingsError(f"unknown programme setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "weekday":
            values[key] = _weekday(key, value)
        elif key == "fallback_weekdays":
            values[key] = tuple(_weekday(key, v) for v in _list(key, value))
        elif key in ("time", "session_time"):
            values["session_time"] = _parse_time(key, value)
        elif key == "duration_minutes":
            values[key] = _int(key, value, 15, 480)
        elif key == "week_of_month":
            values[key] = _int(key, value, 1, 4)
        elif key == "timezone":
            values[key] = _timezone(key, value)
        elif key == "max_group_size":
            values[key] = _int(key, value, 2, 50)
        elif key == "min_group_size":
            values[key] = _int(key, value, 2, 50)
        elif key == "facilitator_max_groups":
            values[key] = _int(key, value, 1, 20)
        elif key == "rotation_months":
            values[key] = _int(key, value, 1, 24)
        elif key == "quarter_starts":
            values[key] = tuple(sorted({_int(key, v, 1, 12) for v in _list(key, value)}))
        elif key == "closures":
            values[key] = frozenset(_parse_date(key, v) for v in _list(key, value))
        elif key == "invite_days_before":
            values[key] = _int(key, value, 1, 60)
        elif key == "reminder_days_before":
            values[key] = _int(key, value, 1, 14)
        elif key == "peer_check_day":
            values[key] = _int(key, value, 1, 28)
        elif key == "send_time":
            values[key] = _parse_time(key, value)
        elif key == "default_hours_per_week":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60:
                raise SettingsError(f"{key}: expected hours from 0 to 60, got {value!r}")
            values[key] = float(value)
    settings = ProgrammeSettings(**values)
    if settings.min_group_size > settings.max_group_size:
        raise SettingsError("min_group_size is larger than max_group_size")
    return settings
