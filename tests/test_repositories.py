"""Repositories at organisation scale: in-memory indexes that follow other processes, writes that
cost one shard, collections moved out of the main file with nothing lost, and who a Teams user is."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from programme.answers import AbsenceReason, EscalationStatus, Flag, Goal, RsvpAnswer
from programme.identity import ConversationReference, TeamsUser
from programme.model import Person
from programme.records import (
    Announcement,
    AttendanceRegister,
    Checkout,
    Escalation,
    Introduction,
    JobRun,
    Meeting,
    MeetingStatus,
    PeerMeeting,
    QuarterGoals,
    Rsvp,
    SessionInvite,
)
from repositories.announcements import ANNOUNCEMENTS, AnnouncementsRepository
from repositories.answers import (
    ATTENDANCE,
    CHECKOUTS,
    GOALS,
    PEER_MEETINGS,
    RSVPS,
    CheckoutsRepository,
    GoalsRepository,
    PeerRecordsRepository,
    RegistersRepository,
    RsvpsRepository,
    answers_log,
)
from repositories.escalations import (
    ESCALATIONS,
    INTRODUCTIONS,
    EscalationsRepository,
    IntroductionsRepository,
)
from repositories.jobs import JOB_RUNS, JobRunsRepository
from repositories.links import TeamsLinksRepository
from repositories.meetings import MEETING_SHARDS, MEETINGS, MeetingsRepository
from repositories.people import PEOPLE, PeopleRepository, person_to_doc
from service.identity import Directory
from store import Store

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def person(i: int, **changes: object) -> Person:
    base = Person(
        email=f"p{i}@x.org",
        name=f"Person {i}",
        role="Health Coach",
        aad_object_id=f"00000000-0000-4000-8000-{i:012d}",
        start_date=date(2024, 1, 1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _in_child(db: Path, code: str) -> None:
    """Run `code` (with `store` open on db) in another process, as `reflect roster import` would."""
    script = f"from store import Store\nwith Store({str(db)!r}) as store:\n" + "".join(
        f"    {line}\n" for line in code.splitlines()
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, env=env)


def test_the_people_index_follows_another_process_without_rereading_everyone(tmp_path: Path) -> None:
    db = tmp_path / "reflect.json"
    with Store(db) as store:
        people = PeopleRepository(store)
        people.put_many(person(i) for i in range(300))
        assert people.get("p7@x.org") == person(7)
        snapshot = people.all()
        _in_child(
            db,
            "from repositories.people import PeopleRepository\n"
            "from tests.test_repositories import person\n"
            "PeopleRepository(store).put_many([person(7, name='Renamed'), person(999)])",
        )
        assert people.get("p7@x.org") == person(7, name="Renamed")
        assert people.get("p999@x.org") == person(999)
        assert people.active_by_aad_object_id(person(999).aad_object_id or "") == person(999)
        assert len(people.all()) == 301
        # A mapping handed out before is never changed under its reader.
        assert snapshot["p7@x.org"].name == "Person 7" and len(snapshot) == 300


def _file_states(db: Path) -> dict[str, tuple[int, int]]:
    files = [db, *Path(f"{db}.d").rglob("*.json")]
    return {str(f): (f.stat().st_ino, f.stat().st_mtime_ns) for f in files}


def test_a_write_about_one_person_rewrites_one_shard_and_not_the_main_file(tmp_path: Path) -> None:
    db = tmp_path / "reflect.json"
    with Store(db) as store:
        people = PeopleRepository(store)
        people.put_many(person(i) for i in range(2000))
        before = _file_states(db)
        people.put_many([person(5, role="Team Leader")])
        after = _file_states(db)
    changed = [name for name in after if before.get(name) != after[name]]
    assert len(changed) == 1 and f"{PEOPLE}/" in changed[0], changed
    assert str(db) not in changed


def test_a_v1_collection_moves_to_its_own_files_once_with_nothing_lost(tmp_path: Path) -> None:
    db = tmp_path / "reflect.json"
    legacy = {p.email: person_to_doc(p) for p in (person(i) for i in range(50))}
    with Store(db) as store:
        store.collection(PEOPLE).put_many(legacy)  # the v1 layout: a table in the main file
        assert PEOPLE in store.collection_names()
    with Store(db) as store:
        people = PeopleRepository(store)
        assert {email: person_to_doc(p) for email, p in people.all().items()} == legacy
        assert store.collection(PEOPLE).shards > 0
    raw = db.read_bytes().decode()
    assert "p1@x.org" not in raw  # gone from the main file
    with Store(db) as store:
        assert len(PeopleRepository(store).all()) == 50
        assert PEOPLE in store.collection_names()
        assert PEOPLE not in store.log_names()


def test_reading_a_collection_that_was_never_written_creates_no_file(tmp_path: Path) -> None:
    db = tmp_path / "reflect.json"
    with Store(db) as store:
        store.collection("links", shards=8)
        before = sorted(str(p) for p in tmp_path.rglob("*"))
        assert store.collection("links").generation() == 0
        assert store.collection("links").all() == {}
        assert sorted(str(p) for p in tmp_path.rglob("*")) == before


# -- who a Teams user is (issue 9, item 1) ------------------------------------------------------------


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    store = Store(tmp_path / "reflect.json")
    people = PeopleRepository(store)
    people.put_many(
        [
            person(1, coordinator=True),  # has an aad id on the roster
            person(2, aad_object_id=None),  # no aad id: email/UPN may recognise them once
            person(3, left_on=date(2026, 1, 1)),
        ]
    )
    return Directory(TeamsLinksRepository(store), people, tenant_id="org-tenant")


def _user(
    aad: str | None, email: str | None = None, user_id: str = "29:x", tenant: str = "org-tenant"
) -> TeamsUser:
    return TeamsUser(user_id, aad, "Someone", tenant, email)


def test_the_aad_id_decides_and_an_email_cannot_borrow_a_roster_identity(
    directory: Directory, caplog: pytest.LogCaptureFixture
) -> None:
    assert directory.recognise(_user(person(1).aad_object_id)).person == person(1, coordinator=True)
    # Eve's Teams account says it is the coordinator's email: the roster holds another aad id.
    eve = "dddddddd-0000-4000-8000-000000000777"
    with caplog.at_level(logging.INFO):
        assert directory.recognise(_user(eve, email="p1@x.org", user_id="29:eve")).person is None
    assert "p1@x.org" not in caplog.text and eve not in caplog.text
    assert directory.recognise(_user(person(3).aad_object_id)).person is None  # a leaver


def test_an_email_recognises_a_row_without_aad_id_and_links_it_once(directory: Directory) -> None:
    first = "aaaaaaaa-0000-4000-8000-000000000002"
    found = directory.recognise(_user(first))
    assert found.person is None and found.look_up  # worth asking Teams for the email
    assert directory.recognise(_user(first, email="P2@x.org")).person == person(2, aad_object_id=None)
    # Later turns need no lookup, and another Entra ID user can no longer claim the row.
    assert directory.recognise(_user(first)).person == person(2, aad_object_id=None)
    other = "bbbbbbbb-0000-4000-8000-000000000002"
    assert directory.recognise(_user(other, email="p2@x.org", user_id="29:other")).person is None


def test_another_tenant_is_never_recognised(directory: Directory) -> None:
    assert directory.recognise(_user(person(1).aad_object_id, tenant="evil-tenant")).person is None


def test_a_conversation_reference_is_only_replaced_by_the_same_teams_user(directory: Directory) -> None:
    coordinator = person(1, coordinator=True)
    own = ConversationReference("org-tenant", "https://smba.example/", "a:own", "28:bot", "29:ann")
    directory.link(_user(coordinator.aad_object_id, user_id="29:ann"), coordinator, own)
    forged = ConversationReference("org-tenant", "http://127.0.0.1:9/", "a:eve", "28:bot", "29:eve")
    directory.link(_user(coordinator.aad_object_id, user_id="29:eve"), coordinator, forged)
    assert directory.reference_for(coordinator.email) == own.to_doc()
    moved = replace(own, conversation_id="a:own-2")
    directory.link(_user(coordinator.aad_object_id, user_id="29:ann"), coordinator, moved)
    assert directory.reference_for(coordinator.email) == moved.to_doc()


def test_unreachable_people_are_marked_in_one_batch_and_cleared_by_a_chat(directory: Directory) -> None:
    directory.mark_unreachable_many([f"p{i}@x.org" for i in range(1, 3)], NOW)
    assert set(directory.unreachable()) == {"p1@x.org", "p2@x.org"}
    coordinator = person(1, coordinator=True)
    reference = ConversationReference("org-tenant", "https://smba.example/", "a:own", "28:bot", "29:ann")
    directory.link(_user(coordinator.aad_object_id, user_id="29:ann"), coordinator, reference)
    assert set(directory.unreachable()) == {"p2@x.org"}


def test_a_refresh_never_deadlocks_with_a_reader_inside_a_transaction(tmp_path: Path) -> None:
    import threading

    db = tmp_path / "reflect.json"
    with Store(db) as store:
        people = PeopleRepository(store)
        people.put_many([person(1)])
        assert people.get("p1@x.org") is not None
        _in_child(
            db,
            "from repositories.people import PeopleRepository\n"
            "from tests.test_repositories import person\n"
            "PeopleRepository(store).put_many([person(2)])",
        )
        results: list[object] = []
        with store.transaction():
            # Another thread starts refreshing the changed collection while we hold the store...
            other = threading.Thread(target=lambda: results.append(people.get("p2@x.org")))
            other.start()
            other.join(0.2)
            # ...and we read it too, inside our transaction: this must not wait for that thread.
            assert people.get("p2@x.org") == person(2)
        other.join(10)
        assert not other.is_alive() and results == [person(2)]


def test_a_turn_that_changes_nothing_writes_nothing(directory: Directory, tmp_path: Path) -> None:
    coordinator = person(1, coordinator=True)
    reference = ConversationReference("org-tenant", "https://smba.example/", "a:own", "28:bot", "29:ann")
    user = _user(coordinator.aad_object_id, user_id="29:ann")
    directory.link(user, coordinator, reference)  # first contact: the reference is stored
    before = _file_states(tmp_path / "reflect.json")
    for _ in range(3):
        assert directory.recognise(user).person == coordinator
        directory.link(user, coordinator, reference)
    assert _file_states(tmp_path / "reflect.json") == before
    # Found by the aad id on every turn: no Teams-user link is kept for a roster row that has one.
    assert directory.known_email("29:ann") is None


def test_external_facilitators_are_replaced_whole_and_found_by_guest_id(tmp_path: Path) -> None:
    from programme.facilitators import ExternalFacilitator
    from repositories.facilitators import ExternalFacilitatorsRepository

    guest = "0b1c2d3e-0000-4000-8000-00000000abcd"
    with Store(tmp_path / "reflect.json") as store:
        repo = ExternalFacilitatorsRepository(store)
        repo.replace_all(
            [
                ExternalFacilitator("eve@consult.example", "Eve Outside", "Consult Ltd", guest.upper()),
                ExternalFacilitator("max@consult.example", "Max Outside"),
            ]
        )
        assert sorted(repo.all()) == ["eve@consult.example", "max@consult.example"]
        found = repo.by_aad_object_id(guest)
        assert found is not None and found.organisation == "Consult Ltd"
        repo.replace_all([ExternalFacilitator("max@consult.example", "Max Outside", timezone="Europe/Paris")])
    with Store(tmp_path / "reflect.json") as store:  # read back by a new process
        again = ExternalFacilitatorsRepository(store)
        assert list(again.all()) == ["max@consult.example"]
        assert again.by_aad_object_id(guest) is None
        max_ = again.get("max@consult.example")
        assert max_ is not None and max_.timezone == "Europe/Paris"


def test_a_person_joins_one_gathering_per_programme_and_can_leave(tmp_path: Path) -> None:
    from repositories.gatherings import TopicJoinsRepository

    now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with Store(tmp_path / "reflect.json") as store:
        joins = TopicJoinsRepository(store)
        joins.join("co-reflection", "ann@x.org", "Bereavement", now)
        joins.join("co-reflection", "bo@x.org", "Bereavement", now)
        joins.join("other", "ann@x.org", "Change", now)
        joins.join("co-reflection", "ann@x.org", "Night shifts", now)  # switches topic
        assert joins.joined("co-reflection") == {"Bereavement": {"bo@x.org"}, "Night shifts": {"ann@x.org"}}
        assert joins.topic_of("other", "ann@x.org") == "Change"
        assert joins.leave("co-reflection", "bo@x.org") is True
        assert joins.leave("co-reflection", "bo@x.org") is False
    with Store(tmp_path / "reflect.json") as store:
        assert TopicJoinsRepository(store).joined("co-reflection") == {"Night shifts": {"ann@x.org"}}


# -- document mapping: v1 documents read into records, records written as today's documents ------------
#
# The documents below are exactly what the service wrote before the repositories took records (field
# order included: the store keeps it, so a rewritten file is byte-for-byte what it was).


def _stored(doc: object) -> str:
    """A document as the data file holds it (key order included)."""
    return json.dumps(doc)


RSVP_V1 = {
    "answer": "not_attending",
    "reason": "sickness",
    "note": "knee",
    "answered_at": "2026-12-01T09:00:00+00:00",
}
REGISTER_V1 = {
    "present": ["a@x.org", "b@x.org"],
    "absent": ["c@x.org"],
    "recorded_by": "f@x.org",
    "recorded_at": "2026-12-10T11:40:00+00:00",
}
CHECKOUT_V1 = {
    "helpful": "the case",
    "not_helpful": "",
    "rating": 4,
    "flags": ["overworked", "stressed"],
    "at": "2026-12-10T12:00:00+00:00",
}
PEER_V1 = {"met": True, "flags": ["needs_support"], "at": "2026-12-20T09:30:00.123456+00:00"}
GOALS_V1 = {
    "goals": [{"text": "Finish the course", "shared": True}, {"text": "", "shared": False}],
    "training_needs": "MI",
    "capacity_now": 90,
    "capacity_plan": "one clinic less",
    "round": 2,
    "at": "2026-11-02T09:00:00+00:00",
}
ESCALATION_V1 = {
    "id": "esc-1",
    "raised_by": "a@x.org",
    "about": "b@x.org",
    "source": "peer",
    "flags": ["conflict_with_colleague", "stressed"],
    "created_at": "2026-12-01T09:00:00+00:00",
    "status": "acknowledged",
    "handled_by": "c@x.org",
}
INVITE_V1 = {
    "uid": "reflect-g1-2026-12@reflect.local",
    "organizer": "reflection@example.org",
    "subject": "Peer reflection: Group 1",
    "body_text": "Monthly peer reflection",
    "start": "2026-12-10T10:00:00+00:00",
    "end": "2026-12-10T11:30:00+00:00",
    "timezone": "Europe/London",
    "attendees": ["f@x.org", "a@x.org"],
    "location": "Microsoft Teams meeting",
    "online": True,
    "sequence": 1,
}
MEETING_V1 = {
    "uid": INVITE_V1["uid"],
    "sequence": 1,
    "fingerprint": "abc123",
    "status": "active",
    "invite": INVITE_V1,
    "item_id": "AAMk1",
    "join_url": "https://teams.example/l/1",
}


def test_v1_answer_documents_read_into_records_and_records_write_them_back_unchanged(tmp_path: Path) -> None:
    with Store(tmp_path / "reflect.json") as store:
        # As today's code stored them, written beneath the repositories.
        answers_log(store, RSVPS).put("2026-12", "g1:b@x.org", RSVP_V1)
        answers_log(store, ATTENDANCE).put("2026-12", "g1", REGISTER_V1)
        answers_log(store, CHECKOUTS).put("2026-12", "g1:a@x.org", CHECKOUT_V1)
        answers_log(store, PEER_MEETINGS).put("2026-12", "2:a@x.org", PEER_V1)
        answers_log(store, GOALS).put("2026-Q4", "a@x.org", GOALS_V1)

        rsvp = RsvpsRepository(store).get("2026-12", "g1", "b@x.org")
        assert rsvp == Rsvp(RsvpAnswer.NOT_ATTENDING, AbsenceReason.SICKNESS, "knee", NOW)
        register = RegistersRepository(store).get("2026-12", "g1")
        assert register == AttendanceRegister(
            frozenset({"a@x.org", "b@x.org"}),
            frozenset({"c@x.org"}),
            "f@x.org",
            datetime(2026, 12, 10, 11, 40, tzinfo=UTC),
        )
        checkout = CheckoutsRepository(store).get("2026-12", "g1", "a@x.org")
        assert checkout == Checkout(
            "the case",
            "",
            4,
            frozenset({Flag.OVERWORKED, Flag.STRESSED}),
            datetime(2026, 12, 10, 12, tzinfo=UTC),
        )
        peer = PeerRecordsRepository(store).get("2026-12", 2, "a@x.org")
        assert peer == PeerMeeting(
            True, frozenset({Flag.NEEDS_SUPPORT}), datetime(2026, 12, 20, 9, 30, 0, 123456, tzinfo=UTC)
        )
        goals = GoalsRepository(store).get("2026-Q4", "a@x.org")
        # A goal whose text was purged keeps its place (reports count it).
        assert goals == QuarterGoals(
            (Goal("Finish the course", True), Goal("", False)),
            "MI",
            90,
            "one clinic less",
            2,
            datetime(2026, 11, 2, 9, tzinfo=UTC),
        )
        assert rsvp and register and checkout and peer and goals

        # Written back through the repositories: the very same documents.
        RsvpsRepository(store).put("2027-01", "g1", "b@x.org", rsvp)
        RegistersRepository(store).put("2027-01", "g1", register)
        CheckoutsRepository(store).put("2027-01", "g1", "a@x.org", checkout)
        PeerRecordsRepository(store).put("2027-01", 2, "a@x.org", peer)
        GoalsRepository(store).put("2027-Q1", "a@x.org", goals)
        assert _stored(answers_log(store, RSVPS).get("2027-01", "g1:b@x.org")) == _stored(RSVP_V1)
        assert _stored(answers_log(store, ATTENDANCE).get("2027-01", "g1")) == _stored(REGISTER_V1)
        assert _stored(answers_log(store, CHECKOUTS).get("2027-01", "g1:a@x.org")) == _stored(CHECKOUT_V1)
        assert _stored(answers_log(store, PEER_MEETINGS).get("2027-01", "2:a@x.org")) == _stored(PEER_V1)
        assert _stored(answers_log(store, GOALS).get("2027-Q1", "a@x.org")) == _stored(GOALS_V1)


def test_older_answer_documents_missing_newer_fields_read_with_todays_defaults(tmp_path: Path) -> None:
    with Store(tmp_path / "reflect.json") as store:
        answers_log(store, RSVPS).put("2026-12", "g1:a@x.org", {"answer": "attending", "reason": None})
        # Goals saved before their pairing round was kept, with a timestamp written without an offset.
        old_goals = {
            "goals": [{"text": "Read more", "shared": True}],
            "capacity_now": 80,
            "at": "2026-11-02T09:00:00",
        }
        answers_log(store, GOALS).put("2026-Q4", "a@x.org", old_goals)
        answers_log(store, PEER_MEETINGS).put("2026-12", "1:a@x.org", {"met": False})

        assert RsvpsRepository(store).get("2026-12", "g1", "a@x.org") == Rsvp(
            RsvpAnswer.ATTENDING, None, "", None
        )
        goals = GoalsRepository(store).get("2026-Q4", "a@x.org")
        assert goals == QuarterGoals(
            (Goal("Read more", True),), "", 80, "", None, datetime(2026, 11, 2, 9, tzinfo=UTC)
        )
        assert PeerRecordsRepository(store).get("2026-12", 1, "a@x.org") == PeerMeeting(
            False, frozenset(), None
        )
        # A record without a round is written without one, as it was.
        assert goals is not None
        GoalsRepository(store).put("2026-Q4", "b@x.org", replace(goals, at=NOW))
        written = answers_log(store, GOALS).get("2026-Q4", "b@x.org")
        assert written is not None and "round" not in written
        assert list(written) == ["goals", "training_needs", "capacity_now", "capacity_plan", "at"]


def test_escalations_introductions_announcements_and_job_runs_map_to_todays_documents(tmp_path: Path) -> None:
    with Store(tmp_path / "reflect.json") as store:
        store.collection(ESCALATIONS, shards=4).put("esc-1", ESCALATION_V1)
        older = {**ESCALATION_V1, "id": "esc-0", "created_at": "2026-11-01T09:00:00", "status": "open"}
        store.collection(ESCALATIONS, shards=4).put("esc-0", {**older, "handled_by": None})
        escalations = EscalationsRepository(store)
        escalation = escalations.get("esc-1")
        assert escalation == Escalation(
            "esc-1",
            "a@x.org",
            "b@x.org",
            "peer",
            frozenset({Flag.CONFLICT, Flag.STRESSED}),
            NOW,
            EscalationStatus.ACKNOWLEDGED,
            "c@x.org",
        )
        assert [e.id for e in escalations.all()] == ["esc-0", "esc-1"]  # oldest first; no offset: UTC
        assert escalation is not None
        escalations.put(replace(escalation, id="esc-2"))
        assert _stored(store.collection(ESCALATIONS).get("esc-2")) == _stored(
            {**ESCALATION_V1, "id": "esc-2"}
        )

        intro_v1 = {"facilitator": "f@x.org", "message": "Welcome", "sends": 2}
        store.collection(INTRODUCTIONS, shards=16).put("g1:2026-12", intro_v1)
        introduction = IntroductionsRepository(store).get("g1", "2026-12")
        assert introduction == Introduction("f@x.org", "Welcome", 2)
        IntroductionsRepository(store).put("g2", "2026-12", introduction)
        assert _stored(store.collection(INTRODUCTIONS).get("g2:2026-12")) == _stored(intro_v1)

        announcement_v1 = {
            "title": "Hello",
            "audience": "everyone",
            "sender": "c@x.org",
            "sent_at": "2026-12-01T09:00:00+00:00",
            "recipients": 12,
            "period": "2026-12",
            "digest": "0123456789ab",
        }
        store.collection(ANNOUNCEMENTS, shards=1).put("ann-1", announcement_v1)
        announcements = AnnouncementsRepository(store)
        announcement = announcements.get("ann-1")
        assert announcement == Announcement(
            "Hello", "everyone", "c@x.org", NOW, 12, "2026-12", "0123456789ab"
        )
        assert announcement is not None
        announcements.put("ann-2", announcement)
        assert _stored(store.collection(ANNOUNCEMENTS).get("ann-2")) == _stored(announcement_v1)

        runs = JobRunsRepository(store)
        assert runs.record_new({("2026-12", "invites:2026-12"): JobRun(NOW, 3, "sent")}) == [
            ("2026-12", "invites:2026-12")
        ]
        assert runs.record_new({("2026-12", "invites:2026-12"): JobRun(NOW, 9, "again")}) == []
        assert _stored(store.log(JOB_RUNS).get("2026-12", "invites:2026-12")) == _stored(
            {"ran_at": "2026-12-01T09:00:00+00:00", "queued": 3, "note": "sent"}
        )


def test_meetings_read_v1_documents_and_each_writer_merges_only_its_own_fields(tmp_path: Path) -> None:
    with Store(tmp_path / "reflect.json") as store:
        collection = store.collection(MEETINGS, shards=MEETING_SHARDS)
        collection.put("g1:2026-12", MEETING_V1)
        # A chat linked before any invite went out; an invite from before location/online were kept.
        collection.put("g2:2026-12", {"chat_id": "19:meeting_2"})
        old_invite = {k: v for k, v in INVITE_V1.items() if k not in ("location", "online")}
        collection.put("g3:2026-12", {**MEETING_V1, "invite": old_invite, "fingerprint": ""})
        meetings = MeetingsRepository(store)

        meeting = meetings.get("g1", "2026-12")
        invite = SessionInvite(
            uid="reflect-g1-2026-12@reflect.local",
            organizer="reflection@example.org",
            subject="Peer reflection: Group 1",
            body_text="Monthly peer reflection",
            start=datetime(2026, 12, 10, 10, tzinfo=UTC),
            end=datetime(2026, 12, 10, 11, 30, tzinfo=UTC),
            timezone="Europe/London",
            attendees=("f@x.org", "a@x.org"),
            location="Microsoft Teams meeting",
            online=True,
            sequence=1,
        )
        assert meeting == Meeting(
            invite, "abc123", MeetingStatus.ACTIVE, "AAMk1", "https://teams.example/l/1"
        )
        assert meetings.get("g2", "2026-12") == Meeting(
            None, "", MeetingStatus.ACTIVE, chat_id="19:meeting_2"
        )
        old = meetings.get("g3", "2026-12")
        assert (
            old is not None
            and old.invite is not None
            and (old.invite.location, old.invite.online) == ("", True)
        )
        assert meetings.by_chat("19:meeting_2") == ("g2", "2026-12")
        assert set(meetings.of_month_sessions("2026-12")) == {
            ("g1", "2026-12"),
            ("g2", "2026-12"),
            ("g3", "2026-12"),
        }

        # A new version (the invite sync) keeps the delivery's and the chat's fields where they were.
        meetings.link_chat("g1", "2026-12", "19:meeting_1")
        assert meeting is not None and meeting.invite is not None
        cancelled = replace(meeting.invite, sequence=2, attendees=("a@x.org",))
        meetings.save_versions(
            {("g1", "2026-12"): replace(meeting, invite=cancelled, status=MeetingStatus.CANCELLED)}
        )
        assert _stored(collection.get("g1:2026-12")) == _stored(
            {
                **MEETING_V1,
                "sequence": 2,
                "status": "cancelled",
                "invite": {**INVITE_V1, "attendees": ["a@x.org"], "sequence": 2},
                "chat_id": "19:meeting_1",
            }
        )
        # The first invite of a meeting whose chat was linked first: the chat stays first, as before.
        first = Meeting(replace(invite, uid="u2", sequence=0), "f2", MeetingStatus.ACTIVE)
        meetings.save_versions({("g2", "2026-12"): first})
        meetings.record_delivery("g2", "2026-12", "AAMk2", None)
        assert _stored(collection.get("g2:2026-12")) == _stored(
            {
                "chat_id": "19:meeting_2",
                "uid": "u2",
                "sequence": 0,
                "fingerprint": "f2",
                "status": "active",
                "invite": {**INVITE_V1, "uid": "u2", "sequence": 0},
                "item_id": "AAMk2",
                "join_url": None,
            }
        )
