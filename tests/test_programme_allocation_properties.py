"""Allocation and pairing rules hold per programme, as properties over random rosters and histories.

A deployment of four programmes (role groups for listed roles, opt-in topic gatherings, team groups
with external facilitators, peer pairs for listed roles) shares one roster and one data file. After
every step of a random sequence — roster changes, topic joins and leaves, allocating every
programme or one, pairing rounds — each programme's groups and rounds obey its own rules, group ids
are unique across programmes and never reused, and an allocation of one programme leaves the other
programmes' groups and metadata exactly as they were.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cards.outbound import CardMessages
from programme.facilitators import ExternalFacilitator
from programme.membership import members
from programme.model import Allocation, Group, PairRound, Person
from programme.placement import allocate_programme
from programme.programmes import Facilitation, Formation, ProgrammeDefinition, parse_programmes
from repositories.facilitators import ExternalFacilitatorsRepository
from repositories.gatherings import TopicJoinsRepository
from repositories.groups import GroupsRepository
from service.services import Services
from store import Store

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
ROLES = ("Health Coach", "Group Practitioner", "Admin", "Team Leader")
SERVICES = ("North", "South", "")
TOPICS = ("Bereavement", "Caring", "Night shifts")
EXTERNALS = tuple(ExternalFacilitator(f"ext{n}@consult.example", f"External {n}") for n in range(3))
LEFT = date(2026, 9, 1)


@st.composite
def deployments(draw: st.DrawFn) -> tuple[ProgrammeDefinition, ...]:
    maximum = draw(st.integers(3, 8))
    minimum = draw(st.integers(2, min(3, maximum)))
    roles = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True))
    return parse_programmes(
        {
            "programme": {"max_group_size": maximum, "min_group_size": minimum},
            "programmes": [
                {"id": "reflection", "membership": "roles", "roles": roles},
                {
                    "id": "gatherings",
                    "formation": "topic",
                    "membership": "opt-in",
                    "topics": list(TOPICS),
                    "minimum_to_meet": draw(st.integers(2, maximum)),
                    "weekday": "Wednesday",
                },
                {"id": "practice", "formation": "team", "facilitation": "external"},
                {"id": "peers", "kind": "pairs", "membership": "roles", "roles": roles[:1]},
            ],
        }
    )


person_st = st.tuples(
    st.sampled_from(ROLES),
    st.sampled_from(SERVICES),
    st.integers(0, 7).map(lambda n: n == 0),  # facilitator
    st.sampled_from([frozenset(), frozenset({0, 1, 2}), frozenset({2, 3}), frozenset({5, 6})]),
)


def to_person(i: int, row: tuple[str, str, bool, frozenset[int]]) -> Person:
    role, service, facilitator, days = row
    return Person(f"p{i:02d}@x.org", f"P {i}", role, service, days, 30.0, facilitator=facilitator)


# One step of the story: the roster changes (leavers by position, joiners), someone joins or leaves
# a topic, every programme or one is allocated, or the pairs programme starts a round.
Step = tuple[str, list[int], list[tuple[str, str, bool, frozenset[int]]], str | None]
step_st: st.SearchStrategy[Step] = st.one_of(
    st.tuples(
        st.just("roster"),
        st.lists(st.integers(0, 59), max_size=4),
        st.lists(person_st, max_size=6),
        st.none(),
    ),
    st.tuples(
        st.just("join"),
        st.lists(st.integers(0, 59), min_size=1, max_size=1),
        st.just([]),
        st.sampled_from(TOPICS),
    ),
    st.tuples(st.just("leave"), st.lists(st.integers(0, 59), min_size=1, max_size=1), st.just([]), st.none()),
    st.tuples(
        st.just("allocate"),
        st.just([]),
        st.just([]),
        st.sampled_from([None, "reflection", "gatherings", "practice"]),
    ),
    st.tuples(st.just("pair"), st.just([]), st.just([]), st.none()),
)


@settings(max_examples=40, deadline=None)
@given(
    definitions=deployments(),
    rows=st.lists(person_st, min_size=0, max_size=40),
    joins=st.lists(st.tuples(st.integers(0, 59), st.sampled_from(TOPICS)), max_size=20),
    steps=st.lists(step_st, min_size=1, max_size=8),
)
def test_allocation_and_pairing_rules_hold_per_programme(
    definitions: tuple[ProgrammeDefinition, ...],
    rows: list[tuple[str, str, bool, frozenset[int]]],
    joins: list[tuple[int, str]],
    steps: list[Step],
) -> None:
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "reflect.json") as store:
        services = Services.build(
            store, definitions[0].settings, lambda: START, messages=CardMessages(), programmes=definitions
        )
        programme = services.programme
        people = [to_person(i, row) for i, row in enumerate(rows)]
        programme.people_repo.put_many(people)
        ExternalFacilitatorsRepository(store).replace_all(EXTERNALS)
        topic_joins = TopicJoinsRepository(store)
        for index, topic in joins:
            if index < len(people):
                topic_joins.join("gatherings", people[index].email, topic, START)
        ever: set[str] = set()  # every group id handed out so far, in any programme
        now = START
        first: Step = ("allocate", [], [], None)
        for kind, positions, rows_in, name in [first, *steps]:
            now += timedelta(days=7)
            everyone = list(programme.people().values())
            chosen = [everyone[i].email for i in positions if i < len(everyone)]
            if kind == "roster":
                joiners = [to_person(len(everyone) + n, row) for n, row in enumerate(rows_in)]
                leavers = [replace(p, left_on=LEFT) for p in everyone if p.email in chosen]
                programme.people_repo.put_many([*leavers, *joiners])
            elif kind == "join" and name is not None:
                for email in chosen:
                    topic_joins.join("gatherings", email, name, now)
            elif kind == "leave":
                for email in chosen:
                    topic_joins.leave("gatherings", email)
            elif kind == "allocate":
                repo = GroupsRepository(store)
                others = {d.id: repo.allocation(d.id) for d in definitions if d.id != name}
                started = {d.id: repo.started_at(d.id) for d in definitions if d.id != name}
                before = {g.id for g in programme.groups()}
                retired = repo.retired_ids()
                result = programme.allocate_each(now, name)
                if name is not None:
                    # Nothing of another programme changed: groups, unplaced, facilitators, start.
                    assert {p: repo.allocation(p) for p in others} == others
                    assert {p: repo.started_at(p) for p in started} == started
                for definition in definitions:
                    if definition.id in result:
                        check_allocation(definition, result[definition.id], programme.people(), topic_joins)
                groups = programme.groups()
                ids = [g.id for g in groups]
                assert len(ids) == len(set(ids))  # unique across programmes
                new = set(ids) - before
                assert not new & retired and not new & ever  # never a retired or earlier id
                ever |= set(ids)
                assert {g.programme for g in groups} <= {"reflection", "gatherings", "practice"}
            elif kind == "pair":
                round_ = programme.rotate_pairs(now.date())
                check_round(definitions[3], round_, programme.people(), programme.pair_rounds("peers")[:-1])
                numbers = [r.number for r in programme.pair_rounds()]
                assert numbers == list(range(1, len(numbers) + 1))


def check_allocation(
    definition: ProgrammeDefinition,
    allocation: Allocation,
    people: Mapping[str, Person],
    joins: TopicJoinsRepository,
) -> None:
    """One programme's allocation keeps the rules of its formation and facilitation."""
    roster = list(people.values())
    joined = joins.joined(definition.id)
    opted_in = {e for emails in joined.values() for e in emails}
    inside = {p.email: p for p in members(definition, roster, opted_in)}
    staff_led = definition.facilitation is Facilitation.STAFF and definition.formation is not Formation.TOPIC
    eligible = {e for e, p in inside.items() if not (staff_led and p.facilitator)}
    settings_ = definition.settings
    placed = [m for g in allocation.groups for m in g.members]
    # Nobody outside the programme's membership; everyone eligible placed once or reported.
    assert Counter(placed + [u.email for u in allocation.unplaced]) == Counter(eligible)
    assert all(u.reason for u in allocation.unplaced)
    for group in allocation.groups:
        assert group.programme == definition.id and group.id.startswith(f"{definition.id}-")
        assert 2 <= len(group.members) <= settings_.max_group_size
        if definition.formation is Formation.TOPIC:
            assert group.cohort in definition.topics and group.weekday == settings_.weekday
            assert len(group.members) >= 2 and set(group.members) <= set(joined.get(group.cohort, ()))
            assert group.facilitator is None  # rotating by default
        if definition.formation is Formation.TEAM:
            # By team: the group is named after a team of its members (a small team joins another).
            services = {inside[m].service for m in group.members}
            assert group.cohort in services and "" not in services
        if definition.facilitation is Facilitation.EXTERNAL:
            assert group.facilitator is None or group.facilitator in {e.email for e in EXTERNALS}
        elif staff_led and group.facilitator is not None:
            leader = people[group.facilitator]
            assert leader.facilitator and leader.active and group.facilitator not in group.members


