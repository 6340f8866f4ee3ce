"""The README's "Programmes" section: its settings block is valid and says what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from programme.programmes import CadenceKind, Facilitation, Formation, MembershipMode
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
