"""Programme definitions: the legacy [programme] table as one programme, [[programmes]], and named errors."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from programme.errors import NotFoundError, ProgrammeChoiceError, SettingsError
from programme.membership import is_member, members
from programme.model import Person
from programme.programmes import (
    LEGACY_ID,
    CadenceKind,
    Facilitation,
    Formation,
    Kind,
    MembershipMode,
    ProgrammeDefinition,
    choose_programme,
    legacy_programme,
    parse_programmes,
)
from programme.settings import ProgrammeSettings, parse_programme_settings

ROOT = Path(__file__).resolve().parents[1]

FOUR_SEEDS = """
[programme]
send_time = "08:30"

[[programmes]]                    # 000: client-facing staff by similar role, Thursday, Tuesday fallback
id = "reflection"
name = "Peer reflection"
membership = "roles"
roles = ["Health Coach", "Group Practitioner"]
themes = ["Workload", "Referrals", "Training"]

[[programmes]]                    # 001: opt-in gatherings, rotating timekeeper
id = "gatherings"
name = "Co-reflection gatherings"
formation = "topic"
membership = "opt-in"
topics = ["Bereavement", "Caring for someone"]
minimum_to_meet = 4
weekday = "Wednesday"
time = "12:30"
duration_minutes = 60

[[programmes]]                    # 002/003: existing teams, external facilitator, in person, 6-weekly
id = "practice"
name = "Reflective practice"
formation = "team"
facilitation = "external"
venue = "Meeting room 2, Head Office"
cadence = "every_n_weeks"
every_weeks = 6
anchor = 2027-01-14
weekday = "Thursday"
max_group_size = 8

