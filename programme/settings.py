"""Programme settings: defaults from the product brief and validation of the `[programme]` table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    # Free-text answers (check-out text, RSVP notes, goals text) older than this are deleted; 0 keeps them.
    free_text_retention_days: int = 365

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


def parse_date(key: str, value: Any) -> date:
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


def _whole(low: int, high: int) -> Callable[[str, Any], int]:
    return lambda key, value: _int(key, value, low, high)


def _hours(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60:
        raise SettingsError(f"{key}: expected hours from 0 to 60, got {value!r}")
    return float(value)


# TOML name -> (field, converter). Each converter names the key in its error.
_CONVERTERS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "weekday": ("weekday", _weekday),
    "fallback_weekdays": ("fallback_weekdays", lambda k, v: tuple(_weekday(k, d) for d in _list(k, v))),
    "time": ("session_time", _parse_time),
    "session_time": ("session_time", _parse_time),
    "duration_minutes": ("duration_minutes", _whole(15, 480)),
    "week_of_month": ("week_of_month", _whole(1, 4)),
    "timezone": ("timezone", _timezone),
    "max_group_size": ("max_group_size", _whole(2, 50)),
    "min_group_size": ("min_group_size", _whole(2, 50)),
    "facilitator_max_groups": ("facilitator_max_groups", _whole(1, 20)),
    "rotation_months": ("rotation_months", _whole(1, 24)),
    "quarter_starts": (
        "quarter_starts",
        lambda k, v: tuple(sorted({_int(k, m, 1, 12) for m in _list(k, v)})),
    ),
    "closures": ("closures", lambda k, v: frozenset(parse_date(k, d) for d in _list(k, v))),
    "default_hours_per_week": ("default_hours_per_week", _hours),
    "invite_days_before": ("invite_days_before", _whole(1, 60)),
    "reminder_days_before": ("reminder_days_before", _whole(1, 14)),
    "peer_check_day": ("peer_check_day", _whole(1, 28)),
    "send_time": ("send_time", _parse_time),
    "free_text_retention_days": ("free_text_retention_days", _whole(0, 3650)),
}


def parse_programme_settings(table: Mapping[str, Any]) -> ProgrammeSettings:
    """Settings from a `[programme]` table (TOML names); unknown keys are errors, not ignored."""
    unknown = sorted(set(table) - set(_CONVERTERS))
    if unknown:
        raise SettingsError(f"unknown programme setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        field_name, convert = _CONVERTERS[key]
        values[field_name] = convert(key, value)
    settings = ProgrammeSettings(**values)
    if settings.min_group_size > settings.max_group_size:
        raise SettingsError("min_group_size is larger than max_group_size")
    return settings
