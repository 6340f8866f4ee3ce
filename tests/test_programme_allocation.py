"""Groups and pairs per programme: allocation, pairing rounds, the CLI, and the clock by programme kind.

Several programmes share one roster and one data file: each is allocated (or paired) among its own
members, its groups get ids no other programme's group ever had, and storing one programme's
allocation leaves every other programme's groups and metadata exactly as they were.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cards.outbound import CardMessages
from programme.errors import ProgrammeChoiceError
from programme.facilitators import ExternalFacilitator
from programme.model import Allocation, Group, Pair, PairRound, Person
from programme.placement import allocate_programme
from programme.programmes import ProgrammeDefinition, parse_programmes
from repositories.facilitators import ExternalFacilitatorsRepository
from repositories.gatherings import TopicJoinsRepository
from repositories.groups import GroupsRepository
from repositories.jobs import JobRunsRepository
from repositories.pairs import PairRoundsRepository
from service.invites import Invites, MailSettings
from service.scheduler import Scheduler
from service.services import Services
from store import Store
from tests.cli_run import run
from tests.clocks import Clock
from tests.worlds import Row, build_services

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

MIXED = """
[programme]
send_time = "09:00"

[[programmes]]
id = "reflection"
name = "Peer reflection"
membership = "roles"
roles = ["Health Coach", "Group Practitioner"]

[[programmes]]
id = "gatherings"
name = "Co-reflection gatherings"
formation = "topic"
membership = "opt-in"
topics = ["Bereavement", "Caring for someone"]
minimum_to_meet = 3
weekday = "Wednesday"

[[programmes]]
id = "practice"
name = "Reflective practice"
formation = "team"
facilitation = "external"
max_group_size = 8

