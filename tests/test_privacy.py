"""`reflect person export|erase` and the free-text retention purge, over a store with every shape of data.

The store is built with the real use cases (roster import, allocation, pairing, RSVPs, invites,
introductions, announcements, registers, check-outs with flags, peer records, goals, the
scheduler), so every table the programme writes holds records of the person and of others.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cards.outbound import CardMessages
from mailers.pickup import PickupMailer
from programme.announcements import AudienceKind
from programme.answers import AbsenceReason, Flag, Goal, RsvpAnswer
from programme.errors import DeliveryBusyError
from programme.identity import ConversationReference, TeamsUser
from programme.privacy import Identity, Redactor, email_pattern, name_is_ambiguous, retention_cutoff
from programme.settings import ProgrammeSettings
from repositories.links import TeamsLinksRepository
from service.commands import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    EscalationAction,
    EscalationCommand,
    GoalsCommand,
    IntroSendCommand,
    PeerRecordCommand,
    RsvpCommand,
)
from service.escalations import escalation_id
from service.invites import Invites, MailSettings
from service.outbox import OUTBOX_BODIES_LOG as OUTBOX_BODIES
from service.outbox import OUTBOX_LOG as OUTBOX
from service.outbox import Outbox
from service.privacy import erase_person, personal_data, purge_free_text
from service.scheduler import Scheduler
from service.services import Services
from store import Store
from support.mail import MailMessage, MeetingInvite
from tests.cli_run import data_files, run
from tests.clocks import Clock
from tests.store_snapshot import records
from tests.worlds import Row, build_services
from tests.worlds import actor as acting

ANN_AAD = "a0a0a0a0-0000-4000-8000-0000000000a1"
ROSTER = (
    Row("fay", facilitator=True, hours=37.5, aad_object_id="00000000-0000-4000-8000-00000000000f"),
    Row("ann", coordinator=True, hours=37.5, aad_object_id=ANN_AAD),
    Row("bo", hours=30, aad_object_id="00000000-0000-4000-8000-0000000000b0"),
    Row("cy", hours=30, aad_object_id="00000000-0000-4000-8000-0000000000c0"),
    Row("di", coordinator=True, hours=22.5, aad_object_id="00000000-0000-4000-8000-0000000000d0"),
    Row("ed", hours=22.5, aad_object_id="00000000-0000-4000-8000-0000000000e0"),
)
# Everything that identifies Ann in the data; a raw search of the files must find none after erasing.
ANN_TRACES = ("ann@x.org", "ann able", ANN_AAD, "29:ann-user", "a:ann-chat")
OTHERS_SECRETS = ("bo-note-secret", "cy-helpful-secret", "peer-goal-secret", "peer-training", "peer-plan")


@dataclass(frozen=True)
class World:
    db: Path
    settings: Path
    group: str
    peer: str  # Ann's peer in round 1
    escalations: dict[str, str]  # name -> escalation id


def build_world(tmp_path: Path) -> World:
    """A programme month with every kind of record, for Ann and for others."""
    db = tmp_path / "reflect.json"
    settings = tmp_path / "reflect.toml"
    # Its own pickup folder: an erasure also clears the person's mail files from the configured one.
    settings.write_text(
        f'[programme]\nfree_text_retention_days = 365\n[mail]\npickup_dir = "{tmp_path / "mail"}"\n'
    )
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with Store(db) as store:
        services = build_services(store, clock, ROSTER, allocate=False)
        invites = Invites(services.sessions, services.outbox, MailSettings())
        services.programme.allocate()
        round_ = services.programme.rotate_pairs(date(2026, 12, 1))
        people = services.programme.people()

        def actor(email: str) -> Any:
            return acting(services, email)

        group = services.programme.current_allocation().groups[0]
        assert "ann@x.org" in group.members and group.facilitator == "fay@x.org"
        pair = next(p for p in round_.pairs if "ann@x.org" in p.peers)
        peer = next(e for e in pair.peers if e != "ann@x.org")
        services.directory.link(
            TeamsUser("29:ann-user", ANN_AAD, "Ann Able", "tenant-1"),
            people["ann@x.org"],
            ConversationReference("tenant-1", "https://smba.example/", "a:ann-chat", "28:bot", "29:ann-user"),
        )
        # Linked by email before her aad id reached the roster: the Teams user id is kept for her.
        TeamsLinksRepository(store).link_user("29:ann-user", "ann@x.org")
        services.directory.mark_unreachable("ann@x.org", clock.now)  # Teams refused a delivery once
        invites.sync_month("2026-12")
        services.introductions.send(
            actor("fay@x.org"), IntroSendCommand(False, "Welcome! Ann Able brings the biscuits.")
        )
        services.rsvps.answer(
            actor("ann@x.org"),
            RsvpCommand(group.id, "2026-12", RsvpAnswer.ATTENDING, None, "ann-note-secret"),
        )
        services.rsvps.answer(
            actor("bo@x.org"),
            RsvpCommand(
                group.id, "2026-12", RsvpAnswer.NOT_ATTENDING, AbsenceReason.SICKNESS, "bo-note-secret"
            ),
        )
        services.peers.introduce_round(round_)
        services.announcements.announce(
            actor("ann@x.org"),
            AnnounceCommand(
                "Programme news", "Hello from the people circle", AudienceKind.EVERYONE, "", False
            ),
        )
        Scheduler(services, invites).run_due(clock.now)

        clock.now = datetime(2026, 12, 10, 11, 35, tzinfo=UTC)  # the 2nd Thursday's session has ended
        present = frozenset(group.members) - {"bo@x.org"}
        services.register.record(
            actor("fay@x.org"), AttendanceCommand(group.id, "2026-12", present, frozenset({"bo@x.org"}))
        )
        services.checkouts.submit(
            actor("ann@x.org"),
            CheckoutCommand(
                group.id,
                "2026-12",
                "ann-helpful-secret",
                "ann-unhelpful-secret",
                4,
                frozenset({Flag.STRESSED}),
            ),
        )
        services.checkouts.submit(
            actor("cy@x.org"),
            CheckoutCommand(
                group.id,
                "2026-12",
                "cy-helpful-secret: Ann Able made me laugh",
                "",
                5,
                frozenset({Flag.OVERWORKED}),
            ),
        )
        services.peers.record(
            actor(peer), PeerRecordCommand(round_.number, "2026-12", True, frozenset({Flag.NEEDS_SUPPORT}))
        )
        services.peers.record(
            actor("ann@x.org"), PeerRecordCommand(round_.number, "2026-12", True, frozenset({Flag.CONFLICT}))
        )
        services.goals.submit(
            actor("ann@x.org"),
            GoalsCommand(
                "2026-Q4",
                (Goal("ann-shared-goal", True), Goal("ann-private-goal", False)),
                "ann-training",
                90,
                "ann-plan",
            ),
        )
        services.goals.submit(
            actor(peer),
            GoalsCommand("2026-Q4", (Goal("peer-goal-secret", False),), "peer-training", 70, "peer-plan"),
        )
        escalations = {
            "ann_checkout": escalation_id(f"checkout:2026-12:{group.id}:ann@x.org"),
            "cy_checkout": escalation_id(f"checkout:2026-12:{group.id}:cy@x.org"),
            "peer_about_ann": escalation_id(f"peer:2026-12:{round_.number}:{peer}:ann@x.org"),
            "ann_about_peer": escalation_id(f"peer:2026-12:{round_.number}:ann@x.org:{peer}"),
        }
        services.escalations.handle(
            actor("di@x.org"), EscalationCommand(escalations["cy_checkout"], EscalationAction.ACKNOWLEDGE)
        )
        Scheduler(services, invites).run_due(clock.now)
        assert set(store.collection_names()) >= {
            "people",
            "groups",
            "allocation",
            "pair_rounds",
            "roster_imports",
            "conversations",
            "teams_users",
            "introductions",
            "escalations",
            "meetings",
            "announcements",
        }
        assert set(store.log_names()) >= {
            "rsvps",
            "attendance",
            "checkouts",
            "peer_meetings",
            "goals",
            "outbox",
            "outbox_bodies",
            "outbox_changes",
            "job_runs",
        }
    return World(db, settings, group.id, peer, escalations)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path)


def test_every_table_has_an_owner_that_declares_its_personal_data(world: World) -> None:
    """Each table the programme writes is declared by the repository that owns it, so none falls to
    the sweep's catch-all rules by accident (and a new table without an owner fails here)."""
    with Store(world.db) as store:
        tables = set(store.collection_names()) | set(store.log_names())
        assert tables - personal_data(store).declared() == set()


