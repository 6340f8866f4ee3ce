"""Pairing rounds: the contract's "pairs rotate" rules, property-tested over random rosters and histories."""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import combinations

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programme.model import Pair, PairRound, Person
from programme.pairing import rotate_pairs
from programme.settings import ProgrammeSettings

TODAY = date(2026, 11, 23)
SETTINGS = ProgrammeSettings()
# Common contract hours, so ties (and the boundaries between them) are well exercised.
USUAL_HOURS = (7.5, 15.0, 18.75, 22.5, 25.0, 30.0, 32.5, 37.5)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def person(email: str, hours: float | None = 37.5, *, probation: bool = False, left: bool = False) -> Person:
    return Person(
        email=email,
        name=email.split("@")[0],
        role="Health Coach",
        hours_per_week=hours,
        probation_end=TODAY + timedelta(days=30) if probation else TODAY - timedelta(days=400),
        left_on=TODAY - timedelta(days=3) if left else None,
    )


def hours_of(people: list[Person]) -> dict[str, float]:
    return {
        p.email: SETTINGS.default_hours_per_week if p.hours_per_week is None else p.hours_per_week
        for p in people
    }


def together_before(history: list[PairRound]) -> set[frozenset[str]]:
    return {frozenset((a, b)) for r in history for pair in r.pairs for a, b in combinations(pair.peers, 2)}


def total_cost(round_: PairRound, hours: dict[str, float]) -> float:
    return sum(max(hours[e] for e in p.peers) - min(hours[e] for e in p.peers) for p in round_.pairs)


def assert_rules_hold(people: list[Person], history: list[PairRound], round_: PairRound) -> None:
    """Every rule of the contract that can be checked on one round."""
    active = {p.email for p in people if p.active}
    receivers = {p.email for p in people if p.active and p.in_probation(TODAY)}
    before = together_before(history)

    # Every active person exactly once, in a pair/trio or unpaired; nobody else.
    placed = [e for pair in round_.pairs for e in pair.peers] + [u.email for u in round_.unpaired]
    assert sorted(placed) == sorted(active)
    assert round_.number == 1 + max((r.number for r in history), default=0)
    assert round_.started_on == TODAY
    assert list(round_.pairs) == sorted(round_.pairs, key=lambda p: p.peers)
    for pair in round_.pairs:
        assert len(pair.peers) in (2, 3)
        assert list(pair.peers) == sorted(pair.peers)
        # Probation members receive only, and someone in the pair gives.
        assert pair.receives_only == tuple(e for e in pair.peers if e in receivers)
        assert set(pair.peers) - receivers
        # Never again with anyone from any earlier round.
        assert not {frozenset(two) for two in combinations(pair.peers, 2)} & before

    # Unpaired only when nobody available is a valid partner: no two loose people could pair, and
    # no loose person could join a pair (not yet a trio) as its third.
    loose = [u.email for u in round_.unpaired]
    assert all(u.reason for u in round_.unpaired)
    for a, b in combinations(loose, 2):
        assert frozenset((a, b)) in before or {a, b} <= receivers
    for u in loose:
        for pair in round_.pairs:
            if len(pair.peers) == 2:
                assert any(frozenset((u, e)) in before for e in pair.peers)


@st.composite
def rosters(draw: st.DrawFn, max_size: int = 120, probation: bool = True) -> list[Person]:
    n = draw(st.integers(0, max_size))
    hours = st.one_of(
        st.sampled_from(USUAL_HOURS),
        st.floats(1, 60).map(lambda h: round(h, 1)),
        st.none(),
    )
    # About one in ten in probation, one in twenty already left.
    one_in = st.integers(0, 19)
    people = []
    for i in range(n):
        in_probation = probation and draw(one_in) < 2
        people.append(
            person(f"p{i:03d}@cable.org", draw(hours), probation=in_probation, left=draw(one_in) == 0)
        )
    return people