[[programmes]]
id = "peers"
name = "Peer to peer"
kind = "pairs"
"""

HEADER = "email,name,role,service,working_days,hours_per_week,facilitator,coordinator"


def _line(key: str, role: str, service: str, *, facilitator: bool = False, hours: float = 37.5) -> str:
    flag = "yes" if facilitator else "no"
    return f"{key}@x.org,{key.title()},{role},{service},Mon Tue Wed Thu Fri,{hours:g},{flag},no"


def roster(extra: tuple[str, ...] = ()) -> bytes:
    """Seven health coaches, four group practitioners, five admins; two staff facilitators."""
    lines = [
        *(_line(f"hc{n}", "Health Coach", "North" if n < 4 else "South") for n in range(7)),
        *(_line(f"gp{n}", "Group Practitioner", "South") for n in range(4)),
        *(_line(f"ad{n}", "Admin", "North", hours=22.5) for n in range(5)),
        _line("fay", "Health Coach", "North", facilitator=True),
        _line("fred", "Admin", "South", facilitator=True),
        *extra,
    ]
    return ("\n".join([HEADER, *lines]) + "\n").encode()


EXTERNALS = (
    ExternalFacilitator("erin@consult.example", "Erin Out", "Consult Ltd"),
    ExternalFacilitator("olu@consult.example", "Olu Out", "Consult Ltd"),
)


def mixed() -> tuple[ProgrammeDefinition, ...]:
    return parse_programmes(tomllib.loads(MIXED))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    programmes = mixed()
    with Store(tmp_path / "reflect.json") as store:
        built = Services.build(
            store, programmes[0].settings, lambda: NOW, messages=CardMessages(), programmes=programmes
        )
        built.programme.import_roster(roster(), "roster.csv", NOW)
        ExternalFacilitatorsRepository(store).replace_all(EXTERNALS)
        joins = TopicJoinsRepository(store)
        for who in ("hc0", "gp1", "ad2", "fay"):
            joins.join("gatherings", f"{who}@x.org", "Bereavement", NOW)
        joins.join("gatherings", "ad3@x.org", "Caring for someone", NOW)  # alone: waits for two more
        yield built


def _by_programme(groups: tuple[Group, ...]) -> dict[str, list[Group]]:
    found: dict[str, list[Group]] = {}
    for group in groups:
        found.setdefault(group.programme, []).append(group)
    return found


def test_each_programme_forms_its_own_groups_with_ids_unique_across_programmes(services: Services) -> None:
    each = services.programme.allocate_each(NOW)
    assert list(each) == ["reflection", "gatherings", "practice"]  # not "peers": it has no groups
    groups = services.programme.groups()
    assert len({g.id for g in groups}) == len(groups)
    by = _by_programme(groups)
    people = services.programme.people()
    # Reflection: health coaches and group practitioners only; Fay (a facilitator) leads, not a member.
    assert {people[m].role for g in by["reflection"] for m in g.members} <= {
        "Health Coach",
        "Group Practitioner",
    }
    assert {m for g in by["reflection"] for m in g.members} == {
        f"{k}@x.org" for k in [*(f"hc{n}" for n in range(7)), *(f"gp{n}" for n in range(4))]
    }
    assert {g.facilitator for g in by["reflection"]} <= {"fay@x.org", "fred@x.org"}
    # Gatherings: the four who joined Bereavement (Fay takes part: she joined); rotating facilitation.
    (gathering,) = by["gatherings"]
    assert gathering.members == ("ad2@x.org", "fay@x.org", "gp1@x.org", "hc0@x.org")
    assert gathering.facilitator is None and gathering.cohort == "Bereavement"
    assert [u.email for u in each["gatherings"].unplaced] == ["ad3@x.org"]
    # Practice: by team (North's ten split in two, at most eight), run by the external facilitators;
    # staff facilitators take part there.
    assert sorted(g.cohort for g in by["practice"]) == ["North", "North", "South"]
    assert all(len(g.members) <= 8 for g in by["practice"])
    # Two externals for three groups meeting at the same time: one rotates, and the gap is reported.
    assert {g.facilitator for g in by["practice"]} == {None, *(e.email for e in EXTERNALS)}
    assert each["practice"].facilitators_needed == {3: 1}
    assert sum(len(g.members) for g in by["practice"]) == len(people)
    # Ids: the programme's id first, so no two programmes' groups can share one.
    for programme_id, own in by.items():
        assert all(g.id.startswith(f"{programme_id}-") for g in own)


def test_the_legacy_programme_keeps_v1_ids_and_v1_results(tmp_path: Path) -> None:
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(
            store, lambda: NOW, [Row(k, facilitator=k == "fay") for k in "fay ann bo cy di ed".split()]
        )
        (group,) = services.programme.groups()
        assert group.id == "thu-coach-1" and group.programme == "main" and group.facilitator == "fay@x.org"
        assert services.programme.current_allocation().groups == (group,)


def test_allocating_one_programme_leaves_the_other_programmes_untouched(services: Services) -> None:
    services.programme.allocate_each(NOW)
    store = services.programme.store
    repo = GroupsRepository(store)
    before = {p: repo.allocation(p) for p in ("reflection", "practice")}
    started = {p: repo.started_at(p) for p in ("reflection", "gatherings", "practice")}
    # The roster grows and two more people join the waiting topic; only gatherings is allocated.
    later = NOW + timedelta(days=20)
    services.programme.import_roster(
        roster((_line("hc9", "Health Coach", "North"), _line("gp9", "Group Practitioner", "South"))),
        "roster.csv",
        later,
    )
    joins = TopicJoinsRepository(store)
    for who in ("hc1", "hc9"):
        joins.join("gatherings", f"{who}@x.org", "Caring for someone", later)
    (only,) = services.programme.allocate_each(later, "gatherings").values()
    assert {g.cohort for g in only.groups} == {"Bereavement", "Caring for someone"}
    assert {p: repo.allocation(p) for p in ("reflection", "practice")} == before
    assert {p: repo.started_at(p) for p in ("reflection", "gatherings", "practice")} == started
    # The next allocation of everything places the newcomers.
    services.programme.allocate_each(later)
    members = {m for g in services.programme.groups() if g.programme == "reflection" for m in g.members}
    assert {"hc9@x.org", "gp9@x.org"} <= members


def test_ids_stay_stable_and_a_retired_id_is_never_given_again(services: Services) -> None:
    services.programme.allocate_each(NOW)
    first = {g.id: g for g in services.programme.groups()}
    services.programme.allocate_each(NOW + timedelta(days=1))
    assert {g.id: g for g in services.programme.groups()} == first  # nothing changed, nothing moved
    joins = TopicJoinsRepository(services.programme.store)
    (old,) = [g for g in first.values() if g.programme == "gatherings"]
    joins.leave("gatherings", "gp1@x.org")
    joins.leave("gatherings", "ad2@x.org")  # two of four left: below the minimum of three
    services.programme.allocate_each(NOW + timedelta(days=2), "gatherings")
    assert not [g for g in services.programme.groups() if g.programme == "gatherings"]
    assert old.id in GroupsRepository(services.programme.store).retired_ids()
    for who in ("gp1", "ad2"):
        joins.join("gatherings", f"{who}@x.org", "Bereavement", NOW)
    services.programme.allocate_each(NOW + timedelta(days=3), "gatherings")
    (again,) = [g for g in services.programme.groups() if g.programme == "gatherings"]
    assert again.members == old.members and again.id != old.id and again.id.startswith("gatherings-")


def test_a_programme_without_groups_or_pairs_is_refused_when_named(services: Services) -> None:
    with pytest.raises(ProgrammeChoiceError, match="'peers' has no groups"):
        services.programme.allocate_each(NOW, "peers")
    with pytest.raises(
        ProgrammeChoiceError, match=r"'reflection' has no peer pairs \(programmes with pairs: peers\)"
    ):
        services.programme.rotate_pairs(NOW.date(), "reflection")
    assert services.programme.groups() == () and services.programme.pair_rounds() == []


def test_pairing_rounds_are_per_programme_among_its_members(services: Services) -> None:
    services.programme.allocate_each(NOW)
    round_ = services.programme.rotate_pairs(NOW.date())  # the only programme with pairs
    assert round_.programme == "peers" and round_.number == 1
    paired = {e for p in round_.pairs for e in p.peers} | {u.email for u in round_.unpaired}
    assert paired == {e for e, p in services.programme.people().items() if p.active}
    # The current pair of a person is looked up in the programme it belongs to.
    rounds = PairRoundsRepository(services.programme.store)
    pair = round_.pairs[0]
    assert rounds.pair_of(pair.peers[0], "peers") == pair
    assert rounds.pair_of(pair.peers[0], "main") is None
    assert services.peers.pair_of(pair.peers[0]) == (round_, pair)


def test_two_programmes_with_pairs_must_be_named_and_never_share_round_numbers(tmp_path: Path) -> None:
    programmes = parse_programmes(
        {
            "programmes": [
                {"id": "main", "kind": ["groups", "pairs"]},
                {"id": "buddies", "kind": "pairs", "membership": "roles", "roles": ["Coach"]},
            ]
        }
    )
    rows = [Row(k, role="Admin" if k in ("ed", "gil") else "Coach") for k in "ann bo cy di ed gil".split()]
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, lambda: NOW, rows, programmes=programmes, allocate=False)
        with pytest.raises(ProgrammeChoiceError, match="several programmes have peer pairs"):
            services.programme.rotate_pairs(NOW.date())
        main = services.programme.rotate_pairs(NOW.date(), "main")
        buddies = services.programme.rotate_pairs(NOW.date(), "buddies")
        assert (main.number, buddies.number) == (1, 2)
        assert {e for p in buddies.pairs for e in p.peers} == {f"{k}@x.org" for k in "ann bo cy di".split()}
        assert [r.programme for r in services.peers.current_rounds()] == ["main", "buddies"]
        # A record of the buddies round is found by its number, though the person also has a main pair.
        ann = "ann@x.org"
        assert services.peers.pair_of(ann, buddies.number)[0] == buddies
        assert services.peers.pair_of(ann)[0] == main
        # The next buddies round never repeats a buddies pair; main's pairs do not count against it.
        again = services.programme.rotate_pairs(NOW.date() + timedelta(days=200), "buddies")
        old = {frozenset(p.peers) for p in buddies.pairs}
        assert again.number == 3 and not old & {frozenset(p.peers) for p in again.pairs}


# -- the CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[str, str]:
    settings = tmp_path / "reflect.toml"
    settings.write_text(MIXED)
    db = tmp_path / "data" / "reflect.json"
    db.parent.mkdir()
    programmes = mixed()
    with Store(db) as store:
        built = Services.build(
            store, programmes[0].settings, lambda: NOW, messages=CardMessages(), programmes=programmes
        )
        built.programme.import_roster(roster(), "roster.csv", NOW)
        ExternalFacilitatorsRepository(store).replace_all(EXTERNALS)
        joins = TopicJoinsRepository(store)
        for who in ("hc0", "gp1", "ad2"):
            joins.join("gatherings", f"{who}@x.org", "Bereavement", NOW)
        joins.join("gatherings", "ad3@x.org", "Caring for someone", NOW)
    return str(db), str(settings)


Reflect = Callable[..., tuple[int, str, str]]


@pytest.fixture
def reflect(deployment: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> Reflect:
    """`reflect ARGS...` on the deployment's data file and settings."""
    db, settings = deployment
    return lambda *args: run(capsys, *args, "--db", db, "--settings", settings)


