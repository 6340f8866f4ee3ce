"""The README's "Programmes" section: its settings block is valid and says what the text says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from programme.errors import SettingsError
from programme.programmes import CadenceKind, Facilitation, Formation, MembershipMode
from service.gatherings import PER_PAGE
from support.config import load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _programmes_block() -> str:
    section = README.read_text(encoding="utf-8").split("## Programmes\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```toml\n(.*?)```", section, re.S)
    return block


def test_the_readme_writes_the_four_seed_programmes_as_valid_settings(tmp_path: Path) -> None:
    path = tmp_path / "reflect.toml"
    path.write_text(_programmes_block(), encoding="utf-8")
    reflection, gatherings, practice, peers = load_settings(path).programmes
    assert reflection.membership.mode is MembershipMode.ROLES and reflection.has_groups
    assert not reflection.has_pairs and reflection.settings.fallback_weekdays == (1,)
    assert gatherings.formation is Formation.TOPIC and gatherings.membership.mode is MembershipMode.OPT_IN
    assert gatherings.facilitation is Facilitation.ROTATING and gatherings.minimum_to_meet == 4
    assert practice.formation is Formation.TEAM and practice.facilitation is Facilitation.EXTERNAL
    assert practice.venue.place == "Meeting room 2, Head Office"
    assert practice.cadence.kind is CadenceKind.EVERY_N_WEEKS and practice.cadence.every_weeks == 6
    assert peers.has_pairs and not peers.has_groups
    assert {p.settings.timezone for p in (reflection, gatherings, practice, peers)} == {"Europe/London"}


def test_the_readme_says_how_the_gatherings_card_pages_and_how_long_a_topic_may_be(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("## Programmes\n", 1)[1].split("\n## ", 1)[0]
    (per_page,) = re.findall(r"shows (\d+) a page", section)
    assert int(per_page) == PER_PAGE
    (longest,) = re.findall(r"each at most (\d+) characters", section)
    path = tmp_path / "reflect.toml"
    gatherings = '[[programmes]]\nid = "g"\nformation = "topic"\nmembership = "opt-in"\n'
    path.write_text(gatherings + f'topics = ["{"x" * int(longest)}"]\n', encoding="utf-8")
    assert len(load_settings(path).programmes[0].topics[0]) == int(longest)
    path.write_text(gatherings + f'topics = ["{"x" * (int(longest) + 1)}"]\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="topics: too long"):
        load_settings(path)


def test_the_readme_states_the_every_weeks_range_the_settings_enforce(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("## Programmes\n", 1)[1].split("\n## ", 1)[0]
    ((low, high),) = re.findall(r"`every_weeks` of (\d+) \(weekly\) to (\d+)", section)
    path = tmp_path / "reflect.toml"

    def programme(weeks: int) -> None:
        path.write_text(
            '[[programmes]]\nid = "p"\ncadence = "every_n_weeks"\nanchor = 2027-01-14\nweekday = "Thursday"\n'
            f"every_weeks = {weeks}\n",
            encoding="utf-8",
        )
        load_settings(path)

    for weeks in (int(low), int(high)):
        programme(weeks)
    for weeks in (int(low) - 1, int(high) + 1):
        with pytest.raises(SettingsError, match="every_weeks: expected a whole number of weeks"):
            programme(weeks)
