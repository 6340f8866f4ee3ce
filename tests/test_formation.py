"""Forming groups per programme: the allocation and pairing rules hold for every programme shape."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programme.allocation import allocate_groups
from programme.facilitators import ExternalFacilitator
from programme.formation import NO_TEAM, form_groups
from programme.membership import members
from programme.model import Allocation, Person
from programme.pairing import rotate_pairs
from programme.programmes import (
    Facilitation,
    Formation,
    Kind,
    Membership,
    MembershipMode,
    ProgrammeDefinition,
    legacy_programme,
)
from programme.settings import ProgrammeSettings

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
TODAY = date(2027, 1, 4)
ROLES = ("Health Coach", "Group Practitioner", "Advisor", "Team Leader")
SERVICES = ("North", "South", "Central", "East", "")
TOPICS = ("Bereavement", "Carers", "Menopause")
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

row_st = st.tuples(
    st.sampled_from(ROLES),
    st.sampled_from(SERVICES),
    st.sampled_from(
        [frozenset(), frozenset({THU, FRI}), frozenset({TUE}), frozenset({SAT}), frozenset({MON, TUE})]
    ),
    st.integers(0, 7).map(lambda n: n == 0),  # facilitator
    st.integers(0, 15).map(lambda n: n != 0),  # active
    st.sets(st.sampled_from(TOPICS), max_size=2),
    st.sampled_from((15.0, 22.5, 30.0, 37.5)),
)
roster_st = st.integers(0, 60).flatmap(lambda n: st.lists(row_st, min_size=n, max_size=n))


def build(
    rows: list[tuple[str, str, frozenset[int], bool, bool, set[str], float]],
) -> tuple[list[Person], dict[str, set[str]]]:
    people: list[Person] = []
    joined: dict[str, set[str]] = defaultdict(set)
    for i, (role, service, days, facilitator, active, topics, hours) in enumerate(rows):
        email = f"p{i:03d}@example.org"
        people.append(
            Person(
                email,
                f"Person {i}",
                role,
                service=service,
                working_days=days,
                facilitator=facilitator,
                hours_per_week=hours,
                left_on=None if active else date(2026, 12, 1),
            )
        )
        for topic in topics:
            joined[topic].add(email)
    return people, dict(joined)


@st.composite
def definition_st(draw: st.DrawFn) -> ProgrammeDefinition:
    formation = draw(st.sampled_from(Formation))
    maximum = draw(st.integers(3, 8))
    minimum = draw(st.integers(2, maximum))
    if formation is Formation.TOPIC:
        membership = Membership(MembershipMode.OPT_IN)
    else:
        mode = draw(st.sampled_from(MembershipMode))
        values: tuple[str, ...] = ()
        if mode is MembershipMode.ROLES:
            values = tuple(draw(st.sets(st.sampled_from(ROLES), min_size=1)))
        elif mode is MembershipMode.SERVICES:
            values = tuple(draw(st.sets(st.sampled_from(SERVICES[:-1]), min_size=1)))
        membership = Membership(mode, values)
    return ProgrammeDefinition(
        "p",
        "P",
        kinds=frozenset({Kind.GROUPS}),
        membership=membership,
        formation=formation,
        topics=TOPICS if formation is Formation.TOPIC else (),
        minimum_to_meet=draw(st.integers(2, maximum)),
        facilitation=draw(st.sampled_from(Facilitation)),
        settings=ProgrammeSettings(
            max_group_size=maximum, min_group_size=minimum, facilitator_max_groups=draw(st.integers(1, 2))
        ),
    )


EXTERNALS = [ExternalFacilitator(f"ext{i}@partner.org", f"External {i}", "Partner") for i in range(3)]


def check(
    definition: ProgrammeDefinition, people: list[Person], joined: dict[str, set[str]], result: Allocation
) -> None:
    opted_in = set().union(*joined.values()) if joined else set()
    inside = {p.email: p for p in members(definition, people, opted_in)}
    placed = [m for g in result.groups for m in g.members]
    # Nobody is in two groups, and nobody outside the programme's membership is in one.
    assert len(placed) == len(set(placed))
    assert set(placed) <= set(inside)
    assert not set(placed) & {u.email for u in result.unplaced}
    for group in result.groups:
        assert 2 <= len(group.members) <= definition.settings.max_group_size
    # Staff facilitators lead instead of taking part, except in gatherings they chose to join.
    staff_led = definition.facilitation is Facilitation.STAFF and definition.formation is not Formation.TOPIC
    if staff_led:
        assert not any(inside[m].facilitator for m in placed)
    # Everyone eligible is placed or told why not.
    if definition.formation is Formation.TOPIC:
        eligible = {e for e in opted_in if e in inside}
    else:
        eligible = {e for e, p in inside.items() if not (staff_led and p.facilitator)}
    assert set(placed) | {u.email for u in result.unplaced} == eligible
    # Who facilitates follows the programme's choice, within the v1 load rules.
    leaders = [g.facilitator for g in result.groups if g.facilitator is not None]
    if definition.facilitation is Facilitation.ROTATING:
        assert not leaders and not result.facilitators_needed
    elif definition.facilitation is Facilitation.EXTERNAL:
        assert set(leaders) <= {e.email for e in EXTERNALS}
    else:
        assert all(
            p.facilitator and p.active for p in (next(x for x in people if x.email == e) for e in leaders)
        )
    assert max(Counter(leaders).values(), default=0) <= definition.settings.facilitator_max_groups
    assert len({(g.facilitator, g.weekday) for g in result.groups if g.facilitator}) == len(leaders)
    if definition.formation is Formation.TEAM:
        assert {u.email for u in result.unplaced if u.reason == NO_TEAM} == {
            e for e in eligible if not inside[e].service
        }
    if definition.formation is Formation.TOPIC:
        per_topic = Counter()
        for group in result.groups:
            assert all(m in joined[group.cohort] for m in group.members)
            assert group.weekday == definition.settings.weekday
            per_topic[group.cohort] += len(group.members)
        assert all(n >= definition.minimum_to_meet for n in per_topic.values())


@PROPERTY
@given(rows=roster_st, definition=definition_st())
def test_groups_follow_the_programme_rules(
    rows: list[tuple[str, str, frozenset[int], bool, bool, set[str], float]], definition: ProgrammeDefinition
) -> None:
    people, joined = build(rows)
    opted_in = set().union(*joined.values()) if joined else set()
    inside = members(definition, people, opted_in)
    result = form_groups(definition, inside, staff_facilitators=people, externals=EXTERNALS, joined=joined)
    check(definition, people, joined, result)
    # Stable: forming again from the result changes nobody's group.
    again = form_groups(
        definition,
        inside,
        staff_facilitators=people,
        externals=EXTERNALS,
        joined=joined,
        previous=result.groups,
    )
    check(definition, people, joined, again)
    assert {g.id: g.members for g in again.groups} == {g.id: g.members for g in result.groups}


@PROPERTY
@given(rows=roster_st)
def test_the_legacy_programme_allocates_exactly_as_v1(
    rows: list[tuple[str, str, frozenset[int], bool, bool, set[str], float]],
) -> None:
    people, _ = build(rows)
    legacy = legacy_programme(ProgrammeSettings(max_group_size=5))
    ours = form_groups(legacy, members(legacy, people), staff_facilitators=people)
    assert ours == allocate_groups(people, legacy.settings)


@PROPERTY
@given(rows=roster_st, definition=definition_st())
def test_pairs_only_pair_members(
    rows: list[tuple[str, str, frozenset[int], bool, bool, set[str], float]], definition: ProgrammeDefinition
) -> None:
    people, joined = build(rows)
    inside = members(definition, people, set().union(*joined.values()) if joined else set())
    round_ = rotate_pairs(inside, [], TODAY, definition.settings)
    paired = [e for pair in round_.pairs for e in pair.peers]
    assert len(paired) == len(set(paired))
    assert set(paired) | {u.email for u in round_.unpaired} == {p.email for p in inside}


def test_a_pairs_only_programme_forms_no_groups() -> None:
    pairs = ProgrammeDefinition("peers", "Peers", kinds=frozenset({Kind.PAIRS}))
    people = [Person(f"p{i}@x.org", "P", "Coach") for i in range(6)]
    assert form_groups(pairs, people) == Allocation((), ())


def team(name: str, count: int, start: int) -> list[Person]:
    return [Person(f"{name.lower()}{start + i}@x.org", "P", "Coach", service=name) for i in range(count)]


def test_existing_teams_stay_together() -> None:
    definition = ProgrammeDefinition(
        "practice",
        "Reflective practice",
        formation=Formation.TEAM,
        facilitation=Facilitation.EXTERNAL,
        settings=ProgrammeSettings(max_group_size=8, min_group_size=3),
    )
    people = [
        *team("North", 6, 0),
        *team("South", 11, 0),
        *team("Central", 3, 0),
        Person("lone@x.org", "L", "C"),
    ]
    result = form_groups(definition, people, externals=EXTERNALS)
    by_cohort = defaultdict(list)
    for group in result.groups:
        by_cohort[group.cohort].append(sorted(group.members))
        assert {m.split("@")[0].rstrip("0123456789") for m in group.members} == {group.cohort.lower()}
    assert [len(g) for g in by_cohort["North"]] == [6] and [len(g) for g in by_cohort["Central"]] == [3]
    assert sorted(len(g) for g in by_cohort["South"]) == [5, 6]  # too big for one group: split evenly
    assert [(u.email, u.reason) for u in result.unplaced] == [("lone@x.org", NO_TEAM)]
    assert {g.facilitator for g in result.groups} - {None} <= {e.email for e in EXTERNALS}
    assert result.facilitators_needed == {THU: 1}  # four groups on Thursday, three externals


def test_a_gathering_meets_once_it_has_its_minimum() -> None:
    definition = ProgrammeDefinition(
        "gatherings",
        "Gatherings",
        membership=Membership(MembershipMode.OPT_IN),
        formation=Formation.TOPIC,
        topics=("Bereavement", "Carers"),
        minimum_to_meet=3,
        facilitation=Facilitation.ROTATING,
    )
    people = [Person(f"p{i}@x.org", "P", "Coach", working_days=frozenset({MON})) for i in range(5)]
    joined = {
        "Bereavement": {"p0@x.org", "p1@x.org"},
        "Carers": {"p2@x.org", "p3@x.org", "p4@x.org", "p0@x.org"},
    }
    first = form_groups(definition, people, joined=joined)
    (carers,) = first.groups
    assert carers.cohort == "Carers" and carers.facilitator is None and carers.weekday == THU
    # p0 joined both; Bereavement (first in the programme's order) cannot meet yet, so p0 is in Carers.
    assert carers.members == ("p0@x.org", "p2@x.org", "p3@x.org", "p4@x.org")
    assert [(u.email, u.reason) for u in first.unplaced] == [
        ("p1@x.org", 'the "Bereavement" gathering meets once 3 have joined (2 so far)')
    ]
    joined["Bereavement"] |= {"p3@x.org"}
    joined["Carers"] -= {"p0@x.org", "p3@x.org"}
    # p0 and p3 switched to Bereavement, which now meets; Carers is down to 2 and waits.
    second = form_groups(definition, people, joined=joined, previous=first.groups)
    assert [(g.cohort, g.members) for g in second.groups] == [
        ("Bereavement", ("p0@x.org", "p1@x.org", "p3@x.org"))
    ]
    assert second.groups[0].id != carers.id
    assert {u.email for u in second.unplaced} == {"p2@x.org", "p4@x.org"}
