"""Time group allocation, fresh and after 5% churn, on synthetic rosters of 1k, 5k and 20k staff.

Run from the repository root: `.venv/bin/python -m bench.allocation` (add sizes to override,
e.g. `-m bench.allocation 20000`). Wall time is the best of three runs; peak memory is measured
in a separate run under tracemalloc, which slows the code it traces.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from functools import partial

from bench.roster_gen import ROLES, TODAY, synthetic_roster
from bench.timing import measure
from programme.allocation import allocate_groups
from programme.model import Allocation, Person
from programme.settings import ProgrammeSettings

RUNS = 3


def churn(people: list[Person], seed: int) -> list[Person]:
    """5% churn: 2% leave, 2% join, 1% change role or working days."""
    rng = random.Random(seed)
    changed: list[Person] = []
    for person in people:
        draw = rng.random()
        if draw < 0.02:
            changed.append(replace(person, left_on=TODAY))
        elif draw < 0.025:
            changed.append(replace(person, role=rng.choice(ROLES)[0]))
        elif draw < 0.03:
            changed.append(replace(person, working_days=frozenset(rng.sample(range(5), 2))))
        else:
            changed.append(person)
    joiners = synthetic_roster(len(people) // 50, seed + 1)
    return changed + [replace(p, email=f"new.{p.email}") for p in joiners]


def describe(result: Allocation) -> str:
    facilitated = sum(g.facilitator is not None for g in result.groups)
    return (
        f"{len(result.groups)} groups, {facilitated} facilitated, "
        f"{len(result.unplaced)} unplaced, needed {sum(result.facilitators_needed.values())}"
    )


def main(sizes: list[int]) -> None:
    settings = ProgrammeSettings()
    print(f"{'staff':>6} {'run':<8} {'wall s':>7} {'ms/1k':>6} {'peak MiB':>9}  outcome")
    for n in sizes:
        people = synthetic_roster(n, seed=n)
        seconds, peak, fresh = measure(partial(allocate_groups, people, settings), RUNS)
        print(
            f"{n:>6} {'fresh':<8} {seconds:>7.3f} {seconds * 1e6 / n:>6.1f} {peak:>9.1f}  {describe(fresh)}"
        )

        after = churn(people, seed=n)
        seconds, peak, again = measure(partial(allocate_groups, after, settings, fresh.groups), RUNS)
        before = {m: g.id for g in fresh.groups for m in g.members}
        now = {m: g.id for g in again.groups for m in g.members}
        stayed = sum(now.get(m) == gid for m, gid in before.items()) / max(1, len(before))
        print(
            f"{n:>6} {'churn 5%':<8} {seconds:>7.3f} {seconds * 1e6 / len(after):>6.1f} {peak:>9.1f}  "
            f"{describe(again)}, {stayed:.1%} of members in the same group"
        )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1_000, 5_000, 20_000])
