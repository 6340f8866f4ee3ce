"""Repositories at organisation scale: in-memory indexes that follow other processes, writes that
cost one shard, collections moved out of the main file with nothing lost, and who a Teams user is."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from programme.identity import ConversationReference, TeamsUser
from programme.model import Person
from repositories.links import TeamsLinksRepository
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
