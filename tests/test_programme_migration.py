"""A v1 data file under programmes: it opens with nothing lost, and allocations under `[[programmes]]`
settings work on it.

The file is written here with the shapes v1 stores today (groups without a programme, the
allocation's metadata under "latest", pairing rounds without a programme), record by record, so
the test does not depend on the code that now writes the new shapes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cards.outbound import CardMessages
from programme.answers import RsvpAnswer
from programme.model import Group
from programme.programmes import ProgrammeDefinition, parse_programmes
from programme.settings import ProgrammeSettings
from repositories.answers import (
    ATTENDANCE,
    GOALS,
    PEER_MEETINGS,
    RSVPS,
    PeerRecordsRepository,
    RegistersRepository,
    RsvpsRepository,
    answers_log,
)
from repositories.gatherings import TopicJoinsRepository
from repositories.groups import GroupsRepository
from service.services import Services
from store import Store
from tests.store_snapshot import records
from tests.worlds import Row, roster_csv

FIRST_ALLOCATED = "2026-09-01T08:00:00+00:00"
LATER = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROWS = (
    Row("fay", facilitator=True),
    *(Row(k) for k in ("ann", "bo", "cy", "di")),
    *(Row(k, role="Admin") for k in ("ed", "flo", "gus")),
)
V1_GROUPS = {
    "thu-coach-1": {
        "id": "thu-coach-1",
        "name": "Coach, Thursday 1",
        "weekday": 3,
        "cohort": "Coach",
        "facilitator": "fay@x.org",
        "members": ["ann@x.org", "bo@x.org", "cy@x.org", "di@x.org"],
    },
    "thu-admin-1": {
        "id": "thu-admin-1",
        "name": "Admin, Thursday 1",
        "weekday": 3,
        "cohort": "Admin",
        "facilitator": None,
        "members": ["ed@x.org", "flo@x.org", "gus@x.org"],
    },
}
V1_ALLOCATION = {
    "first_allocated_at": FIRST_ALLOCATED,
    "unplaced": [{"email": "hal@x.org", "reason": "does not work Thursday or Tuesday"}],
    "facilitators_needed": {"3": 1},
}
V1_ROUND = {
    "round": 1,
    "started_on": "2026-09-01",
    "pairs": [
        {"peers": ["ann@x.org", "bo@x.org"], "receives_only": []},
        {"peers": ["cy@x.org", "di@x.org"], "receives_only": []},
        {"peers": ["ed@x.org", "flo@x.org", "gus@x.org"], "receives_only": []},
    ],
    "unpaired": [],
}
RENAMED = """
[[programmes]]
id = "reflection"
kind = "groups"