@st.composite
def histories(draw: st.DrawFn, people: list[Person]) -> list[PairRound]:
    """0-4 earlier rounds: our own rotations (probation judged back then) or arbitrary pairings."""
    history: list[PairRound] = []
    emails = [p.email for p in people]  # leavers too: history keeps them
    for back in range(draw(st.integers(0, 4)), 0, -1):
        started = TODAY - timedelta(days=183 * back)
        if draw(st.booleans()):
            history.append(rotate_pairs(people, history, started, SETTINGS))
            continue
        order = draw(st.permutations(emails))
        groups = [order[i : i + 2] for i in range(0, len(order) - 1, 2)]
        if len(order) % 2 and groups:
            groups[-1] = [*groups[-1], order[-1]]
        pairs = tuple(Pair(peers=tuple(sorted(g))) for g in groups)
        history.append(PairRound(number=len(history) + 1, started_on=started, pairs=pairs))
    return history


@PROPERTY
@given(st.data())
def test_every_rule_holds_for_random_rosters_and_histories(data: st.DataObject) -> None:
    people = data.draw(rosters())
    history = data.draw(histories(people))
    assert_rules_hold(people, history, rotate_pairs(people, history, TODAY, SETTINGS))


@PROPERTY
@given(rosters())
def test_nobody_is_left_out_and_trios_are_only_as_many_as_needed_without_history(
    people: list[Person],
) -> None:
    round_ = rotate_pairs(people, [], TODAY, SETTINGS)
    assert_rules_hold(people, [], round_)
    active = [p for p in people if p.active]
    receivers = sum(p.in_probation(TODAY) for p in active)
    givers = len(active) - receivers
    trios = sum(len(p.peers) == 3 for p in round_.pairs)
    if len(active) >= 2 and 0 < givers and receivers <= 2 * givers:
        assert round_.unpaired == ()
        # One trio for an odd count; beyond that, one per probation person a giver must take on.
        assert trios == max(receivers - givers, len(active) % 2)


@PROPERTY
@given(rosters(probation=False))
def test_without_constraints_the_round_pairs_hours_order_neighbours_at_optimal_cost(
    people: list[Person],
) -> None:
    active = [p for p in people if p.active]
    if len(active) % 2:
        active = active[1:]
    round_ = rotate_pairs(active, [], TODAY, SETTINGS)
    assert all(len(p.peers) == 2 for p in round_.pairs) and round_.unpaired == ()
    hours = sorted(hours_of(active).values())
    optimum = sum(hours[i + 1] - hours[i] for i in range(0, len(hours), 2))
    assert abs(total_cost(round_, hours_of(active)) - optimum) < 1e-6


def exact_matching(people: list[Person], history: list[PairRound]) -> tuple[int, float]:
    """Size and cost of a maximum-cardinality, minimum-cost matching (networkx, cubic) under our rules."""
    hours = hours_of(people)
    before = together_before(history)
    receivers = {p.email for p in people if p.in_probation(TODAY)}
    graph = nx.Graph()
    for a, b in combinations(sorted(hours), 2):
        if frozenset((a, b)) not in before and not {a, b} <= receivers:
            # Integer weights (hours to 1/100) keep the blossom algorithm exact.
            graph.add_edge(a, b, weight=100_000 - round(abs(hours[a] - hours[b]) * 100))
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return len(matching), sum(abs(hours[a] - hours[b]) for a, b in matching)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_close_to_an_exact_minimum_cost_matching_on_small_rosters(data: st.DataObject) -> None:
    people = [p for p in data.draw(rosters(max_size=16)) if p.active]
    if len(people) % 2:
        people = people[1:]
    history = data.draw(histories(people))
    round_ = rotate_pairs(people, history, TODAY, SETTINGS)
    size, optimum = exact_matching(people, history)
    # As many pairs as the best matching; trios only absorb people it would leave out.
    assert len(round_.pairs) == size
    if all(len(p.peers) == 2 for p in round_.pairs):
        assert total_cost(round_, hours_of(people)) <= optimum * 1.2 + 1.0


def test_same_inputs_give_the_same_round_whatever_the_roster_order() -> None:
    rng = random.Random(7)
    people = [
        person(f"p{i:03d}@cable.org", rng.choice(USUAL_HOURS), probation=rng.random() < 0.1)
        for i in range(81)
    ]
    history: list[PairRound] = []
    for back in (3, 2, 1):
        history.append(rotate_pairs(people, history, TODAY - timedelta(days=183 * back), SETTINGS))
    first = rotate_pairs(people, history, TODAY, SETTINGS)
    shuffled = people[:]
    rng.shuffle(shuffled)
    assert rotate_pairs(shuffled, history, TODAY, SETTINGS) == first
    assert_rules_hold(people, history, first)


