"""Rotating facilitation: who keeps time at a gathering is fair, deterministic and survives joiners."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from programme.reports import month_range
from programme.timekeeping import timekeeper

MONTHS = month_range("2027-12", 24)


def rotate(group: str, months: tuple[str, ...], present: dict[str, list[str]]) -> dict[str, str]:
    history: dict[str, str] = {}
    for month in months:
        chosen = timekeeper(group, month, present[month], history)
        if chosen is not None:
            history[month] = chosen
    return history


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 8), group=st.text(min_size=1, max_size=12))
def test_everyone_has_a_turn_before_anyone_has_a_second(size: int, group: str) -> None:
    members = [f"m{i}@x.org" for i in range(size)]
    history = rotate(group, MONTHS, {m: members for m in MONTHS})
    turns = Counter(history.values())
    assert max(turns.values()) - min(turns[m] for m in members) <= 1
    for start in range(0, len(MONTHS) - size + 1, size):
        assert len({history[m] for m in MONTHS[start : start + size]}) == size


@settings(max_examples=150, deadline=None)
@given(
    present=st.lists(st.sets(st.sampled_from([f"m{i}@x.org" for i in range(6)])), min_size=24, max_size=24),
)
def test_only_present_people_keep_time_and_it_is_deterministic(present: list[set[str]]) -> None:
    by_month = {m: sorted(p) for m, p in zip(MONTHS, present, strict=True)}
    history = rotate("g", MONTHS, by_month)
    assert all(history[m] in by_month[m] for m in history)
    assert set(history) == {m for m in MONTHS if by_month[m]}
    assert rotate("g", MONTHS, {m: list(reversed(p)) for m, p in by_month.items()}) == history


def test_asking_again_gives_the_same_answer_and_a_joiner_does_not_reshuffle() -> None:
    members = ["ann@x.org", "bob@x.org", "cat@x.org"]
    history = rotate("carers-1", MONTHS[:3], {m: members for m in MONTHS[:3]})
    assert sorted(history.values()) == members
    assert timekeeper("carers-1", MONTHS[1], members, history) == history[MONTHS[1]]
    # A joiner has had no turn, so takes the next one; then the old order carries on unchanged.
    joined = [*members, "dan@x.org"]
    later = rotate("carers-1", MONTHS[:7], {m: members if m in MONTHS[:3] else joined for m in MONTHS[:7]})
    assert later[MONTHS[3]] == "dan@x.org"
    assert [later[m] for m in MONTHS[4:7]] == [history[m] for m in MONTHS[:3]]
    assert timekeeper("carers-1", MONTHS[0], [], {}) is None