[[programmes]]
id = "peers"
kind = "pairs"
"""


def _write_v1_file(path: Path) -> None:
    """A data file as a v1 deployment leaves it: people, groups, a round, answers of every kind."""
    with Store(path) as store:
        v1 = Services.build(store, ProgrammeSettings(), lambda: LATER, messages=CardMessages())
        v1.programme.import_roster(roster_csv(ROWS), "roster.csv", datetime(2026, 9, 1, tzinfo=UTC))
        store.collection("groups", shards=1).replace_all(V1_GROUPS)
        store.collection("allocation").put("latest", V1_ALLOCATION)
        store.collection("pair_rounds", shards=4).put("1", V1_ROUND)
        # Answers as v1 wrote them (documents beneath the repositories, which read them back typed).
        answers_log(store, RSVPS).put(
            "2026-11", "thu-coach-1:ann@x.org", {"answer": "attending", "reason": None}
        )
        answers_log(store, ATTENDANCE).put("2026-11", "thu-coach-1", {"present": ["ann@x.org"], "absent": []})
        answers_log(store, PEER_MEETINGS).put(
            "2026-11", "1:bo@x.org", {"met": True, "flags": [], "at": FIRST_ALLOCATED}
        )
        answers_log(store, GOALS).put("2026-Q4", "cy@x.org", {"goals": [], "at": FIRST_ALLOCATED})


@pytest.fixture
def v1_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "reflect.json"
    _write_v1_file(path)
    yield path


def _open(path: Path, programmes: tuple[ProgrammeDefinition, ...] = ()) -> tuple[Store, Services]:
    store = Store(path)
    settings = programmes[0].settings if programmes else ProgrammeSettings()
    return store, Services.build(
        store, settings, lambda: LATER, messages=CardMessages(), programmes=programmes
    )


def _snapshot(path: Path) -> dict[Any, Any]:
    with Store(path) as store:
        return records(store)


def test_a_v1_file_opens_with_nothing_lost(v1_file: Path) -> None:
    before = _snapshot(v1_file)
    store, services = _open(v1_file)
    with store:
        programme = services.programme
        assert {g.id: g.programme for g in programme.groups()} == {
            "thu-admin-1": "main",
            "thu-coach-1": "main",
        }
        coach = programme.group("thu-coach-1")
        assert coach == Group(
            "thu-coach-1",
            "Coach, Thursday 1",
            3,
            "Coach",
            "fay@x.org",
            tuple(V1_GROUPS["thu-coach-1"]["members"]),
        )
        allocation = programme.current_allocation()
        assert [(u.email, u.reason) for u in allocation.unplaced] == [
            ("hal@x.org", "does not work Thursday or Tuesday")
        ]
        assert allocation.facilitators_needed == {3: 1}
        assert programme.groups_repo.allocation("main") == allocation
        assert (
            programme.started_at() == programme.started_at("main") == datetime.fromisoformat(FIRST_ALLOCATED)
        )
        (round_,) = programme.pair_rounds()
        assert round_.programme == "main" and round_.number == 1 and len(round_.pairs) == 3
        assert programme.pair_rounds("main") == [round_]
        assert services.peers.pair_of("bo@x.org") == (round_, round_.pairs[0])
        rsvp = RsvpsRepository(store).get("2026-11", "thu-coach-1", "ann@x.org")
        assert rsvp is not None and rsvp.answer is RsvpAnswer.ATTENDING and rsvp.reason is None
        assert PeerRecordsRepository(store).get("2026-11", 1, "bo@x.org") is not None
    assert _snapshot(v1_file) == before  # reading rewrote nothing


def test_a_v1_file_keeps_its_groups_and_pairs_history_when_main_stays_a_programme(v1_file: Path) -> None:
    programmes = parse_programmes(
        {
            "programmes": [
                {"id": "main", "kind": ["groups", "pairs"]},
                {"id": "gatherings", "formation": "topic", "membership": "opt-in", "topics": ["Loss"]},
            ]
        }
    )
    store, services = _open(v1_file, programmes)
    with store:
        joins = TopicJoinsRepository(store)
        for who in ("ann", "ed", "gus"):
            joins.join("gatherings", f"{who}@x.org", "Loss", LATER)
        each = services.programme.allocate_each(LATER)
        main = {g.id: g for g in each["main"].groups}
        assert set(main) == set(V1_GROUPS)  # stable: the same groups, the same ids
        assert {g: list(main[g].members) for g in main} == {g: d["members"] for g, d in V1_GROUPS.items()}
        (gathering,) = each["gatherings"].groups
        assert gathering.id == "gatherings-thu-loss-1"
        assert gathering.members == ("ann@x.org", "ed@x.org", "gus@x.org")
        assert services.programme.started_at("main") == datetime.fromisoformat(FIRST_ALLOCATED)
        assert services.programme.started_at("gatherings") == LATER
        # The next round of main never repeats a v1 pair and is numbered after it.
        round_ = services.programme.rotate_pairs(LATER.date(), "main")
        assert round_.number == 2 and round_.programme == "main"
        v1_pairs = {frozenset(p["peers"]) for p in V1_ROUND["pairs"]}
        assert not v1_pairs & {frozenset(p.peers) for p in round_.pairs}


def test_a_v1_file_under_renamed_programmes_retires_the_old_groups_and_keeps_their_records(
    v1_file: Path,
) -> None:
    store, services = _open(v1_file, parse_programmes(tomllib.loads(RENAMED)))
    with store:
        programme = services.programme
        # Until the first allocation under the new settings, the v1 groups stay as they are.
        assert {g.programme for g in programme.groups()} == {"main"}
        each = programme.allocate_each(LATER)
        assert list(each) == ["reflection"]
        assert {g.programme for g in programme.groups()} == {"reflection"}
        assert all(g.id.startswith("reflection-") for g in programme.groups())
        retired = GroupsRepository(store).retired()
        assert set(V1_GROUPS) <= set(retired) and retired["thu-coach-1"].programme == "main"
        # The programme clock's start is still the first allocation of v1.
        assert programme.started_at() == datetime.fromisoformat(FIRST_ALLOCATED)
        # The answers of the old groups are all there for reports.
        register = RegistersRepository(store).get("2026-11", "thu-coach-1")
        assert register is not None and register.present == {"ann@x.org"} and not register.absent
        # Pairs: "peers" is a new programme with its own history, numbered after v1's round.
        round_ = programme.rotate_pairs(date(2026, 12, 1))
        assert (round_.programme, round_.number) == ("peers", 2)
        assert [r.programme for r in programme.pair_rounds()] == ["main", "peers"]
        assert [r.programme for r in services.peers.current_rounds()] == ["peers"]
