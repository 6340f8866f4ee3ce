"""Themes for the organisation through the real bot, the use cases and the CLI: a session's leader
records (and corrects) its themes, names are refused, coordinators see counts of groups per quarter
with the report's suppression, and notes follow the free-text retention and the privacy tools.

The pure rules are tested in tests/test_themes.py; this is their wiring.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cards.outbound import CardMessages
from cards.protocol import Verb
from programme.errors import NotAllowedError, ThemeError
from programme.facilitators import ExternalFacilitator
from programme.model import Group
from programme.policies import Permission, refusal
from programme.programmes import parse_programmes
from programme.reports import SUPPRESSED_MARK
from programme.sessions import session_in_month
from repositories.themes import THEMES, ThemesRepository
from service.commands import ThemesCommand
from service.privacy import erase_person, export_person, purge_free_text
from service.services import Services
from store import Store
from tests.bot_driver import BotDriver, TeamsSender, snapshot
from tests.card_reading import card_text, facts_of, find_action, heading, inputs
from tests.cli_run import run
from tests.clocks import Clock
from tests.worlds import Row, email, place_groups, roster_csv

SETTINGS = """
[[programmes]]
id = "reflection"
name = "Peer reflection"
themes = ["Workload", "Referrals", "Training"]

[[programmes]]
id = "peers"
name = "Peer to peer"
kind = "pairs"
"""
MONTH = "2026-11"
KEYS = ("fay", "gus", "ann", "bo", "cy", "ed", "hal", "ivy", "jo", "kit", "di")
ROWS = tuple(
    Row(
        key,
        facilitator=key in ("fay", "gus"),
        coordinator=key == "di",
        hours=37.5,
        name=f"{key.title()} Person",
        aad_object_id=f"aaaaaaaa-0000-4000-8000-{number:012d}",
    )
    for number, key in enumerate(KEYS, start=1)
)


def members(*keys: str) -> tuple[str, ...]:
    return tuple(email(k) for k in keys)


G1 = Group("g1", "Coaches", 3, "Coach", email("fay"), members("ann", "bo"), "reflection")
G2 = Group("g2", "Advisors", 3, "Advisor", email("fay"), members("cy", "ed"), "reflection")
G3 = Group("g3", "Practitioners", 3, "Practitioner", email("fay"), members("hal", "ivy"), "reflection")
G4 = Group("g4", "Navigators", 3, "Navigator", email("gus"), members("jo", "kit"), "reflection")
GROUPS = (G1, G2, G3, G4)


def sender(key: str) -> TeamsSender:
    row = next(r for r in ROWS if r.key == key)
    return TeamsSender(f"29:{key}", row.aad_object_id, row.name)


@dataclass
class World:
    services: Services
    store: Store
    clock: Clock
    bot: BotDriver
    start: datetime  # November's session start (every group meets then)

    def press(self, key: str, group: Group, *themes: str, note: str = "") -> dict:
        data: dict[str, object] = {"group": group.id, "month": MONTH, "themes_note": note}
        data.update(
            {f"theme:{t}": "true" if t in themes else "false" for t in ("Workload", "Referrals", "Training")}
        )
        return self.bot.press(sender(key), Verb.THEMES_SUBMIT, data)


def build(store: Store) -> World:
    programmes = parse_programmes(tomllib.loads(SETTINGS))
    start = session_in_month(G1, MONTH, programmes[0].settings).start
    clock = Clock(start - timedelta(days=1))
    services = Services.build(
        store, programmes[0].settings, clock, messages=CardMessages(), programmes=programmes
    )
    services.programme.import_roster(roster_csv(ROWS), "roster.csv", clock())
    place_groups(store, GROUPS, clock())
    return World(services, store, clock, BotDriver(services), start)


@pytest.fixture
def world(store: Store) -> World:
    return build(store)


def test_the_leader_records_themes_after_the_session_and_may_correct_them(world: World) -> None:
    (card,) = world.bot.say(sender("fay"), "themes g1")
    assert "No session is open for themes now" in card_text(card)

    world.clock.now = world.start + timedelta(minutes=90)
    (card,) = world.bot.say(sender("fay"), "themes g1")
    assert isinstance(card, dict) and heading(card) == "Themes of Coaches: November 2026"
    assert {i for i in inputs(card)} == {"theme:Workload", "theme:Referrals", "theme:Training", "themes_note"}
    assert find_action(card, Verb.THEMES_SUBMIT, group="g1", month=MONTH)

    card = world.press("fay", G1, "Workload", note="Caseloads  rose after the merger")
    assert "Recorded. Thank you." in card_text(card)
    assert inputs(card)["theme:Workload"]["value"] == "true"
    recorded = ThemesRepository(world.store).get("reflection", "g1", MONTH)
    assert recorded is not None
    assert (recorded.themes, recorded.note) == (("Workload",), "Caseloads rose after the merger")

    # A correction replaces the record (one per session), within the register's 7 days.
    world.clock.now = world.start + timedelta(days=7)
    world.press("fay", G1, "Referrals", "Training")
    records = ThemesRepository(world.store).all()
    assert [(r.group_id, r.themes, r.note) for r in records] == [("g1", ("Referrals", "Training"), None)]

    world.clock.now = world.start + timedelta(days=8)
    before = snapshot(world.store)
    card = world.press("fay", G1, "Workload")
    assert "they can be recorded from the start of a session until 7 days after it" in card_text(card)
    assert snapshot(world.store) == before


def test_a_note_naming_someone_in_the_group_is_refused_without_repeating_it(world: World) -> None:
    world.clock.now = world.start + timedelta(minutes=90)
    before = snapshot(world.store)
    card = world.press("fay", G1, "Workload", note="Ann struggles with the rota")
    assert "themes are recorded without names" in card_text(card)
    assert "rota" not in json.dumps(card)
    card = world.press("fay", G1, note="ask bo@x.org")
    assert "remove the email address" in card_text(card) and "bo@x.org" not in json.dumps(card)
    assert snapshot(world.store) == before


def test_only_whoever_ran_the_session_records_its_themes(world: World) -> None:
    world.clock.now = world.start + timedelta(minutes=90)
    before = snapshot(world.store)
    for key, group in (("ann", G1), ("gus", G1), ("fay", G4), ("di", G1)):
        card = world.press(key, group, "Workload")
        assert heading(card) == "You can't do that", (key, group.id)
        assert refusal(Permission.LEADER) in card["fallbackText"]
    (card,) = world.bot.say(sender("ann"), "themes")
    assert heading(card) == "You can't do that"
    # A coordinator sees themes only per quarter, never one group's.
    (card,) = world.bot.say(sender("di"), "themes g1")
    assert heading(card) == "You can't do that"
    assert snapshot(world.store) == before


def overview(world: World) -> tuple[dict[str, str], str]:
    (card,) = world.bot.say(sender("di"), "themes")
    assert isinstance(card, dict) and heading(card) == "Themes for the organisation"
    return facts_of(card), card_text(card)


def test_coordinators_see_themes_per_quarter_suppressed_below_three_groups(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.clock.now = world.start + timedelta(minutes=90)
    assert "No themes have been recorded yet." in overview(world)[1]
    world.press("fay", G1, "Workload", note="Caseloads are high")
    world.press("fay", G2, "Workload", "Training")
    figures, text = overview(world)
    assert "2026-Q4: Peer reflection" in text
    assert figures == {
        "Groups recording": SUPPRESSED_MARK,
        "Workload": SUPPRESSED_MARK,
        "Referrals": SUPPRESSED_MARK,
        "Training": SUPPRESSED_MARK,
    }
    assert "Caseloads" not in text  # notes only once 3 or more groups recorded

    world.press("fay", G3, "Workload", "Training")
    figures, text = overview(world)
    # 3 groups recorded: the total shows, and the notes with it; Training (2 groups) is hidden, and
    # so is Workload with it, as the report's complementary suppression does.
    assert figures["Groups recording"] == "3" and "Caseloads are high" in text
    assert {figures[t] for t in ("Workload", "Referrals", "Training")} == {SUPPRESSED_MARK}

    world.press("gus", G4, "Workload", "Training")
    figures, text = overview(world)
    assert (figures["Groups recording"], figures["Workload"]) == ("4", "4")
    assert figures["Training"] == SUPPRESSED_MARK and figures["Referrals"] == SUPPRESSED_MARK
    # Nothing on the card says which group raised what.
    assert not any(g.name in text for g in GROUPS)


def test_reflect_themes_prints_the_same_suppressed_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, settings = tmp_path / "reflect.json", tmp_path / "reflect.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    with Store(db) as store:
        world = build(store)
        world.clock.now = world.start + timedelta(minutes=90)
        world.press("fay", G1, "Workload", "Training")
        world.press("fay", G2, "Workload", "Referrals")
    where = ("--db", str(db), "--settings", str(settings))
    code, out, _ = run(capsys, "themes", "--quarter", "2026-q4", "--json", *where)
    assert code == 0
    hidden = [{"theme": t, "groups": None} for t in ("Workload", "Referrals", "Training")]
    expected = {"quarter": "2026-Q4", "groups_recording": None, "themes": hidden, "notes": []}
    assert json.loads(out) == [
        {**expected, "programme": "reflection"},
        {**expected, "programme": "all"},
    ]
    with Store(db) as store:
        world = build_again(store)
        world.clock.now = world.start + timedelta(minutes=90)
        world.press("gus", G4, "Workload", "Referrals")
        world.press("fay", G3, "Workload", "Training")
    code, out, _ = run(capsys, "themes", *where)
    assert code == 0
    # Training and Referrals (2 groups each) hidden; together they are about 4 groups, so Workload shows.
    assert "2026-Q4  Peer reflection: 4 groups recorded themes\n    Workload: 4\n    Referrals: [c]\n" in out
    code, out, _ = run(capsys, "themes", "--quarter", "2027-Q1", *where)
    assert (code, out) == (0, "No themes recorded in 2027-Q1.\n")


def build_again(store: Store) -> World:
    """The world over a store `build` already filled (the roster and groups are there)."""
    programmes = parse_programmes(tomllib.loads(SETTINGS))
    start = session_in_month(G1, MONTH, programmes[0].settings).start
    clock = Clock(start)
    services = Services.build(
        store, programmes[0].settings, clock, messages=CardMessages(), programmes=programmes
    )
    return World(services, store, clock, BotDriver(services), start)


def test_notes_follow_the_free_text_retention(world: World) -> None:
    world.clock.now = world.start + timedelta(minutes=90)
    for group in (G1, G2, G3):
        world.press("fay", group, "Workload", note=f"Note from {group.cohort}s")
    settings = world.services.programme.settings
    assert settings.free_text_retention_days == 365
    # Not yet a year old: kept, and shown.
    assert purge_free_text(world.store, settings, world.start + timedelta(days=300)) == 0
    assert len(world.services.themes.quarters()[0].notes) == 3
    # Shown only while within the retention, even before the retention job has run.
    world.clock.now = world.start + timedelta(days=400)
    assert world.services.themes.quarters()[0].notes == ()
    assert purge_free_text(world.store, settings, world.clock.now) == 3
    records = ThemesRepository(world.store).all()
    assert [r.note for r in records] == [None, None, None]
    assert [r.themes for r in records] == [("Workload",)] * 3  # the themes stay


def test_export_shows_the_recorder_their_records_and_erasure_keeps_the_themes(world: World) -> None:
    world.clock.now = world.start + timedelta(minutes=90)
    world.press("fay", G1, "Workload", note="Caseloads are high")
    exported = export_person(world.store, email("fay"), world.clock.now).document["records"][THEMES]
    assert [item["data"]["group"] for item in exported] == ["g1"]
    assert exported[0]["data"]["note"] == "Caseloads are high"
    assert THEMES not in export_person(world.store, email("ann"), world.clock.now).document["records"]

    report = erase_person(world.store, email("fay"), world.clock.now, apply=True)
    assert report.anonymised.get(THEMES) == 1
    (record,) = ThemesRepository(world.store).all()
    assert record.themes == ("Workload",)
    raw = world.store.log(THEMES).all("2026-Q4")
    assert email("fay") not in json.dumps(raw)


def test_an_external_facilitator_records_their_group_s_themes_without_their_own_name(store: Store) -> None:
    world = build(store)
    guest = ExternalFacilitator("xena@partner.org", "Xena Outside")
    world.services.programme.facilitators_repo.replace_all([guest])
    theirs = dataclasses.replace(G4, facilitator=guest.email)
    place_groups(world.store, (G1, G2, G3, theirs), world.clock())
    xena = world.services.facilitators.actor(guest)
    world.clock.now = world.start + timedelta(minutes=90)
    with pytest.raises(ThemeError, match="without names"):
        world.services.themes.record(xena, ThemesCommand("g4", MONTH, ("Workload",), "Xena ran late"))
    world.services.themes.record(xena, ThemesCommand("g4", MONTH, ("Workload",), "Rooms ran late"))
    with pytest.raises(NotAllowedError):
        world.services.themes.record(xena, ThemesCommand("g1", MONTH, ("Workload",), ""))
    assert [r.group_id for r in ThemesRepository(world.store).all()] == ["g4"]