def test_cli_groups_say_their_programme_and_one_programme_can_be_allocated_alone(reflect: Reflect) -> None:
    code, out, err = reflect("groups", "allocate", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert {g["programme"] for g in document["groups"]} == {"reflection", "gatherings", "practice"}
    assert document["unplaced"] == [
        {
            "email": "ad3@x.org",
            "reason": 'the "Caring for someone" gathering meets once 3 have joined (1 so far)',
            "programme": "gatherings",
        }
    ]
    assert [p["id"] for p in document["programmes"]] == ["reflection", "gatherings", "practice"]
    code, out, _ = reflect("groups", "show", "--programme", "practice", "--json")
    practice = json.loads(out)
    assert code == 0 and {g["programme"] for g in practice["groups"]} == {"practice"}
    assert practice["groups"] == [g for g in document["groups"] if g["programme"] == "practice"]
    code, out, _ = reflect("groups", "allocate", "--programme", "practice", "--json")
    assert code == 0 and json.loads(out)["groups"] == practice["groups"]  # stable
    code, shown, _ = reflect("groups", "show")
    assert "== Peer reflection (reflection)" in shown and "== Reflective practice (practice)" in shown
    code, _, err = reflect("groups", "allocate", "--programme", "peers")
    assert code == 1 and "programme 'peers' has no groups" in err
    code, _, err = reflect("groups", "show", "--programme", "nope")
    assert code == 1 and "no programme 'nope'" in err


def test_cli_pairs_rotate_and_show_by_programme(reflect: Reflect) -> None:
    code, _, err = reflect("pairs", "rotate", "--programme", "reflection")
    assert code == 1 and "programme 'reflection' has no peer pairs" in err
    code, out, err = reflect("pairs", "rotate", "--today", "2026-12-01", "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["programme"] == "peers" and rotated["round"] == 1
    code, out, _ = reflect("pairs", "show", "--programme", "peers", "--json")
    assert json.loads(out) == rotated
    code, out, _ = reflect("pairs", "show")
    assert out.startswith("Pairing round 1 of Peer to peer (peers) (from 2026-12-01)")


# -- the programme clock by kind -------------------------------------------------------------------

GROUP_KINDS = {"invite", "cancel", "intro", "rsvp_reminder", "attendance", "checkout"}
PAIR_KINDS = {"pair_intro", "peer_check", "peer_nudge", "goals", "goals_mail"}
MONTH_START = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def _a_month_of_the_clock(services: Services, clock: Clock) -> tuple[set[str], set[str]]:
    """Run the clock at the end of every day of January 2027; the kinds queued and the jobs run."""
    scheduler = Scheduler(services, Invites(services.sessions, services.outbox, MailSettings()))
    ran: set[str] = set()
    day = MONTH_START
    while day <= MONTH_START + timedelta(days=31):
        for moment in (day + timedelta(hours=9, minutes=30), day + timedelta(hours=23, minutes=59)):
            clock.now = moment
            ran.update(r.job.key.split(":")[0] for r in scheduler.run_due(moment))
        day += timedelta(days=1)
    kinds = {doc["kind"] for doc in services.outbox.records().values()}
    return kinds, ran


def test_a_pairs_only_organisation_sends_no_group_invites(tmp_path: Path) -> None:
    programmes = parse_programmes({"programmes": [{"id": "peers", "kind": "pairs"}]})
    clock = Clock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(
            store,
            clock,
            [Row(k) for k in "ann bo cy di ed fo".split()],
            programmes=programmes,
            allocate=False,
        )
        assert services.programme.allocate_each(clock()) == {}  # nothing to allocate
        services.programme.rotate_pairs(date(2026, 12, 1))
        # Groups a v1 data file left behind (programme "main", which these settings do not define).
        GroupsRepository(store).save_allocation(
            Allocation(
                (
                    Group(
                        "thu-coach-1",
                        "Coach, Thursday 1",
                        3,
                        "Coach",
                        None,
                        ("ann@x.org", "bo@x.org", "cy@x.org"),
                    ),
                ),
                (),
            ),
            clock(),
        )
        kinds, ran = _a_month_of_the_clock(services, clock)
        assert {"peer_check", "goals", "goals_mail"} <= kinds
        assert not kinds & GROUP_KINDS
        assert not ran & {"invites", "rsvp_reminder", "session_end"}
        assert not JobRunsRepository(store).has_run("2027-01", "invites:2027-01")


def test_a_groups_only_organisation_sends_no_pair_prompts(tmp_path: Path) -> None:
    programmes = parse_programmes({"programmes": [{"id": "reflection", "kind": "groups"}]})
    clock = Clock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    rows = [Row("fay", facilitator=True), *(Row(k) for k in "ann bo cy di ed".split())]
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, clock, rows, programmes=programmes)
        assert {g.programme for g in services.programme.groups()} == {"reflection"}
        # A pairing round a v1 data file left behind: no programme of these settings has pairs.
        PairRoundsRepository(store).save(
            PairRound(1, date(2026, 12, 1), (Pair(("ann@x.org", "bo@x.org")), Pair(("cy@x.org", "di@x.org"))))
        )
        kinds, ran = _a_month_of_the_clock(services, clock)
        assert {"invite", "rsvp_reminder", "attendance"} <= kinds
        assert {"invites", "rsvp_reminder", "session_end"} <= ran
        assert not kinds & PAIR_KINDS
        assert not ran & {"peer_check", "peer_nudge", "goals", "rotation"}


def test_a_staff_facilitator_at_their_limit_in_one_programme_leads_nothing_in_another(tmp_path: Path) -> None:
    programmes = parse_programmes(
        {
            "programme": {"facilitator_max_groups": 1},
            "programmes": [{"id": "reflection"}, {"id": "teams", "weekday": "Tuesday"}],
        }
    )
    rows = [Row("fay", facilitator=True), *(Row(k) for k in "ann bo cy di ed".split())]
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, lambda: NOW, rows, programmes=programmes, allocate=False)
        each = services.programme.allocate_each(NOW)
        led = [g.programme for g in services.programme.groups() if g.facilitator == "fay@x.org"]
        assert led == ["reflection"]
        # The other programme's group rotates, and its allocation says a facilitator is needed.
        assert each["teams"].facilitators_needed == {1: 1}