def check_round(
    definition: ProgrammeDefinition, round_: PairRound, people: Mapping[str, Person], history: list[PairRound]
) -> None:
    """A round of the pairs programme pairs its members only, everyone once, never a pair again."""
    roster = list(people.values())
    inside = {p.email for p in members(definition, roster)}
    seen = [e for p in round_.pairs for e in p.peers] + [u.email for u in round_.unpaired]
    assert Counter(seen) == Counter(inside) and round_.programme == definition.id
    before = {
        frozenset(two) for earlier in history for pair in earlier.pairs for two in combinations(pair.peers, 2)
    }
    assert not before & {frozenset(two) for p in round_.pairs for two in combinations(p.peers, 2)}


def test_the_ids_of_two_programmes_never_meet_even_when_a_legacy_id_has_a_programme_prefix() -> None:
    # A v1 group whose id happens to start like another programme's ids ("gatherings-..." from a
    # cohort "Gatherings"): the programme's new groups still get ids no group ever had.
    (main, gatherings) = parse_programmes(
        {
            "programmes": [
                {"id": "main"},
                {"id": "gatherings", "formation": "topic", "membership": "opt-in", "topics": ["Loss"]},
            ]
        }
    )
    people = [Person(f"p{n}@x.org", f"P{n}", "Coach") for n in range(3)]
    clash = Group("gatherings-thu-loss-1", "odd", 3, "Loss", None, ("z@x.org",), programme="main")
    result = allocate_programme(
        gatherings,
        people,
        joined={"Loss": {p.email for p in people}},
        current=[clash],
        retired_ids={"gatherings-thu-loss-2"},
    )
    (group,) = result.groups
    assert group.id not in {"gatherings-thu-loss-1", "gatherings-thu-loss-2"}
    assert group.id.startswith("gatherings-") and group.programme == "gatherings"
    assert main.id == "main"