[[programmes]]                    # 004: peer pairs only
id = "peers"
name = "Peer to peer"
kind = "pairs"
rotation_months = 6
"""


def test_the_v1_table_is_one_programme_with_v1_behaviour() -> None:
    table: dict[str, Any] = {"weekday": "wed", "fallback_weekdays": ["Monday"], "max_group_size": 6}
    (programme,) = parse_programmes({"programme": table})
    assert programme.id == LEGACY_ID
    assert programme.kinds == {Kind.GROUPS, Kind.PAIRS}  # v1 runs groups and pairs
    assert (programme.formation, programme.facilitation) == (Formation.ROLE, Facilitation.STAFF)
    assert programme.membership.mode is MembershipMode.EVERYONE
    assert programme.venue.online and programme.cadence.kind is CadenceKind.MONTHLY
    assert programme.settings == parse_programme_settings(table)


def test_no_settings_at_all_is_the_v1_default_programme() -> None:
    assert parse_programmes({}) == (legacy_programme(ProgrammeSettings()),)


def test_every_programme_settings_value_maps_one_to_one() -> None:
    # A settings object with every field changed from its default survives the legacy mapping.
    changed = ProgrammeSettings(
        weekday=0,
        fallback_weekdays=(2, 4),
        session_time=time(14, 15),
        duration_minutes=60,
        week_of_month=3,
        timezone="America/New_York",
        max_group_size=6,
        min_group_size=2,
        facilitator_max_groups=3,
        rotation_months=4,
        quarter_starts=(2, 8),
        closures=frozenset({date(2027, 1, 11)}),
        default_hours_per_week=30.0,
        invite_days_before=10,
        reminder_days_before=3,
        peer_check_day=20,
        send_time=time(8, 0),
        free_text_retention_days=90,
    )
    defaults = ProgrammeSettings()
    assert all(getattr(changed, f.name) != getattr(defaults, f.name) for f in fields(ProgrammeSettings))
    assert legacy_programme(changed).settings == changed


def test_the_example_settings_file_is_one_programme() -> None:
    data = tomllib.loads((ROOT / "reflect.example.toml").read_text(encoding="utf-8"))
    assert parse_programmes(data) == (legacy_programme(ProgrammeSettings()),)


def test_the_four_seed_programmes_parse() -> None:
    reflection, gatherings, practice, peers = parse_programmes(tomllib.loads(FOUR_SEEDS))
    assert reflection.membership.values == ("Health Coach", "Group Practitioner")
    assert reflection.themes == ("Workload", "Referrals", "Training")
    assert reflection.kinds == {Kind.GROUPS} and not reflection.has_pairs
    assert gatherings.formation is Formation.TOPIC and gatherings.facilitation is Facilitation.ROTATING
    assert gatherings.minimum_to_meet == 4 and gatherings.settings.session_time == time(12, 30)
    assert practice.venue.place == "Meeting room 2, Head Office" and not practice.venue.online
    assert practice.cadence.every_weeks == 6 and practice.cadence.anchor == date(2027, 1, 14)
    assert practice.facilitation is Facilitation.EXTERNAL and practice.formation is Formation.TEAM
    assert peers.has_pairs and not peers.has_groups
    # The shared [programme] table is every programme's default; their own keys override it.
    assert {p.settings.send_time for p in (reflection, gatherings, practice, peers)} == {time(8, 30)}
    assert gatherings.settings.weekday == 2 and reflection.settings.weekday == 3


def test_kind_can_be_both() -> None:
    (both,) = parse_programmes({"programmes": [{"id": "both", "kind": ["groups", "pairs"]}]})
    assert both.has_groups and both.has_pairs


def _error(table: dict[str, Any], shared: dict[str, Any] | None = None) -> str:
    data: dict[str, Any] = {"programmes": [table]}
    if shared is not None:
        data["programme"] = shared
    with pytest.raises(SettingsError) as caught:
        parse_programmes(data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"id": "Main Programme"}, "[[programmes]] #1: id: expected lower-case letters"),
        ({"name": "no id"}, "[[programmes]] #1: id:"),
        ({"id": "p", "kind": "trios"}, '[[programmes]] "p": kind: expected one of "groups", "pairs"'),
        ({"id": "p", "kind": []}, '"p": kind: expected'),
        ({"id": "p", "membership": "some"}, '"p": membership: expected one of "everyone"'),
        ({"id": "p", "membership": "roles"}, '"p": roles: membership = "roles" needs a list'),
        ({"id": "p", "roles": ["Coach"]}, '"p": roles: only with membership = "roles"'),
        ({"id": "p", "membership": "services", "services": "North"}, '"p": services: expected a list'),
        ({"id": "p", "membership": "roles", "roles": ["A", "a"]}, '"p": roles: listed twice: A, a'),
        ({"id": "p", "formation": "topic", "membership": "opt-in"}, '"p": topics: formation = "topic" needs'),
        (
            {"id": "p", "formation": "topic", "topics": ["Grief"]},
            '"p": membership: formation = "topic" is opt-in',
        ),
        ({"id": "p", "topics": ["Grief"]}, '"p": topics: only for formation = "topic"'),
        (
            {"id": "p", "formation": "topic", "membership": "opt-in", "topics": ["Grief", "x" * 201]},
            '"p": topics: too long (201 characters, at most 200)',
        ),
        ({"id": "p", "minimum_to_meet": 3}, '"p": minimum_to_meet: only for formation = "topic"'),
        (
            {"id": "p", "formation": "topic", "membership": "opt-in", "topics": ["G"], "minimum_to_meet": 1},
            '"p": minimum_to_meet: expected a whole number from 2 to max_group_size (8), got 1',
        ),
        ({"id": "p", "kind": "pairs", "formation": "team"}, '"p": formation: only for a programme with kind'),
        ({"id": "p", "facilitation": "volunteer"}, '"p": facilitation: expected one of'),
        ({"id": "p", "venue": ""}, '"p": venue: expected some text'),
        ({"id": "p", "venue": "Room\u202e1"}, '"p": venue: contains an invisible text-direction character'),
        ({"id": "p", "themes": "Workload"}, '"p": themes: expected a list'),
        ({"id": "p", "themes": [f"t{i}" for i in range(31)]}, '"p": themes: at most 30'),
        ({"id": "p", "cadence": "weekly"}, '"p": cadence: expected one of "monthly", "every_n_weeks"'),
        ({"id": "p", "every_weeks": 2}, '"p": every_weeks: only with cadence = "every_n_weeks"'),
        (
            {"id": "p", "cadence": "every_n_weeks", "anchor": date(2027, 1, 14)},
            '"p": every_weeks: expected a whole number of weeks from 1 (weekly) to 12, got None',
        ),
        (
            {"id": "p", "cadence": "every_n_weeks", "every_weeks": 13, "anchor": date(2027, 1, 14)},
            '"p": every_weeks: expected a whole number of weeks from 1 (weekly) to 12, got 13',
        ),
        (
            {"id": "p", "cadence": "every_n_weeks", "every_weeks": 0, "anchor": date(2027, 1, 14)},
            '"p": every_weeks: expected a whole number of weeks from 1 (weekly) to 12, got 0',
        ),
        (
            {"id": "p", "cadence": "every_n_weeks", "every_weeks": 6},
            '"p": anchor: cadence = "every_n_weeks" needs',
        ),
        (
            {"id": "p", "cadence": "every_n_weeks", "every_weeks": 6, "anchor": "14/01/2027"},
            '"p": anchor: expected an ISO date',
        ),
        (
            {"id": "p", "cadence": "every_n_weeks", "every_weeks": 6, "anchor": date(2027, 1, 15)},
            '"p": anchor: 2027-01-15 is a Friday, not the programme weekday (Thursday)',
        ),
        (
            {
                "id": "p",
                "cadence": "every_n_weeks",
                "every_weeks": 6,
                "anchor": date(2027, 1, 14),
                "week_of_month": 2,
            },
            '"p": week_of_month: only with cadence = "monthly"',
        ),
        ({"id": "p", "weekdya": "Monday"}, '"p": unknown programme setting(s): weekdya'),
        (
            {"id": "p", "max_group_size": 3, "min_group_size": 4},
            '"p": min_group_size is larger than max_group_size',
        ),
    ],
)
def test_errors_name_the_programme_and_the_key(table: dict[str, Any], message: str) -> None:
    assert message in _error(table)


def test_a_bad_shared_value_is_reported_against_the_shared_table() -> None:
    assert _error({"id": "p"}, {"weekday": "Funday"}).startswith("[programme] weekday: 'Funday'")


def test_the_legacy_table_is_as_strict_as_before() -> None:
    with pytest.raises(SettingsError, match=r"^\[programme\] unknown programme setting\(s\): kind$"):
        parse_programmes({"programme": {"kind": "pairs"}})


def test_ids_are_unique_and_programmes_are_tables() -> None:
    with pytest.raises(SettingsError, match='#2: id "p" is used twice'):
        parse_programmes({"programmes": [{"id": "p"}, {"id": "p"}]})
    with pytest.raises(SettingsError, match="expected one or more"):
        parse_programmes({"programmes": []})
    with pytest.raises(SettingsError, match="#1: expected a table"):
        parse_programmes({"programmes": ["p"]})


def test_choosing_a_programme() -> None:
    one = (legacy_programme(ProgrammeSettings()),)
    two = (*one, ProgrammeDefinition("gatherings", "Gatherings"))
    assert choose_programme(one, None) is one[0]
    assert choose_programme(two, "gatherings") is two[1]
    with pytest.raises(ProgrammeChoiceError, match=r"several programmes \(main, gatherings\): say which"):
        choose_programme(two, None)
    with pytest.raises(NotFoundError, match="no programme 'other'"):
        choose_programme(two, "other")


def test_membership_modes() -> None:
    coach = Person("a@x.org", "A", "Health  coach", service="North")
    advisor = Person("b@x.org", "B", "Advisor", service="south ")
    left = Person("c@x.org", "C", "Health Coach", left_on=date(2026, 1, 1))
    by_role, by_service, opt_in, everyone = parse_programmes(
        {
            "programmes": [
                {"id": "r", "membership": "roles", "roles": ["Health Coach"]},
                {"id": "s", "membership": "services", "services": ["South"]},
                {"id": "o", "membership": "opt-in"},
                {"id": "e"},
            ]
        }
    )
    people = [advisor, coach, left]
    assert members(by_role, people) == [coach]  # case and spacing ignored; leavers never members
    assert members(by_service, people) == [advisor]
    assert members(opt_in, people, {"b@x.org", "c@x.org"}) == [advisor]
    assert [p.email for p in members(everyone, people)] == ["a@x.org", "b@x.org"]
    assert not is_member(opt_in, coach)