def test_a_facilitators_limit_counts_the_groups_they_lead_in_every_programme() -> None:
    # Limit 2; fay already leads one group of "reflection". "teams" has groups on Tuesday and
    # Wednesday, which she works: alone she could lead both, but only one is left of her limit.
    _, teams = parse_programmes(
        {
            "programme": {"facilitator_max_groups": 2},
            "programmes": [
                {"id": "reflection"},
                {"id": "teams", "weekday": "Tuesday", "fallback_weekdays": ["Wednesday"]},
            ],
        }
    )
    tue_wed = frozenset({1, 2})
    fay = Person("fay@x.org", "Fay", "Lead", working_days=tue_wed, facilitator=True)
    staff = [
        *(Person(f"t{i}@x.org", f"T {i}", "Nurse", working_days=frozenset({1})) for i in range(4)),
        *(Person(f"w{i}@x.org", f"W {i}", "Nurse", working_days=frozenset({2})) for i in range(4)),
    ]
    led_elsewhere = Group("thu-lead-1", "Lead 1", 3, "Lead", "fay@x.org", ("ann@x.org",), "reflection")

    alone = allocate_programme(teams, [fay, *staff])
    assert sorted(g.weekday for g in alone.groups if g.facilitator == "fay@x.org") == [1, 2]

    beside = allocate_programme(teams, [fay, *staff], current=[led_elsewhere])
    assert [g.facilitator for g in beside.groups].count("fay@x.org") == 1
    assert sum(beside.facilitators_needed.values()) == 1