Record = tuple[str, str | None, str]  # table, period (logs), key


def snapshot(db: Path) -> dict[Record, dict[str, Any]]:
    """Every record of every collection and log, through the store's API, as (table, period, key)."""
    with Store(db) as store:
        everything = records(store)
    return {(r[1], r[2] if r[0] == "log" else None, r[-1]): doc for r, doc in everything.items()}


def exported(document: dict[str, Any]) -> set[Record]:
    return {
        (table, item.get("period"), item["key"])
        for table, items in document["records"].items()
        for item in items
    }


# -- export ----------------------------------------------------------------------------------------


def test_export_holds_every_record_of_the_person_and_no_one_elses_confidential_data(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = data_files(world.db)
    out = tmp_path / "ann-export.json"
    code, stdout, err = run(
        capsys,
        "person",
        "export",
        "Ann@X.org",
        "--out",
        str(out),
        "--db",
        str(world.db),
        "--settings",
        str(world.settings),
    )
    assert code == 0, err
    assert "ann@x.org" in stdout and str(out) in stdout
    assert out.stat().st_mode & 0o777 == 0o600  # confidential: readable by its owner only
    assert data_files(world.db) == before  # exporting changes nothing
    document = json.loads(out.read_text())
    assert document["export"]["email"] == "ann@x.org"
    assert document["person"]["name"] == "Ann Able"
    records = document["records"]
    found = exported(document)

    # Every record keyed by her email, in every table, is in the export (bodies travel with messages).
    ann = re.compile(email_pattern("ann@x.org"), re.IGNORECASE)
    everything = snapshot(world.db)
    keyed = {r for r in everything if ann.search(r[2]) and r[0] != OUTBOX_BODIES}
    assert {r[0] for r in keyed} >= {
        "people",
        "conversations",
        "rsvps",
        "checkouts",
        "peer_meetings",
        "goals",
        OUTBOX,
    }
    assert keyed <= found
    # ...and so is every record that is about her under another key.
    assert ("teams_users", None, "29:ann-user") in found
    assert ("unreachable", None, "ann@x.org") in found
    assert ("groups", None, world.group) in found
    assert ("pair_rounds", None, "1") in found
    assert ("attendance", "2026-12", world.group) in found
    assert ("meetings", None, f"{world.group}:2026-12") in found
    assert len(records["announcements"]) == 1
    assert {item["key"] for item in records["escalations"]} == {
        world.escalations["ann_checkout"],
        world.escalations["ann_about_peer"],
    }
    # Every message addressed to her, with its content unless the content is about other people.
    to_her = {
        (OUTBOX, r[1], r[2])
        for r, doc in everything.items()
        if r[0] == OUTBOX and "ann@x.org" in doc["recipient"].split(",")
    }
    assert to_her and to_her <= found
    for item in records[OUTBOX]:
        content = item["data"]["content"]
        if item["data"]["kind"] in ("escalation", "attendance"):
            assert content == "withheld: it is about other people"
        else:
            assert isinstance(content, dict)

    # Her own answers are there in full, private goals included.
    text = out.read_text()
    for own in (
        "ann-note-secret",
        "ann-helpful-secret",
        "ann-unhelpful-secret",
        "ann-private-goal",
        "ann-plan",
    ):
        assert own in text
    assert records["attendance"][0]["data"]["you_were"] == "present"
    # Other people's answers and flags are not, even where they mention her.
    for secret in OTHERS_SECRETS:
        assert secret not in text
    assert world.escalations["peer_about_ann"] not in json.dumps(records.get("escalations"))
    assert world.escalations["cy_checkout"] not in json.dumps(records.get("escalations"))
    flagged = [item["data"]["flags"] for item in records["escalations"]]
    assert sorted(flagged) == [["conflict_with_colleague"], ["stressed"]]  # hers, not the ones about her
    for table in ("rsvps", "checkouts", "peer_meetings"):
        assert all(item["key"].endswith(":ann@x.org") for item in records[table])
    assert [item["key"] for item in records["goals"]] == ["ann@x.org"]
    group = records["groups"][0]["data"]
    assert group["member_count"] == 5 and "members" not in group  # not the other members' addresses
    # The coordinator hears what was left out, outside the document.
    assert "escalations 1" in err and "checkouts 1" in err


def test_export_to_stdout_and_unknown_email(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "person", "export", "bo@x.org", "--db", str(world.db), "--settings", str(world.settings)
    )
    assert code == 0
    document = json.loads(out)
    assert document["person"]["email"] == "bo@x.org"
    assert "bo-note-secret" in out and "ann-note-secret" not in out
    assert [item["data"]["you_were"] for item in document["records"]["attendance"]] == ["absent"]
    code, out, err = run(
        capsys, "person", "export", "nobody@x.org", "--db", str(world.db), "--settings", str(world.settings)
    )
    assert code == 1 and out == ""
    assert "nothing is held about nobody@x.org" in err


# -- erase -----------------------------------------------------------------------------------------


def raw_traces(db: Path, needles: tuple[str, ...]) -> dict[str, list[str]]:
    """Which needles a case-insensitive search of every raw data file finds, by file."""
    hits: dict[str, list[str]] = {}
    for name, raw in data_files(db).items():
        text = raw.decode("utf-8").lower()
        found = [needle for needle in needles if needle.lower() in text]
        if found:
            hits[name] = found
    return hits


def test_erase_without_yes_changes_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    before = data_files(world.db)
    code, out, err = run(
        capsys, "person", "erase", "ann@x.org", "--db", str(world.db), "--settings", str(world.settings)
    )
    assert code == 2
    assert "--yes" in err and "cannot be undone" in err and "Nothing was changed" in err
    assert data_files(world.db) == before


def test_erase_removes_every_trace_and_the_programme_still_runs(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--db", str(world.db), "--settings", str(world.settings))
    assert raw_traces(world.db, ANN_TRACES)  # the search does find her before
    before = snapshot(world.db)
    with Store(world.db) as store:
        announcement_ids = list(store.collection("announcements").all())
    report_args = ("report", "--until", "2026-12", "--months", "2", "--json", *common)
    code, out, _ = run(capsys, *report_args)
    assert code == 0
    report_before = json.loads(out)
    code, out, err = run(capsys, "person", "erase", "ann@x.org", "--yes", *common)
    assert code == 0, err
    assert out.startswith("Erased ann@x.org:")
    assert "ann able" not in (out + err).lower()  # the output names only the email typed
    assert "erased-" not in out + err  # and not the anonymous stand-in, which would link the two

    # No raw data file mentions her any more: email, name (any case), Teams and AAD ids.
    assert raw_traces(world.db, ANN_TRACES) == {}
    after = snapshot(world.db)

    # Everything that did not concern her is exactly as it was.
    ann = Identity("ann@x.org", "Ann Able", (ANN_AAD, "29:ann-user", "a:ann-chat"))
    for record, doc in before.items():
        body = before.get((OUTBOX_BODIES, record[1], str(doc.get("body")))) if record[0] == OUTBOX else None
        touched = (
            ann.mentions(record[2])
            or ann.mentions(doc)
            or ann.mentions(body)
            or any(a[-12:] in json.dumps([record, doc]) for a in announcement_ids)
        )
        if not touched and record[0] != OUTBOX_BODIES:
            assert after.get(record) == doc, record

    # Her answers are gone; anonymous counts stay under one placeholder.
    assert ("people", None, "ann@x.org") not in after
    assert not [
        r for r in after if r[0] in ("rsvps", "checkouts", "peer_meetings", "goals") and "ann" in r[2]
    ]
    (receipt_key,) = [r[2] for r in after if r[0] == "erasures"]
    assert receipt_key.startswith("erased-")
    # Escalations about her go; the one she raised about her peer stays open for the coordinators,
    # raised by the placeholder, under a new id (the old one hashed her email).
    escalations = {r[2]: doc for r, doc in after.items() if r[0] == "escalations"}
    kept = [doc for doc in escalations.values() if doc["about"] == world.peer and doc["source"] == "peer"]
    assert len(escalations) == 2 and world.escalations["cy_checkout"] in escalations
    assert [(d["raised_by"], d["status"], d["flags"]) for d in kept] == [
        (receipt_key, "open", [Flag.CONFLICT.value])
    ]
    assert kept[0]["id"] not in world.escalations.values() and kept[0]["id"] in escalations
    receipt = after[("erasures", None, receipt_key)]
    assert receipt["removed"]["escalations"] == 2 and receipt["removed"]["rsvps"] == 1
    register_before = before[("attendance", "2026-12", world.group)]
    register = after[("attendance", "2026-12", world.group)]
    assert len(register["present"]) == len(register_before["present"])
    assert receipt_key in register["present"]
    pairs = after[("pair_rounds", None, "1")]["pairs"]
    assert [len(p["peers"]) for p in pairs] == [
        len(p["peers"]) for p in before[("pair_rounds", None, "1")]["pairs"]
    ]
    assert [world.peer, receipt_key] in [
        sorted(p["peers"], key=lambda e: e.startswith("erased-")) for p in pairs
    ]
    cy = after[("checkouts", "2026-12", f"{world.group}:cy@x.org")]
    assert cy["helpful"] == f"cy-helpful-secret: {receipt_key} made me laugh" and cy["rating"] == 5
    assert after[("rsvps", "2026-12", f"{world.group}:bo@x.org")]["note"] == "bo-note-secret"
    meeting = after[("meetings", None, f"{world.group}:2026-12")]
    assert (
        "ann@x.org" not in meeting["invite"]["attendees"]
        and receipt_key not in meeting["invite"]["attendees"]
    )
    (announcement,) = [doc for r, doc in after.items() if r[0] == "announcements"]
    assert announcement["sender"] == receipt_key and announcement["recipients"] == 6
    # Every remaining message still has its body, and announcement counts still add up.
    for record, doc in after.items():
        if record[0] == OUTBOX:
            assert (OUTBOX_BODIES, record[1], doc["body"]) in after, record
            assert doc["recipient"] != "ann@x.org"

    # The programme loads and reports.
    code, out, _ = run(capsys, "groups", "show", "--json", *common)
    assert code == 0
    (group,) = json.loads(out)["groups"]
    assert group["facilitator"] == "fay@x.org"
    assert sorted(group["members"]) == ["bo@x.org", "cy@x.org", "di@x.org", "ed@x.org"]
    code, out, _ = run(capsys, "pairs", "show", "--json", *common)
    assert code == 0 and len(json.loads(out)["pairs"]) == 3
    assert run(capsys, "roster", "list", "--all", "--json", *common)[0] == 0
    code, out, _ = run(capsys, *report_args)
    assert code == 0
    report = json.loads(out)
    assert report["attendance"] == report_before["attendance"]  # the register's counts stay
    assert report["attendance"][0]["present"] == 4
    code, out, _ = run(capsys, "pairs", "rotate", "--today", "2027-06-01", "--json", *common)
    assert code == 0 and not any(
        p.startswith("erased-") for pair in json.loads(out)["pairs"] for p in pair["peers"]
    )
    assert run(capsys, "schedule", "--months", "2", "--json", *common)[0] == 0
    with Store(world.db) as store:
        services = Services.build(
            store,
            ProgrammeSettings(),
            lambda: datetime(2027, 1, 5, 9, 0, tzinfo=UTC),
            messages=CardMessages(),
        )
        (ident,) = store.collection("announcements").all()
        assert sum(Outbox(store).batch_counts(ident).values()) == 5  # her own copy went with her
        invites = Invites(services.sessions, services.outbox, MailSettings())
        Scheduler(services, invites).run_due(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
        assert services.outbox.due(datetime(2027, 1, 5, 9, 0, tzinfo=UTC), 1000)

    # Idempotent: a second erasure finds nothing and changes nothing; she is unknown now.
    files = data_files(world.db)
    code, out, _ = run(capsys, "person", "erase", "ann@x.org", "--yes", *common)
    assert code == 0 and "Nothing is held about ann@x.org" in out
    assert data_files(world.db) == files
    code, _, err = run(capsys, "person", "export", "ann@x.org", *common)
    assert code == 1 and "nothing is held" in err


def test_erasing_a_facilitator_leaves_the_group_running(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--db", str(world.db), "--settings", str(world.settings))
    code, out, err = run(capsys, "person", "erase", "fay@x.org", "--yes", "--json", *common)
    assert code == 0, err
    report = json.loads(out)
    assert report["erased"] and report["residue"] == [] and report["removed"]["people"] == 1
    assert "erased-" not in out  # the stand-in is never shown next to the email
    assert raw_traces(world.db, ("fay@x.org", "fay lead")) == {}
    code, out, _ = run(capsys, "groups", "show", "--json", *common)
    (group,) = json.loads(out)["groups"]
    assert code == 0 and group["facilitator"] is None  # rotating until the next allocation
    code, out, _ = run(capsys, "groups", "allocate", "--json", *common)
    assert code == 0 and len(json.loads(out)["groups"][0]["members"]) == 5


def test_an_interrupted_erasure_is_finished_by_running_it_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import store.database

    real = store.database.Collection.replace_all

    def crash_on_people(self: store.database.Collection, docs: Any) -> None:
        if self.name == "people":
            raise OSError("disk gone")
        real(self, docs)

    now = datetime(2027, 1, 1, tzinfo=UTC)
    with Store(world.db) as db:
        monkeypatch.setattr(store.database.Collection, "replace_all", crash_on_people)
        with pytest.raises(OSError):
            erase_person(db, "ann@x.org", now, apply=True)
        monkeypatch.setattr(store.database.Collection, "replace_all", real)
        assert db.collection("people").get("ann@x.org") is not None  # the name is still there to find
        report = erase_person(db, "ann@x.org", now, apply=True)
    assert report.applied and report.residue == ()
    assert raw_traces(world.db, ANN_TRACES) == {}
    after = snapshot(world.db)
    placeholders = {
        p for r, doc in after.items() for p in re.findall(r"erased-[0-9a-f]{12}", json.dumps(doc))
    }
    assert placeholders == {report.placeholder}  # the same stand-in before and after the crash


def test_erasure_waits_for_the_outbox_delivery_lease(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = data_files(world.db)
    with Store(world.db) as bot, Outbox(bot).delivery_lease() as delivering:
        assert delivering
        with Store(world.db) as cli, pytest.raises(DeliveryBusyError):
            erase_person(cli, "ann@x.org", datetime(2027, 1, 1, tzinfo=UTC), apply=True, lease_timeout=0.3)
    assert data_files(world.db) == before  # a message in flight cannot be recorded again after erasing


# -- retention -------------------------------------------------------------------------------------


def test_retention_purge_blanks_old_free_text_and_keeps_the_facts(world: World) -> None:
    settings = replace(ProgrammeSettings(), free_text_retention_days=365)
    before = snapshot(world.db)
    with Store(world.db) as store:
        assert (
            purge_free_text(
                store, replace(settings, free_text_retention_days=0), datetime(2030, 1, 1, tzinfo=UTC)
            )
            == 0
        )
        # Cutoff 5 December 2026: the RSVPs (1 December) are old, the check-outs and goals (10th) not yet.
        assert purge_free_text(store, settings, datetime(2027, 12, 5, tzinfo=UTC)) == 2
    after = snapshot(world.db)
    for email in ("ann@x.org", "bo@x.org"):
        key = ("rsvps", "2026-12", f"{world.group}:{email}")
        assert after[key] == {**before[key], "note": ""}
    assert after[("checkouts", "2026-12", f"{world.group}:ann@x.org")]["helpful"] == "ann-helpful-secret"
    assert after[("goals", "2026-Q4", "ann@x.org")]["training_needs"] == "ann-training"

    with Store(world.db) as store:
        assert purge_free_text(store, settings, datetime(2027, 12, 11, tzinfo=UTC)) == 4
        assert purge_free_text(store, settings, datetime(2027, 12, 11, tzinfo=UTC)) == 0  # nothing left to do
    after = snapshot(world.db)
    checkout = after[("checkouts", "2026-12", f"{world.group}:ann@x.org")]
    assert checkout == {
        **before[("checkouts", "2026-12", f"{world.group}:ann@x.org")],
        "helpful": "",
        "not_helpful": "",
    }
    assert checkout["rating"] == 4 and checkout["flags"] == ["stressed"]
    goals = after[("goals", "2026-Q4", "ann@x.org")]
    assert goals["goals"] == [{"text": "", "shared": True}, {"text": "", "shared": False}]
    assert goals["training_needs"] == "" and goals["capacity_plan"] == "" and goals["capacity_now"] == 90
    assert after[("rsvps", "2026-12", f"{world.group}:bo@x.org")]["reason"] == "sickness"
    # Facts with no free text are untouched: registers, peer records, escalations.
    for record, doc in before.items():
        if record[0] in ("attendance", "peer_meetings", "escalations", "people", "groups"):
            assert after[record] == doc
    raw = b"".join(data_files(world.db).values()).decode()
    for text in (
        "ann-note-secret",
        "bo-note-secret",
        "ann-helpful-secret",
        "cy-helpful-secret",
        "ann-private-goal",
        "peer-plan",
    ):
        assert text not in raw


# -- pure helpers ----------------------------------------------------------------------------------


def test_an_email_is_matched_whole_and_a_name_as_words() -> None:
    ann = Identity("ann@x.org", "Ann Able")
    assert ann.mentions("thu-coach-1:ann@x.org") and ann.mentions({"to": ["ANN@X.ORG"]})
    assert ann.mentions("goals_mail:2027-Q1:ann@x.org+bo@x.org") and ann.mentions("write to 'ann@x.org'.")
    assert not ann.mentions("joann@x.org") and not ann.mentions("ann@x.org.uk")
    assert ann.mentions("Thanks to ann  able!") and not ann.mentions("Joann Abler")
    redactor = Redactor(ann, "erased-1", {"4829fc67bded": "0123456789ab"})
    assert redactor.value(
        {"ann@x.org": ["Ann Able said hi to ann@x.org"], "batch": "ann-1-4829fc67bded"}
    ) == {
        "erased-1": ["erased-1 said hi to erased-1"],
        "batch": "ann-1-0123456789ab",
    }
    assert name_is_ambiguous("Ann Able", ["Bo Bright", "Ann Able-Smith"])
    assert not name_is_ambiguous("Ann Able", ["Joann Able", "Bo Bright"])


def test_retention_cutoff() -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    assert retention_cutoff(now, 0) is None
    assert retention_cutoff(now, 30) == datetime(2027, 5, 2, tzinfo=UTC)
    with pytest.raises(ValueError):
        retention_cutoff(datetime(2027, 6, 1), 30)


@pytest.fixture(autouse=True)
def _no_settings_from_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("REFLECT_SETTINGS", raising=False)
    monkeypatch.delenv("REFLECT_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    assert not os.path.exists(tmp_path / "data")  # nothing fell back to the default data file


def test_erase_removes_pending_mail_files_naming_the_person(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pickup = tmp_path / "pickup"
    settings = tmp_path / "with-pickup.toml"
    settings.write_text(f'[mail]\nbackend = "pickup"\npickup_dir = "{pickup}"\n')
    mailer = PickupMailer(pickup, clock=lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC))

    def mail(key: str, to: tuple[str, ...], body: str) -> MailMessage:
        return MailMessage(to, "Goal-setting", body, "reflect@x.org", key)

    invite = MeetingInvite(
        uid="reflect-g-2026-12@reflect.local",
        sequence=0,
        organizer="reflect@x.org",
        subject="Peer reflection",
        body_text="Facilitator: Fay Lead.",
        start=datetime(2026, 12, 10, 10, 0, tzinfo=UTC),
        end=datetime(2026, 12, 10, 11, 30, tzinfo=UTC),
        timezone="Europe/London",
        attendees=("fay@x.org", "ann@x.org", "bo@x.org"),
    )

    async def write() -> None:
        await mailer.send_mail(mail("to-ann", ("ann@x.org",), "Hello"))
        await mailer.send_mail(mail("to-pair", ("ann@x.org", "bo@x.org"), "Plan two hours"))
        # Quoted-printable on disk: her name is only found once the body is decoded.
        await mailer.send_mail(mail("about-ann", ("bo@x.org",), "Your peer Ann Able – café at 10"))
        await mailer.send_mail(mail("to-bo", ("bo@x.org",), "Nothing about anyone else – café"))
        await mailer.send_invite(invite, None)

    asyncio.run(write())
    files = sorted(pickup.glob("*.eml"))
    assert len(files) == 5
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}  # names and addresses: owner only
    common = ("--db", str(world.db), "--settings", str(settings))

    code, _, err = run(capsys, "person", "erase", "ann@x.org", *common)
    assert code == 2 and "would also remove 4 pending mail file(s)" in err
    assert sorted(pickup.glob("*.eml")) == files  # a dry run removes nothing

    code, out, err = run(capsys, "person", "erase", "ann@x.org", "--yes", *common)
    assert code == 0, err
    assert "Removed 4 pending mail file(s) naming them" in out and "3 were also addressed to others" in out
    (left,) = pickup.glob("*.eml")
    assert "-to-bo-" in left.name
