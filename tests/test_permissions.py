"""Permissions declared once: the registration table, the refusal wording, the authorisation matrix.

The matrix is generated from the registration table (every text command and card verb in
surfaces/teams_routes.py) x every kind of person, and driven through the real bot in-process
(tests/bot_driver.py): each action is allowed or refused exactly as programme/policies.py says,
a refusal says why in the one wording, and a refused action changes nothing stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cards.protocol import Verb
from programme.answers import Flag
from programme.errors import NotAllowedError
from programme.model import Group
from programme.policies import Actor, Permission, may_act_on, may_use, refusal, refusal_to
from programme.sessions import attendance_open, rsvp_open, session_in_month
from programme.settings import ProgrammeSettings
from repositories.answers import GoalsRepository, PeerRecordsRepository, RegistersRepository, RsvpsRepository
from service.commands import AttendanceCommand
from service.services import Services
from store import Store
from surfaces.teams_routes import CARD_VERBS, TEXT_COMMANDS, Turn, commands_for, find_text_command
from tests.bot_driver import BotDriver, TeamsSender, snapshot
from tests.card_reading import heading, texts
from tests.clocks import Clock
from tests.worlds import Row, actor, build_services, email, place_groups

ROOT = Path(__file__).resolve().parent.parent
MONTH = "2026-11"
QUARTER = "2026-Q4"
REFUSED = "You can't do that"
NOT_ON_ROSTER = "Hello!"

_PEOPLE = (
    # key, facilitator, coordinator
    ("fay", "yes", "no"),  # facilitates group A
    ("ann", "no", "no"),  # member of A: a participant
    ("bo", "no", "no"),  # member of A
    ("rex", "yes", "no"),  # facilitates group B
    ("oli", "no", "no"),  # member of B
    ("pia", "no", "no"),  # member of B
    ("rob", "no", "no"),  # member of R, a group that rotates facilitation
    ("ray", "no", "no"),
    ("sam", "no", "no"),
    ("tia", "no", "no"),
    ("uma", "no", "no"),
    ("cora", "no", "yes"),  # coordinator in no group
    ("val", "no", "no"),  # member of X, a group run by an external facilitator
    ("wes", "no", "no"),
)
# An external facilitator (not on the roster: the facilitators list), with a Teams guest account.
XENA = "xena@partner.example"
XENA_GUEST_ID = "eeeeeeee-0000-4000-8000-000000000042"
FACILITATORS_CSV = f"email,name,aad_object_id\n{XENA},Xena Guest,{XENA_GUEST_ID}\n".encode()


def sender(key: str) -> TeamsSender:
    if key == "xena":
        return TeamsSender("29:xena-guest", XENA_GUEST_ID, "Xena Guest")
    number = [k for k, _, _ in _PEOPLE].index(key) + 1
    return TeamsSender(f"29:{key}", f"aaaaaaaa-0000-4000-8000-{number:012d}", key.title())


OUTSIDER = TeamsSender("29:eve", "dddddddd-0000-4000-8000-000000000777", "Eve")

A = Group("thu-a", "Coaches", 3, "Coach", email("fay"), (email("ann"), email("bo")))
B = Group("thu-b", "Practitioners", 3, "Practitioner", email("rex"), (email("oli"), email("pia")))
R = Group(
    "tue-r", "Advisors", 1, "Advisor", None, tuple(email(k) for k in ("rob", "ray", "sam", "tia", "uma"))
)
X = Group("fri-x", "Outreach", 4, "Outreach", XENA, (email("val"), email("wes")))
GROUPS = {g.id: g for g in (A, B, R, X)}

SETTINGS = ProgrammeSettings()
_SESSIONS = [session_in_month(g, MONTH, SETTINGS) for g in GROUPS.values()]
# Before every group's November session (RSVPs open), and once all have started (registers open).
BEFORE = min(s.start for s in _SESSIONS) - timedelta(days=2)
DURING = max(s.start for s in _SESSIONS) + timedelta(minutes=15)
assert all(rsvp_open(s, BEFORE) and attendance_open(s, DURING) for s in _SESSIONS)

# The roles of the matrix: key of the roster person (None: someone not on the roster).
ROLES: dict[str, str | None] = {
    "participant": "ann",
    "rotating-member": "rob",
    "facilitator-A": "fay",
    "facilitator-B": "rex",
    "coordinator": "cora",
    "external-facilitator": "xena",
    "not-on-roster": None,
}


ROSTER = tuple(
    Row(
        key,
        facilitator=facilitator == "yes",
        coordinator=coordinator == "yes",
        hours=37.5,
        name=f"{key.title()} Person",
        role="Staff",
        aad_object_id=sender(key).aad_object_id,
    )
    for key, facilitator, coordinator in _PEOPLE
)


@dataclass
class World:
    services: Services
    store: Store
    clock: Clock
    bot: BotDriver
    escalation: str
    round: int

    def actor(self, key: str) -> Actor:
        if key == "xena":
            external = self.services.facilitators.get(XENA)
            assert external is not None
            return self.services.facilitators.actor(external)
        return actor(self.services, key)


def build_world(path: Path) -> Iterator[World]:
    clock = Clock(BEFORE)
    with Store(path) as store:
        services = build_services(store, clock, ROSTER, SETTINGS, allocate=False)
        services.facilitators.import_list(FACILITATORS_CSV, "facilitators.csv")
        place_groups(store, GROUPS.values(), clock.now)
        round_ = services.programme.rotate_pairs(date(2026, 10, 1))
        escalation = services.escalations.escalate(
            "test:bo-about-ann", email("bo"), email("ann"), "peer", frozenset({Flag.STRESSED}), MONTH
        )
        yield World(services, store, clock, BotDriver(services), escalation, round_.number)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from build_world(tmp_path / "reflect.json")


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # One world for the whole matrix: a refusal is checked against the state just before it, and
    # what allowed actions change never changes who may do what.
    yield from build_world(tmp_path_factory.mktemp("matrix") / "reflect.json")


# -------------------------------------------------------------------------- the bugs it fixes
def test_remind_in_a_group_that_rotates_facilitation_reminds_its_members(world: World) -> None:
    """It answered "Nobody needs a reminder." (it only looked at groups with a named facilitator)."""
    one_answered = {"group": R.id, "month": MONTH, "answer": "attending"}
    assert heading(world.bot.press(sender("ray"), Verb.RSVP_ANSWER, one_answered)).startswith("Advisors")
    command, _ = find_text_command("remind")
    assert command is not None and command.allowed(world.actor("rob"))

    reply = command.run(world.services, world.actor("rob"), Turn("", "a:rob"))

    assert reply == "Reminder queued for 4 people who haven't answered."
    reminded = sorted(
        e.message.recipient
        for e in world.services.outbox.due(world.clock.now, 100)
        if e.message.kind == "rsvp_reminder"
    )
    assert reminded == sorted(email(k) for k in ("rob", "sam", "tia", "uma"))


def test_a_coordinator_who_does_not_facilitate_neither_gets_nor_can_save_a_register(world: World) -> None:
    """The offer and the permission agree: `attendance` was not offered, yet the card saved any register.

    PRODUCT.md: "only a group's facilitator takes its attendance"; coordinators oversee (`coming`).
    """
    world.clock.now = DURING
    cora = world.actor("cora")
    offered = {command.words[0] for command in commands_for(cora)}
    assert "attendance" not in offered and "coming" in offered
    before = snapshot(world.store)
    register = AttendanceCommand(A.id, MONTH, frozenset(A.members), frozenset())
    with pytest.raises(NotAllowedError) as refused:
        world.services.register.record(cora, register)
    assert str(refused.value) == refusal(Permission.LEADER)
    assert snapshot(world.store) == before
    # Through the bot: the same refusal, and the register still unrecorded.
    data = {"group": A.id, "month": MONTH, **{f"present:{m}": "true" for m in A.members}}
    card = world.bot.press(sender("cora"), Verb.ATTENDANCE_SUBMIT, data)
    assert heading(card) == REFUSED and refusal(Permission.LEADER) in card["fallbackText"]
    assert RegistersRepository(world.store).get(MONTH, A.id) is None
    # Her own group's facilitator still can.
    saved = world.bot.press(sender("fay"), Verb.ATTENDANCE_SUBMIT, data)
    assert heading(saved) == f"Register saved: {A.name}, November 2026"
    assert f"Present ({len(A.members)})" in texts(saved)
    assert RegistersRepository(world.store).get(MONTH, A.id) is not None


@pytest.mark.parametrize(
    ("key", "text", "why"),
    [
        ("ann", "announce", "That's for coordinators."),
        ("fay", "escalations", "That's for coordinators."),
        ("ann", "attendance", "That's for facilitators"),
        ("cora", "remind", "That's for facilitators"),
        ("rob", "intro", "That's for facilitators"),
    ],
)
def test_another_roles_command_says_why_instead_of_only_showing_help(
    world: World, key: str, text: str, why: str
) -> None:
    replies = world.bot.say(sender(key), text)
    assert len(replies) == 1
    card = replies[0]
    assert isinstance(card, dict) and heading(card) == REFUSED
    assert why in card["fallbackText"]
    # Unknown text still gets the person's own help.
    assert heading(world.bot.say(sender(key), "what is this")[0]) == "What you can ask me"


def test_a_refusal_has_one_wording_for_the_command_the_button_and_the_use_case(world: World) -> None:
    world.clock.now = DURING
    by_command = world.bot.say(sender("ann"), "attendance")[0]
    data = {
        "group": A.id,
        "month": MONTH,
        f"present:{email('ann')}": "true",
        f"present:{email('bo')}": "true",
    }
    by_button = world.bot.press(sender("ann"), Verb.ATTENDANCE_SUBMIT, data)
    with pytest.raises(NotAllowedError) as by_use_case:
        world.services.register.record(
            world.actor("ann"), AttendanceCommand(A.id, MONTH, frozenset(A.members), frozenset())
        )
    assert isinstance(by_command, dict)
    assert by_command == by_button
    assert str(by_use_case.value) == refusal(Permission.LEADER)
    assert refusal(Permission.LEADER) in by_button["fallbackText"]


def test_every_permission_has_its_own_refusal_starting_with_whom_it_is_for() -> None:
    wordings = [refusal(p) for p in Permission]
    assert len(set(wordings)) == len(wordings)
    assert all(w.startswith("That's for ") for w in wordings)


# ------------------------------------------------------------------------------- the matrix
def _card_data(verb: str, world: World, group: Group | None) -> dict[str, Any]:
    """A payload the card for `verb` would send (for `group` where the verb names one)."""
    if verb == Verb.RSVP_ANSWER:
        assert group is not None
        return {"group": group.id, "month": MONTH, "answer": "attending"}
    if verb == Verb.ATTENDANCE_SUBMIT:
        assert group is not None
        return {"group": group.id, "month": MONTH, **{f"present:{m}": "true" for m in group.members}}
    if verb == Verb.CHECKOUT_SUBMIT:
        assert group is not None
        return {"group": group.id, "month": MONTH, "checkout_rating": "4", "checkout_helpful": "a calm hour"}
    if verb == Verb.PEER_RECORD:
        return {"round": world.round, "month": MONTH, "peer_met": "yes"}
    if verb == Verb.GOALS_SUBMIT:
        return {"quarter": QUARTER, "goal1_text": "Finish the course", "goals_capacity_now": "90"}
    if verb == Verb.GOALS_OPEN:
        return {"quarter": QUARTER}
    if verb == Verb.INTRO_SEND:
        return {"again": True, "intro_message": "Welcome, all"}
    if verb in (Verb.ESCALATION_ACK, Verb.ESCALATION_RESOLVE):
        return {"id": world.escalation}
    if verb == Verb.GATHERING_JOIN:
        return {"programme": "gatherings", "topic": "Bereavement"}
    if verb == Verb.GATHERING_LEAVE:
        return {"programme": "gatherings"}
    if verb == Verb.GATHERINGS_PAGE:
        return {"page": 2}
    if verb == Verb.THEMES_SUBMIT:
        # A group that no longer exists: the router's check is the one this matrix tests (the use
        # case's check on a real group is in tests/test_themes_flow.py).
        return {"group": "gone", "month": MONTH, "theme:Workload": "true"}
    if verb in (Verb.ANNOUNCE_PREVIEW, Verb.ANNOUNCE_SEND):
        return {
            "announce_title": "Hello",
            "announce_text": "Sessions as usual",
            "announce_audience": "everyone",
        }
    raise AssertionError(f"the matrix has no payload for the registered verb {verb!r}: add one")


# Verbs whose data names a group: tried on each group. When an answer window matters, the moment.
GROUP_VERBS = frozenset({Verb.RSVP_ANSWER, Verb.ATTENDANCE_SUBMIT, Verb.CHECKOUT_SUBMIT})
MOMENT = {Verb.RSVP_ANSWER: BEFORE, "remind": BEFORE, "coming": BEFORE, "rsvp": BEFORE, "intro": BEFORE}


@dataclass(frozen=True)
class Case:
    role: str
    kind: str  # "text" or "card"
    name: str  # the command's first word, or the verb
    permission: Permission
    group: Group | None  # the group the action names, if any

    @property
    def id(self) -> str:
        return f"{self.role}:{self.name}" + (f"@{self.group.id}" if self.group else "")


def _cases() -> Iterator[Case]:
    for role in ROLES:
        for command in TEXT_COMMANDS:
            yield Case(role, "text", command.words[0], command.permission, None)
            if command.group_argument:
                for group in GROUPS.values():
                    yield Case(role, "text", command.words[0], command.permission, group)
        for verb, entry in CARD_VERBS.items():
            targets: list[Group | None] = list(GROUPS.values()) if verb in GROUP_VERBS else [None]
            for target in targets:
                yield Case(role, "card", verb, entry.permission, target)


CASES = list(_cases())


def test_the_matrix_covers_every_registered_command_and_verb() -> None:
    assert {c.name for c in CASES if c.kind == "text"} == {c.words[0] for c in TEXT_COMMANDS}
    assert {c.name for c in CASES if c.kind == "card"} == set(CARD_VERBS) == set(Verb)
    assert {c.role for c in CASES} == set(ROLES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_authorisation_matrix(shared_world: World, case: Case) -> None:
    world = shared_world
    key = ROLES[case.role]
    who = sender(key) if key else OUTSIDER
    world.clock.now = MOMENT.get(case.name, DURING)
    if key is None:
        expected = False
    else:
        actor = world.actor(key)
        expected = may_use(case.permission, actor) and (
            case.group is None or may_act_on(case.permission, actor, case.group)
        )
    before = snapshot(world.store)

    if case.kind == "text":
        replies = world.bot.say(who, case.name + (f" {case.group.id}" if case.group else ""))
        assert len(replies) >= 1
        reply = replies[0]
    else:
        reply = world.bot.press(who, case.name, _card_data(case.name, world, case.group))

    if expected:
        assert heading(reply) not in (REFUSED, NOT_ON_ROSTER), reply
        if case.kind == "card" and case.group is not None:
            assert snapshot(world.store) != before, "an allowed answer was not stored"
        return
    assert snapshot(world.store) == before, "a refused action changed stored state"
    if key is None:
        assert heading(reply) == NOT_ON_ROSTER, reply
        return
    assert isinstance(reply, dict) and heading(reply) == REFUSED, reply
    assert refusal_to(case.permission, world.actor(key)) in reply["fallbackText"]


@pytest.mark.parametrize("role", [r for r, key in ROLES.items() if key is not None])
def test_help_offers_exactly_the_commands_the_policy_allows(shared_world: World, role: str) -> None:
    key = ROLES[role]
    assert key is not None
    actor = shared_world.actor(key)
    (card,) = shared_world.bot.say(sender(key), "help")
    assert isinstance(card, dict)
    offered = card["fallbackText"].removeprefix("Commands: ").split(", ")
    assert offered == [c.words[0] for c in TEXT_COMMANDS if may_use(c.permission, actor)]


# ------------------------------------------------------------------------------ forged data
def test_card_data_never_names_who_acted(world: World) -> None:
    """Identity comes from the activity: emails, ids and roles in card data are ignored or refused."""
    ann, bo = sender("ann"), email("bo")
    forged_identity = {
        "email": bo,
        "from": "29:bo",
        "aadObjectId": sender("bo").aad_object_id,
        "role": "coordinator",
    }

    # An RSVP "for Bo" is Ann's own answer.
    card = world.bot.press(
        ann, Verb.RSVP_ANSWER, {"group": A.id, "month": MONTH, "answer": "maybe", **forged_identity}
    )
    assert "Your answer: Maybe" in texts(card)
    assert [(g, e) for g, e, _ in RsvpsRepository(world.store).of_month(MONTH)] == [(A.id, email("ann"))]

    # Another group's id: refused, nothing stored, whoever the data claims to be.
    before = snapshot(world.store)
    for verb, data in (
        (Verb.RSVP_ANSWER, {"group": B.id, "month": MONTH, "answer": "attending", "email": email("oli")}),
        (
            Verb.CHECKOUT_SUBMIT,
            {"group": R.id, "month": MONTH, "checkout_rating": "1", "email": email("rob")},
        ),
    ):
        world.clock.now = DURING if verb == Verb.CHECKOUT_SUBMIT else BEFORE
        card = world.bot.press(ann, verb, data)
        assert heading(card) == REFUSED and refusal(Permission.MEMBER) in card["fallbackText"]
    # A participant submitting the register of her own group, with a claimed facilitator's identity.
    world.clock.now = DURING
    register = {"group": A.id, "month": MONTH, **{f"present:{m}": "false" for m in A.members}}
    card = world.bot.press(
        ann, Verb.ATTENDANCE_SUBMIT, {**register, **forged_identity, "email": email("fay")}
    )
    assert heading(card) == REFUSED and refusal(Permission.LEADER) in card["fallbackText"]
    # A facilitator submitting another group's register.
    other = {"group": B.id, "month": MONTH, **{f"present:{m}": "true" for m in B.members}}
    card = world.bot.press(sender("fay"), Verb.ATTENDANCE_SUBMIT, other)
    assert heading(card) == REFUSED and refusal(Permission.LEADER) in card["fallbackText"]
    # Coordinator-only buttons with a claimed coordinator's identity.
    for verb, data in (
        (Verb.ESCALATION_RESOLVE, {"id": world.escalation, "email": email("cora")}),
        (Verb.ANNOUNCE_SEND, {**_card_data(Verb.ANNOUNCE_SEND, world, None), "email": email("cora")}),
    ):
        card = world.bot.press(ann, verb, {**data, **forged_identity})
        assert heading(card) == REFUSED and refusal(Permission.COORDINATOR) in card["fallbackText"]
    assert snapshot(world.store) == before

    # Peer records and goals are filed under the sender, whatever email the data carries.
    world.clock.now = DURING
    for verb in (Verb.PEER_RECORD, Verb.GOALS_SUBMIT):
        card = world.bot.press(ann, verb, {**_card_data(verb, world, None), **forged_identity})
        assert heading(card) not in (REFUSED, "That didn't work"), card
    assert set(PeerRecordsRepository(world.store).of_month(MONTH)) == {(world.round, email("ann"))}
    assert set(GoalsRepository(world.store).of_quarter(QUARTER)) == {email("ann")}


# ------------------------------------------------------------------------------ SECURITY.md
def _security_rows() -> dict[str, str]:
    """`name` -> who-may-use column of SECURITY.md's permission table."""
    rows = {}
    for line in (ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\|\s*`([^`]+)`\s*\|[^|]*\|\s*([^|]+?)\s*\|", line)
        if found:
            rows[found[1]] = found[2]
    return rows


def test_security_md_lists_every_command_and_verb_with_its_permission() -> None:
    rows = _security_rows()
    registered = {c.words[0]: c.permission for c in TEXT_COMMANDS} | {
        verb: entry.permission for verb, entry in CARD_VERBS.items()
    }
    assert set(rows) == set(registered), "SECURITY.md's table and the registration table differ"
    for name, permission in registered.items():
        assert rows[name] == permission.who, name