def test_each_programme_with_pairs_rotates_on_its_own_rotation_months(tmp_path: Path) -> None:
    programmes = parse_programmes(
        {
            "programmes": [
                {"id": "quick", "kind": "pairs", "rotation_months": 3},
                {"id": "slow", "kind": "pairs", "rotation_months": 6},
            ]
        }
    )
    clock = Clock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    with Store(tmp_path / "reflect.json") as store:
        rows = [Row(k) for k in "ann bo cy di ed fo gil hal".split()]
        services = build_services(store, clock, rows, programmes=programmes, allocate=False)
        for programme in ("quick", "slow"):
            services.programme.rotate_pairs(date(2026, 12, 1), programme)
        scheduler = Scheduler(services, Invites(services.sessions, services.outbox, MailSettings()))
        for month in range(1, 9):
            clock.now = datetime(2027, month, 1, 9, 30, tzinfo=UTC)
            scheduler.run_due(clock.now)
        started = {
            p: [r.started_on.isoformat() for r in services.programme.pair_rounds(p)]
            for p in ("quick", "slow")
        }
        assert started == {
            "quick": ["2026-12-01", "2027-03-01", "2027-06-01"],
            "slow": ["2026-12-01", "2027-06-01"],
        }
        # Each new round was introduced to its people (pair_intro messages name the round).
        intros = {k.split(":")[1] for k, d in services.outbox.records().items() if d["kind"] == "pair_intro"}
        assert intros == {str(r.number) for r in services.programme.pair_rounds() if r.number > 2}
