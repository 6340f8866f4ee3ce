"""External facilitators (seeds 002/003): people off the HR roster who run groups.

Their own list (`reflect facilitators import FILE`), recognised in Teams by their guest account,
acting on their own groups only, named on their groups' cards and meeting requests, and never
counted as staff.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from cards.protocol import Verb
from programme.announcements import AudienceKind
from programme.answers import RsvpAnswer
from programme.errors import FacilitatorsError
from programme.identity import TeamsUser
from programme.model import Group
from programme.policies import Permission, refusal
from programme.sessions import session_in_month
from programme.settings import ProgrammeSettings
from repositories.links import TeamsLinksRepository
from service.commands import AnnounceCommand, RsvpCommand
from service.identity import Directory
from service.invites import Invites, MailSettings
from service.services import Services
from store import Store
from tests.bot_driver import TENANT, BotDriver, TeamsSender
from tests.card_reading import card_text, heading
from tests.cli_run import data_files, run
from tests.clocks import Clock
from tests.pickup_mail import calendars, deliver
from tests.test_invites import NOW
from tests.worlds import Row, actor, build_services, email, place_groups, roster_csv

MONTH = "2026-11"
SETTINGS = ProgrammeSettings()
XENA = "xena@partner.example"  # a Teams guest: the list gives her guest account's Entra ID user id
XENA_ID = "eeeeeeee-0000-4000-8000-000000000042"
YURI = "yuri@partner.example"  # no guest id on the list: recognised by email, tied to the first id seen
ROSTER = (
    Row("fay", facilitator=True, hours=37.5),
    Row("ann", hours=37.5),
    Row("bo", hours=37.5),
    Row("cy", hours=37.5),
    Row("ed", hours=37.5),
    Row("gus", hours=37.5),
    Row("di", coordinator=True, hours=37.5),
)
A = Group("thu-a", "Coaches", 3, "Coach", email("fay"), (email("ann"), email("bo")))
X = Group("fri-x", "Outreach", 4, "Coach", XENA, (email("cy"), email("ed"), email("gus")))
LIST = (
    "email,name,organisation,aad_object_id,timezone\n"
    f"{XENA},Xena Guest,Partner Practice,{XENA_ID},\n"
    f"{YURI},Yuri Visitor,,,Europe/Paris\n"
).encode()
XENA_SENDER = TeamsSender("29:xena-guest", XENA_ID, "Xena Guest")
SESSION = session_in_month(X, MONTH, SETTINGS)
BEFORE = SESSION.start - timedelta(days=2)


@dataclass
class World:
    services: Services
    store: Store
    clock: Clock
    bot: BotDriver
    db: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = tmp_path / "reflect.json"
    clock = Clock(BEFORE)
    with Store(db) as store:
        services = build_services(store, clock, ROSTER, SETTINGS, allocate=False)
        services.facilitators.import_list(LIST, "facilitators.csv")
        place_groups(store, [A, X], clock.now)
        yield World(services, store, clock, BotDriver(services), db)


def guest(user_id: str, aad: str | None, mail: str | None = None, tenant: str = TENANT) -> TeamsUser:
    return TeamsUser(user_id, aad, "Guest", tenant, mail)


# -- the list ----------------------------------------------------------------------------------------


def test_cli_imports_the_list_replaces_it_whole_and_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "reflect.json"
    roster = tmp_path / "roster.csv"
    roster.write_bytes(b"email,name,role\nann@x.org,Ann Able,Coach\n")
    assert run(capsys, "roster", "import", str(roster), "--db", str(db))[0] == 0
    listed = tmp_path / "facilitators.csv"
    listed.write_bytes(LIST)
    code, out, err = run(capsys, "facilitators", "import", str(listed), "--db", str(db))
    assert (code, err) == (0, "")
    assert out == f"Imported {listed}: 2 added, 0 updated, 0 removed, 0 unchanged\n"

    code, out, _ = run(capsys, "facilitators", "list", "--json", "--db", str(db))
    assert code == 0
    assert json.loads(out)["facilitators"] == [
        {
            "email": XENA,
            "name": "Xena Guest",
            "organisation": "Partner Practice",
            "aad_object_id": XENA_ID,
            "timezone": None,
            "groups": [],
        },
        {
            "email": YURI,
            "name": "Yuri Visitor",
            "organisation": "",
            "aad_object_id": None,
            "timezone": "Europe/Paris",
            "groups": [],
        },
    ]
    code, out, _ = run(capsys, "facilitators", "list", "--db", str(db))
    assert out.splitlines() == [
        f"{XENA}  Xena Guest  (Partner Practice)  Teams guest",
        f"{YURI}  Yuri Visitor",
        "2 external facilitator(s)",
    ]
    # Staff are not external facilitators: the roster's people never appear in this list.
    code, out, _ = run(capsys, "roster", "list", "--json", "--db", str(db))
    assert [p["email"] for p in json.loads(out)["people"]] == ["ann@x.org"]

    # The file is the full list: Yuri is not in the next one, so he is removed.
    listed.write_bytes(f"email,name\n{XENA},Xena Guest-Smith\n".encode())
    code, out, _ = run(capsys, "facilitators", "import", str(listed), "--db", str(db), "--json")
    assert code == 0
    assert json.loads(out) == {"added": [], "updated": [XENA], "removed": [YURI], "unchanged": 0}


def test_a_file_with_any_bad_row_imports_nothing_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "reflect.json"
    roster = tmp_path / "roster.csv"
    roster.write_bytes(b"email,name,role\nann@x.org,Ann Able,Coach\n")
    assert run(capsys, "roster", "import", str(roster), "--db", str(db))[0] == 0
    good = tmp_path / "good.csv"
    good.write_bytes(LIST)
    assert run(capsys, "facilitators", "import", str(good), "--db", str(db))[0] == 0
    before = data_files(db)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        b"email,name,aad_object_id\n"
        b"new@partner.example,New Person,\n"
        b"ann@x.org,Ann Able,\n"  # staff
        b"not-an-address,Someone,\n"
        b"other@partner.example,Other,not-a-guid\n"
    )
    code, out, err = run(capsys, "facilitators", "import", str(bad), "--db", str(db))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert [line.split(": ")[0] for line in lines[:-1]] == [f"{bad}:3", f"{bad}:4", f"{bad}:5"]
    assert "is on the staff roster" in lines[0]
    assert lines[-1] == f"{bad}: 3 problem(s); nothing was imported"
    assert data_files(db) == before
    code, out, _ = run(capsys, "facilitators", "list", "--json", "--db", str(db))
    assert [f["email"] for f in json.loads(out)["facilitators"]] == [XENA, YURI]


# -- recognition ----------------------------------------------------------------------------------


def test_a_guest_is_recognised_by_the_entra_id_user_id_the_list_gives(world: World) -> None:
    directory = world.services.directory
    found = directory.recognise(guest("29:xena-guest", XENA_ID.upper()))
    assert found.external is not None and found.external.email == XENA
    assert found.person is not None and found.person.name == "Xena Guest"
    # The id decides: her email from another Entra ID user is not her.
    assert (
        directory.recognise(guest("29:impostor", "ffffffff-0000-4000-8000-000000000001", XENA)).person is None
    )
    # Guests act in the organisation's tenant; the same id from another tenant is refused.
    programme = world.services.programme
    directory = Directory(
        TeamsLinksRepository(world.store), programme.people_repo, TENANT, programme.facilitators_repo
    )
    assert directory.recognise(guest("29:xena-guest", XENA_ID)).person is not None
    assert directory.recognise(guest("29:xena-guest", XENA_ID, tenant="another-tenant")).person is None


def test_without_a_listed_id_the_email_recognises_and_ties_the_first_id_seen(world: World) -> None:
    directory = world.services.directory
    first = "abababab-0000-4000-8000-000000000001"
    assert directory.recognise(guest("29:yuri", first)).look_up  # not known yet: ask Teams for the email
    found = directory.recognise(guest("29:yuri", first, YURI.upper()))
    assert found.external is not None and found.external.email == YURI
    assert found.person is not None and found.person.timezone == "Europe/Paris"
    # From now on that id is Yuri, and another Entra ID user with his address is not.
    assert directory.recognise(guest("29:yuri", first)).external is not None
    assert directory.recognise(guest("29:other", "abababab-0000-4000-8000-000000000002", YURI)).person is None


def test_someone_taken_off_the_list_is_no_longer_recognised(world: World) -> None:
    directory = world.services.directory
    assert heading(world.bot.say(XENA_SENDER, "intro")[0]) == "Introduce yourself to your groups"
    world.services.facilitators.import_list(f"email,name\n{YURI},Yuri Visitor\n".encode(), "next.csv")
    assert directory.recognise(guest("29:xena-guest", XENA_ID)).person is None
    assert directory.recognise(guest("29:xena-guest", XENA_ID, XENA)).person is None
    (card,) = world.bot.say(XENA_SENDER, "intro")
    assert heading(card) == "Hello!"  # the not-on-the-roster answer
    # Their groups lose them at the next allocation.
    allocation = world.services.programme.allocate(world.clock.now)
    assert XENA not in {g.facilitator for g in allocation.groups}


def test_active_staff_cannot_be_listed_but_a_leaver_can_come_back_as_external(world: World) -> None:
    listed = f"email,name\n{email('ann')},Ann Elsewhere\n".encode()
    with pytest.raises(FacilitatorsError) as refused:
        world.services.facilitators.import_list(listed, "both.csv")
    (problem,) = refused.value.problems
    assert problem.startswith("both.csv:2: ") and "is on the staff roster" in problem
    assert world.services.facilitators.get(XENA) is not None  # nothing changed
    # Ann leaves the staff; she may then run groups as an external facilitator.
    left = roster_csv(r for r in ROSTER if r.key != "ann")
    world.services.programme.import_roster(left, "roster.csv", world.clock.now)
    world.services.facilitators.import_list(listed, "both.csv")
    found = world.services.directory.recognise(guest("29:ann", None, email("ann")))
    assert found.external is not None and found.person is not None and found.person.name == "Ann Elsewhere"


# -- acting on their own groups only -----------------------------------------------------------------


def test_the_guest_sends_their_groups_introduction_and_members_see_their_name(world: World) -> None:
    bot = world.bot
    (welcome,) = bot.say(XENA_SENDER, "hello")
    assert "As a facilitator" in card_text(welcome) and "As a participant" not in card_text(welcome)
    (console,) = bot.say(XENA_SENDER, "intro")
    assert "Outreach" in card_text(console) and "Coaches" not in card_text(console)

    sent = bot.press(XENA_SENDER, Verb.INTRO_SEND, {"intro_message": "Looking forward to Friday"})
    assert "Coaches" not in card_text(sent)
    intros = [e for e in world.services.outbox.due(world.clock.now, 100) if e.message.kind == "intro"]
    assert sorted(e.message.recipient for e in intros) == sorted(X.members)
    assert all(heading(e.message.card) == "Xena Guest introduces Outreach" for e in intros)

    # A member's RSVP answer shows the introduction again, with the facilitator's listed name.
    cy = TeamsSender("29:cy", "cccccccc-0000-4000-8000-000000000003", "Cy")
    world.services.directory.link(
        TeamsUser(cy.user_id, cy.aad_object_id, "Cy", TENANT), actor(world.services, "cy").person, None
    )
    reply = bot.press(cy, Verb.RSVP_ANSWER, {"group": X.id, "month": MONTH, "answer": "attending"})
    assert heading(reply) == "Xena Guest introduces Outreach"
    assert XENA not in json.dumps(reply)


def test_everything_about_another_group_is_refused_with_the_usual_refusal(world: World) -> None:
    bot = world.bot
    for text, permission in (
        (f"coming {A.id}", Permission.OVERSEER),
        (f"remind {A.id}", Permission.LEADER),
        (f"link {A.id}", Permission.LEADER),
    ):
        (card,) = bot.say(XENA_SENDER, text)
        assert heading(card) == "You can't do that" and refusal(permission) in card["fallbackText"]
        assert "Coaches" not in json.dumps(card) and email("ann") not in json.dumps(card)
    world.clock.now = session_in_month(A, MONTH, SETTINGS).start + timedelta(minutes=10)
    (card,) = bot.say(XENA_SENDER, f"attendance {A.id}")
    assert refusal(Permission.LEADER) in card["fallbackText"]
    register = {"group": A.id, "month": MONTH, **{f"present:{m}": "true" for m in A.members}}
    card = bot.press(XENA_SENDER, Verb.ATTENDANCE_SUBMIT, register)
    assert refusal(Permission.LEADER) in card["fallbackText"]
    # A staff member's own things (RSVP, check-out, peers, goals) are for staff.
    for text in ("rsvp", "checkout", "peer", "goals"):
        (card,) = bot.say(XENA_SENDER, text)
        assert "That's for people on the programme's staff list." in card["fallbackText"]
    (card,) = bot.say(XENA_SENDER, "report")
    assert refusal(Permission.COORDINATOR) in card["fallbackText"]
    # Their own group, by the same commands, is theirs.
    world.clock.now = BEFORE
    (card,) = bot.say(XENA_SENDER, f"coming {X.id}")
    assert heading(card) == "Who is coming: Outreach"


def test_the_register_prompt_at_the_session_end_goes_to_the_external_facilitator(world: World) -> None:
    world.clock.now = SESSION.end
    assert world.services.register.send_prompt(X, SESSION) == 1
    (prompt,) = [e for e in world.services.outbox.due(world.clock.now, 100) if e.message.kind == "attendance"]
    assert prompt.message.recipient == XENA
    # Taken off the list, they get nothing (a coordinator can still take the register).
    world.services.facilitators.import_list(f"email,name\n{YURI},Yuri Visitor\n".encode(), "next.csv")
    assert world.services.register.send_prompt(X, session_in_month(X, "2026-12", SETTINGS)) == 0


def test_the_meeting_request_goes_to_the_external_facilitator_and_names_them(
    world: World, tmp_path: Path
) -> None:
    world.clock.now = NOW
    mail = tmp_path / "mail"
    invites = Invites(world.services.sessions, world.services.outbox, MailSettings("reflect@x.org"))
    assert invites.sync_month("2026-12") == 2
    deliver(world.services, mail, NOW)
    events = {str(e["SUMMARY"]): e for c in calendars(mail) for e in c.walk("VEVENT")}
    outreach = events["Peer reflection: Outreach"]
    attendees = {str(a).removeprefix("mailto:").lower() for a in outreach.get("ATTENDEE", [])}
    assert attendees == {XENA, *X.members}
    assert "Facilitator: Xena Guest." in str(outreach["DESCRIPTION"])
    coaches = events["Peer reflection: Coaches"]
    assert XENA not in str(coaches.to_ical()).lower()


# -- never staff -------------------------------------------------------------------------------------


def test_external_facilitators_are_never_counted_as_staff(world: World, tmp_path: Path) -> None:
    services = world.services
    di = actor(services, "di")
    # Announcements to everyone: the roster's active people only.
    result = services.announcements.announce(
        di, AnnounceCommand("Hello", "All welcome", AudienceKind.EVERYONE, "", preview=False)
    )
    announced = {
        e.message.recipient
        for e in services.outbox.due(world.clock.now, 100)
        if e.message.kind == "announcement"
    }
    assert announced == {r.email for r in ROSTER} and result.sent + result.pending == len(ROSTER)
    # They are facilitators, though: an announcement to the facilitators, or to their group, reaches them.
    for audience, value, expected in (
        (AudienceKind.FACILITATORS, "", {email("fay"), XENA}),
        (AudienceKind.GROUP, X.id, {XENA, *X.members}),
        (AudienceKind.ROLE, "Coach", {r.email for r in ROSTER if r.role == "Coach"}),
    ):
        before = {e.message.key for e in services.outbox.due(world.clock.now, 1000)}
        services.announcements.announce(di, AnnounceCommand(audience.value, "News", audience, value, False))
        sent = {
            e.message.recipient
            for e in services.outbox.due(world.clock.now, 1000)
            if e.message.key not in before and e.message.kind == "announcement"
        }
        assert sent == expected, audience
    # Pair rounds and allocations place roster people only.
    round_ = services.programme.rotate_pairs(date(2026, 11, 1))
    paired = {e for pair in round_.pairs for e in pair.peers}
    assert XENA not in paired and YURI not in paired
    allocation = services.programme.allocate(world.clock.now)
    assert not {XENA, YURI} & {m for g in allocation.groups for m in g.members}
    assert not {XENA, YURI} & {u.email for u in allocation.unplaced}
    # The report: the RSVP rate's invited are the members, never the facilitator.
    place_groups(world.store, [A, X], world.clock.now)
    for key in ("cy", "ed", "gus"):
        services.rsvps.answer(actor(services, key), RsvpCommand(X.id, MONTH, RsvpAnswer.ATTENDING, None, ""))
    (section,) = services.reports.by_programme(di)
    report = section.report
    (rsvp,) = [r for r in report.rsvp if r.month == MONTH]
    assert (rsvp.rate.numerator, rsvp.rate.denominator) == (3, 3)
    assert XENA not in repr(report) and "Xena" not in repr(report)


# -- personal data -----------------------------------------------------------------------------------


def test_export_and_erase_cover_an_external_facilitator(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.bot.say(XENA_SENDER, "hello")  # her Teams chat is remembered
    world.bot.press(XENA_SENDER, Verb.INTRO_SEND, {"intro_message": "See you Friday"})
    world.store.close()
    common = ("--db", str(world.db))
    code, out, err = run(capsys, "person", "export", XENA, *common)
    assert code == 0, err
    records = json.loads(out)["records"]
    assert [item["data"]["name"] for item in records["external_facilitators"]] == ["Xena Guest"]
    assert [item["data"]["you_are"] for item in records["groups"]] == ["facilitator"]

    code, out, err = run(capsys, "person", "erase", XENA, "--yes", "--json", *common)
    assert code == 0, err
    report = json.loads(out)
    assert report["erased"] and report["residue"] == []
    assert report["removed"]["external_facilitators"] == 1
    traces = {
        name: [n for n in (XENA, XENA_ID, "xena guest") if n.encode() in raw.lower()]
        for name, raw in data_files(world.db).items()
    }
    assert {name: found for name, found in traces.items() if found} == {}
    code, out, _ = run(capsys, "facilitators", "list", "--json", *common)
    assert [f["email"] for f in json.loads(out)["facilitators"]] == [YURI]
    code, out, _ = run(capsys, "groups", "show", "--json", *common)
    outreach = next(g for g in json.loads(out)["groups"] if g["id"] == X.id)
    assert outreach["facilitator"] is None and outreach["members"] == list(X.members)
