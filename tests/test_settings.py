"""Settings: brief defaults, the example file, and clear errors for bad values."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from programme.errors import SettingsError
from programme.settings import ProgrammeSettings, parse_programme_settings
from support.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_the_briefs() -> None:
    s = ProgrammeSettings()
    assert (s.weekday, s.fallback_weekdays, s.session_time, s.duration_minutes) == (3, (1,), time(10), 90)
    assert (s.week_of_month, s.timezone, s.max_group_size, s.facilitator_max_groups) == (
        2,
        "Europe/London",
        8,
        2,
    )
    assert (s.rotation_months, s.quarter_starts) == (6, (1, 4, 7, 10))


def test_example_file_documents_the_defaults() -> None:
    assert load_settings(ROOT / "reflect.example.toml").programme == ProgrammeSettings()


def test_values_are_parsed() -> None:
    s = parse_programme_settings(
        {
            "weekday": "wed",
            "fallback_weekdays": ["Monday", "fri"],
            "time": "09:30",
            "duration_minutes": 60,
            "closures": ["2026-12-24"],
            "quarter_starts": [10, 1],
        }
    )
    assert (s.weekday, s.fallback_weekdays, s.session_time) == (2, (0, 4), time(9, 30))
    assert s.closures == frozenset({date(2026, 12, 24)}) and s.quarter_starts == (1, 10)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"weekday": "Funday"}, "weekday: 'Funday' is not a weekday name"),
        ({"time": "25:00"}, "time: expected a local time"),
        ({"week_of_month": 5}, "week_of_month: expected a whole number from 1 to 4"),
        ({"timezone": "Europe/Atlantis"}, "timezone: 'Europe/Atlantis' is not an IANA time zone"),
        ({"max_group_size": True}, "max_group_size: expected a whole number"),
        ({"closures": ["24/12/2026"]}, "closures: expected an ISO date"),
        ({"quarter_starts": [13]}, "quarter_starts: expected a whole number from 1 to 12"),
        ({"max_group_size": 3, "min_group_size": 4}, "min_group_size is larger than max_group_size"),
        ({"weekdya": "Thursday"}, "unknown programme setting(s): weekdya"),
    ],
)
def test_bad_values_are_named(table: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=None) as caught:
        parse_programme_settings(table)
    assert message in str(caught.value)


def test_settings_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "reflect.toml"
    bad.write_text("[programme]\nweekday = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad)
    bad.write_text("[mailer]\nbackend = 'x'\n")
    with pytest.raises(SettingsError, match="unknown section"):
        load_settings(bad)
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "missing.toml")


def test_every_setting_can_be_set_from_the_file() -> None:
    from dataclasses import fields

    from programme.settings import _CONVERTERS

    assert {name for name, _ in _CONVERTERS.values()} == {f.name for f in fields(ProgrammeSettings)}


def test_a_settings_file_declares_several_programmes_or_stays_one(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.toml"
    legacy.write_text('[programme]\nweekday = "Tuesday"\n', encoding="utf-8")
    (one,) = load_settings(legacy).programmes
    assert one.id == "main" and one.has_groups and one.has_pairs and one.settings.weekday == 1
    several = tmp_path / "several.toml"
    several.write_text(
        '[programme]\ntimezone = "Europe/London"\n\n'
        '[[programmes]]\nid = "reflection"\nkind = "groups"\nweekday = "Thursday"\n\n'
        '[[programmes]]\nid = "pairs"\nkind = "pairs"\n',
        encoding="utf-8",
    )
    loaded = load_settings(several)
    assert [p.id for p in loaded.programmes] == ["reflection", "pairs"]
    assert not loaded.programmes[1].has_groups
    bad = tmp_path / "bad.toml"
    bad.write_text('[[programmes]]\nid = "x"\nkind = "meetings"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bad\.toml: .*x.*kind"):
        load_settings(bad)