def test_missing_hours_count_as_the_default() -> None:
    people = [person("a@x.org", None), person("b@x.org", 37.5), person("c@x.org", 20), person("d@x.org", 20)]
    round_ = rotate_pairs(people, [], TODAY, SETTINGS)
    assert [p.peers for p in round_.pairs] == [("a@x.org", "b@x.org"), ("c@x.org", "d@x.org")]


def test_a_giver_takes_two_probation_people_as_a_trio() -> None:
    people = [person("g@x.org"), person("r1@x.org", probation=True), person("r2@x.org", probation=True)]
    round_ = rotate_pairs(people, [], TODAY, SETTINGS)
    assert round_.pairs == (
        Pair(peers=("g@x.org", "r1@x.org", "r2@x.org"), receives_only=("r1@x.org", "r2@x.org")),
    )


def test_probation_people_without_a_giver_are_unpaired_with_the_reason() -> None:
    people = [person("r1@x.org", probation=True), person("r2@x.org", probation=True)]
    round_ = rotate_pairs(people, [], TODAY, SETTINGS)
    assert round_.pairs == ()
    assert [u.email for u in round_.unpaired] == ["r1@x.org", "r2@x.org"]
    assert all("nobody out of probation" in u.reason for u in round_.unpaired)


def test_people_paired_with_everyone_before_are_unpaired_with_the_reason() -> None:
    people = [person(f"{c}@x.org") for c in "abcd"]
    history = [
        PairRound(
            n, TODAY, (Pair(("a@x.org", x)), Pair(tuple(sorted({"b@x.org", "c@x.org", "d@x.org"} - {x}))))
        )
        for n, x in enumerate(("b@x.org", "c@x.org", "d@x.org"), start=1)
    ]
    round_ = rotate_pairs(people, history, TODAY, SETTINGS)
    assert round_.number == 4
    assert round_.pairs == ()
    assert all("already paired in earlier rounds with everyone" in u.reason for u in round_.unpaired)


def test_only_active_people_take_part_and_rounds_number_on_from_the_highest() -> None:
    people = [person("a@x.org"), person("b@x.org"), person("gone@x.org", left=True)]
    history = [PairRound(3, TODAY - timedelta(days=183), ())]
    round_ = rotate_pairs(people, history, TODAY, SETTINGS)
    assert round_ == PairRound(4, TODAY, (Pair(("a@x.org", "b@x.org")),))


def test_a_lone_person_is_told_why() -> None:
    round_ = rotate_pairs([person("a@x.org")], [], TODAY, SETTINGS)
    assert round_.pairs == ()
    assert round_.unpaired[0].reason == "nobody else is taking part in this round"


def test_the_odd_person_joins_the_trio_that_adds_least() -> None:
    people = [person("a@x.org", 10), person("b@x.org", 10), person("c@x.org", 30), person("d@x.org", 30)]
    people.append(person("e@x.org", 31))
    round_ = rotate_pairs(people, [], TODAY, SETTINGS)
    assert [p.peers for p in round_.pairs] == [("a@x.org", "b@x.org"), ("c@x.org", "d@x.org", "e@x.org")]


def test_history_pushes_people_to_their_next_nearest_peer() -> None:
    people = [person("a@x.org", 10), person("b@x.org", 11), person("c@x.org", 20), person("d@x.org", 21)]
    history = [
        PairRound(
            1, TODAY - timedelta(days=183), (Pair(("a@x.org", "b@x.org")), Pair(("c@x.org", "d@x.org")))
        )
    ]
    round_ = rotate_pairs(people, history, TODAY, SETTINGS)
    # (a,c)+(b,d) and (a,d)+(b,c) both cost 20; either is the optimum here.
    assert total_cost(round_, hours_of(people)) == 20
    assert_rules_hold(people, history, round_)
