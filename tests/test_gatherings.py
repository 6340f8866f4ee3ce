"""Opt-in gatherings end to end in-process: the `gatherings` card, Join / Leave through the real bot,
the coordinators' CLI, and the timekeeper a rotating gathering shows on its members' cards."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cards.outbound import CardMessages
from cards.protocol import Verb
from programme.answers import RsvpAnswer
from programme.errors import NotAllowedError
from programme.facilitators import ExternalFacilitator
from programme.model import Group
from programme.programmes import parse_programmes
from programme.sessions import session_in_month
from repositories.gatherings import TopicJoinsRepository
from repositories.timekeepers import TimekeepersRepository
from service.commands import GatheringJoinCommand, GatheringLeaveCommand, RsvpCommand
from service.services import Services
from store import Store
from tests.bot_driver import BotDriver, TeamsSender, snapshot
from tests.card_reading import card_text, facts_of, find_action, heading
from tests.cli_run import run
from tests.clocks import Clock
from tests.worlds import NAMES, Row, actor, email, gatherings_settings, place_groups, roster_csv

SETTINGS = gatherings_settings()
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, before November's sessions
ROWS = (
    Row("fay", facilitator=True, hours=37.5, aad_object_id="aaaaaaaa-0000-4000-8000-000000000001"),
    Row("ann", hours=37.5, aad_object_id="aaaaaaaa-0000-4000-8000-000000000002"),
    Row("bo", hours=30, aad_object_id="aaaaaaaa-0000-4000-8000-000000000003"),
    Row("cy", hours=30, aad_object_id="aaaaaaaa-0000-4000-8000-000000000004"),
    Row("di", coordinator=True, hours=22.5, aad_object_id="aaaaaaaa-0000-4000-8000-000000000005"),
)
# A gathering group as the allocation forms it from the joins (rotating: no facilitator), and a
# reflection group of a staff-facilitated programme.
BEREAVEMENT = Group(
    "gatherings-1",
    "Bereavement",
    2,
    "Bereavement",
    None,
    (email("ann"), email("bo"), email("cy")),
    "gatherings",
)
COACHES = Group("reflection-1", "Coaches", 3, "Coach", email("fay"), (email("di"),), "reflection")


def sender(key: str) -> TeamsSender:
    row = next(r for r in ROWS if r.key == key)
    return TeamsSender(f"29:{key}", row.aad_object_id, NAMES[key])


@dataclass
class World:
    services: Services
    store: Store
    clock: Clock
    bot: BotDriver


def build(store: Store, settings: str = SETTINGS) -> World:
    clock = Clock(NOW)
    programmes = parse_programmes(tomllib.loads(settings))
    services = Services.build(
        store, programmes[0].settings, clock, messages=CardMessages(), programmes=programmes
    )
    services.programme.import_roster(roster_csv(ROWS), "roster.csv", NOW)
    return World(services, store, clock, BotDriver(services))


@pytest.fixture
def world(store: Store) -> World:
    return build(store)


def gatherings_card(world: World, key: str) -> dict:
    (card,) = world.bot.say(sender(key), "gatherings")
    assert isinstance(card, dict) and heading(card) == "Gatherings you can join"
    return card


def test_the_card_lists_every_gathering_with_whether_it_meets_and_when(world: World) -> None:
    card = gatherings_card(world, "ann")
    text = card_text(card)
    for topic in ("Bereavement", "Caring for someone"):
        assert find_action(card, Verb.GATHERING_JOIN, programme="gatherings", topic=topic)
    assert text.count("meets once 3 have joined (0 so far)") == 2
    # The programme's next session: Wednesday 11 November 2026 at 12:30 (London).
    assert "Wednesday 11 November 2026, 12:30-13:30 GMT" in text
    assert "next allocation of groups" in text
    # The staff-facilitated programme has no gatherings to join.
    assert "Peer reflection)" not in text and "Coaches" not in text


def test_join_is_one_click_and_takes_effect_at_the_next_allocation(world: World) -> None:
    joins = TopicJoinsRepository(world.store)
    card = world.bot.press(
        sender("ann"), Verb.GATHERING_JOIN, {"programme": "gatherings", "topic": "Bereavement"}
    )
    assert "You joined Bereavement. You'll be placed in its group at the next allocation" in card_text(card)
    assert joins.topic_of("gatherings", email("ann")) == "Bereavement"
    assert find_action(card, Verb.GATHERING_LEAVE, programme="gatherings")
    assert "You joined this gathering." in card_text(card)
    # Joining changes no group by itself: the allocation forms them.
    assert world.services.programme.groups() == ()

    # Another person sees the count, never who joined.
    bo_card = gatherings_card(world, "bo")
    assert "meets once 3 have joined (1 so far)" in card_text(bo_card)
    assert "Ann" not in card_text(bo_card) and email("ann") not in json.dumps(bo_card)
    assert "You joined this gathering." not in card_text(bo_card)

    for key in ("bo", "cy"):
        world.bot.press(sender(key), Verb.GATHERING_JOIN, {"programme": "gatherings", "topic": "Bereavement"})
    assert "meets: 3 have joined" in card_text(gatherings_card(world, "fay"))
    assert joins.joined("gatherings") == {"Bereavement": {email("ann"), email("bo"), email("cy")}}


def test_joining_another_topic_leaves_the_first_and_leave_removes_the_choice(world: World) -> None:
    joins = TopicJoinsRepository(world.store)
    ann = sender("ann")
    world.bot.press(ann, Verb.GATHERING_JOIN, {"programme": "gatherings", "topic": "Bereavement"})
    again = world.bot.press(ann, Verb.GATHERING_JOIN, {"programme": "gatherings", "topic": "bereavement"})
    assert "You have already joined Bereavement." in card_text(again)
    card = world.bot.press(
        ann, Verb.GATHERING_JOIN, {"programme": "gatherings", "topic": "Caring for someone"}
    )
    assert "You joined Caring for someone and left Bereavement." in card_text(card)
    assert joins.joined("gatherings") == {"Caring for someone": {email("ann")}}

    card = world.bot.press(ann, Verb.GATHERING_LEAVE, {"programme": "gatherings"})
    assert "You left Caring for someone." in card_text(card)
    assert joins.topic_of("gatherings", email("ann")) is None
    assert find_action(card, Verb.GATHERING_JOIN, programme="gatherings", topic="Caring for someone")


@pytest.mark.parametrize(
    "data",
    [
        {"programme": "gatherings", "topic": "Knitting"},  # not one of its topics
        {"programme": "reflection", "topic": "Coach"},  # not a gatherings programme
        {"programme": "nowhere", "topic": "Bereavement"},
    ],
)
def test_a_gathering_that_is_not_offered_is_refused_and_nothing_changes(world: World, data: dict) -> None:
    before = snapshot(world.store)
    card = world.bot.press(sender("ann"), Verb.GATHERING_JOIN, data)
    assert "no longer offered" in card_text(card)
    assert snapshot(world.store) == before


def test_a_v1_deployment_offers_no_gatherings(store: Store) -> None:
    world = build(store, '[programme]\nweekday = "Thursday"\n')
    card = gatherings_card(world, "ann")
    assert "There are no gatherings to join at the moment." in card_text(card)


# ------------------------------------------------------------------------------------ the CLI
@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    db, settings = tmp_path / "reflect.json", tmp_path / "reflect.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    with Store(db) as store:
        build(store)
    return db, settings


def test_coordinators_add_and_list_people_from_the_cli(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, settings = files
    where = ("--db", str(db), "--settings", str(settings))
    code, out, _ = run(
        capsys, "gatherings", "add", "--topic", "bereavement", email("ann"), email("bo").upper(), *where
    )
    assert code == 0 and "2 joined Bereavement" in out and "groups allocate" in out
    code, out, _ = run(capsys, "gatherings", "list", "--programme", "gatherings", "--json", *where)
    assert code == 0
    assert json.loads(out) == [
        {
            "programme": "gatherings",
            "topic": "Bereavement",
            "minimum_to_meet": 3,
            "meets": False,
            "members": [email("ann"), email("bo")],
        },
        {
            "programme": "gatherings",
            "topic": "Caring for someone",
            "minimum_to_meet": 3,
            "meets": False,
            "members": [],
        },
    ]
    code, out, _ = run(capsys, "gatherings", "remove", email("bo"), *where)
    assert code == 0 and out.startswith("1 left")
    code, out, _ = run(capsys, "gatherings", "list", *where)
    assert f"gatherings  Bereavement  (1 joined, meets once 3 have joined)\n    {email('ann')}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--topic", "Bereavement", email("ann"), "nobody@x.org"),
            "not on the roster (or left): nobody@x.org",
        ),
        (("--topic", "Knitting", email("ann")), 'no gathering "Knitting"'),
        (("--programme", "reflection", "--topic", "Coach", email("ann")), "has no gatherings"),
    ],
)
def test_a_bad_add_changes_nothing(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    db, settings = files
    code, _, err = run(capsys, "gatherings", "add", *args, "--db", str(db), "--settings", str(settings))
    assert code == 1 and message in err
    with Store(db) as store:
        assert TopicJoinsRepository(store).all() == {}


# ------------------------------------------------------------------------------- timekeepers
def rsvp_facts(world: World, key: str) -> dict[str, str]:
    (card,) = world.bot.say(sender(key), "rsvp")
    assert isinstance(card, dict)
    return facts_of(card)


def test_a_rotating_gathering_shows_who_keeps_time_the_same_on_every_card(world: World) -> None:
    place_groups(world.store, [BEREAVEMENT, COACHES], NOW)
    keepers = {rsvp_facts(world, key).get("Keeps time") for key in ("ann", "bo", "cy")}
    assert len(keepers) == 1
    (shown,) = keepers
    assert shown is not None and shown.endswith("(a different member each session)")
    history = TimekeepersRepository(world.store).history(BEREAVEMENT.id)
    assert list(history) == ["2026-11"]
    assert shown.startswith(NAMES[history["2026-11"].partition("@")[0]])

    # A staff-facilitated group has no timekeeper: its facilitator runs the session.
    di = actor(world.services, "di")
    session = session_in_month(COACHES, "2026-11", world.services.programme.programme_of(COACHES).settings)
    assert world.services.rsvps.view(COACHES, session, di.person, di.email).session.timekeeper == ""
    assert "Keeps time" not in rsvp_facts(world, "di")
    assert TimekeepersRepository(world.store).history(COACHES.id) == {}


def test_a_timekeeper_who_cannot_come_hands_over_and_turns_go_round(world: World) -> None:
    place_groups(world.store, [BEREAVEMENT], NOW)
    timekeeping = TimekeepersRepository(world.store)
    rsvp_facts(world, "ann")
    first = timekeeping.history(BEREAVEMENT.id)["2026-11"]
    keeper = actor(world.services, first)
    world.services.rsvps.answer(
        keeper,
        RsvpCommand(BEREAVEMENT.id, "2026-11", RsvpAnswer.NOT_ATTENDING, None, ""),
    )
    others = [m for m in BEREAVEMENT.members if m != first]
    shown = rsvp_facts(world, others[0].partition("@")[0])["Keeps time"]
    second = timekeeping.history(BEREAVEMENT.id)["2026-11"]
    assert second != first and shown.startswith(NAMES[second.partition("@")[0]])

    # December: whoever has not kept time yet goes first.
    december = world.services.rsvps.sessions.timekeeping.keeper(BEREAVEMENT, "2026-12")
    assert december in set(BEREAVEMENT.members) - {second}
    assert december == timekeeping.history(BEREAVEMENT.id)["2026-12"]


def test_a_v1_group_without_a_facilitator_shows_no_timekeeper(store: Store) -> None:
    world = build(store, '[programme]\nweekday = "Thursday"\n')
    v1 = Group("thu-1", "Coaches", 3, "Coach", None, (email("ann"), email("bo"), email("cy")))
    place_groups(world.store, [v1], NOW)
    assert "Keeps time" not in rsvp_facts(world, "ann")
    assert TimekeepersRepository(world.store).history(v1.id) == {}


def test_the_register_prompt_goes_to_the_timekeeper_the_cards_named(world: World) -> None:
    place_groups(world.store, [BEREAVEMENT], NOW)
    keeper = TimekeepersRepository(world.store)
    rsvp_facts(world, "ann")
    named = keeper.history(BEREAVEMENT.id)["2026-11"]
    session = session_in_month(
        BEREAVEMENT, "2026-11", world.services.programme.programme_of(BEREAVEMENT).settings
    )
    world.clock.now = session.end
    assert world.services.register.send_prompt(BEREAVEMENT, session) == 1
    (record,) = [r for r in world.services.outbox.records("2026-11").values() if r["kind"] == "attendance"]
    assert record["recipient"] == named


def test_an_external_facilitator_is_not_staff_and_joins_no_gathering(world: World) -> None:
    guest = ExternalFacilitator("xena@partner.org", "Xena Outside")
    world.services.programme.facilitators_repo.replace_all([guest])
    xena = world.services.facilitators.actor(guest)
    before = snapshot(world.store)
    for attempt in (
        lambda: world.services.gatherings.open_for(xena),
        lambda: world.services.gatherings.join(xena, GatheringJoinCommand("gatherings", "Bereavement")),
        lambda: world.services.gatherings.leave(xena, GatheringLeaveCommand("gatherings")),
    ):
        with pytest.raises(NotAllowedError, match="staff list"):
            attempt()
    assert snapshot(world.store) == before


def test_the_next_allocation_forms_the_gathering_from_the_joins(world: World) -> None:
    for key in ("ann", "bo", "cy"):
        world.bot.press(
            sender(key), Verb.GATHERING_JOIN, {"programme": "gatherings", "topic": "Caring for someone"}
        )
    world.services.programme.allocate(NOW, "gatherings")
    (gathering,) = [g for g in world.services.programme.groups() if g.programme == "gatherings"]
    assert sorted(gathering.members) == [email("ann"), email("bo"), email("cy")]
    assert gathering.facilitator is None
    facts = rsvp_facts(world, "bo")
    assert facts["Group"] == gathering.name and "Keeps time" in facts
    assert facts["When"] == "Wednesday 11 November 2026, 12:30-13:30 GMT"
