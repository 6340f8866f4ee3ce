"""Time a pairing round at 1k, 5k and 20k staff, and compare its quality with an exact matching.

Run from the repository root: `.venv/bin/python -m bench.pairing` (add sizes to override, e.g.
`-m bench.pairing 20000`; `--quality-only`, `--no-quality`; `--spread` adds a quality run on the same
roster with hours spread evenly over 7.5-40, where ties no longer make the problem easy).

Speed: each size gets a history of three earlier rounds made by rotate_pairs itself, so the timed
round must avoid the partners our own algorithm found nearest before. Wall time is the best of three
runs; peak memory is measured in a separate run under tracemalloc, which slows the code it traces.

Quality: networkx's max_weight_matching (exact, cubic) on the same 1,000 people, with an edge for
every pair our rules allow: not together in an earlier round, and not both in probation (so a
probation person can only pair with someone who gives, exactly as in rotate_pairs). Weights are
BIG - hours difference (in 1/100 h, integers), with maxcardinality=True: the most pairs first, then
the least total difference. An odd person left out by the matching would be a trio in our round;
the roster has 1,000 people and the report says how many trios there were.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from datetime import timedelta
from functools import partial
from itertools import combinations

import networkx as nx

from bench.roster_gen import TODAY, synthetic_roster
from bench.timing import measure
from programme.model import PairRound, Person
from programme.pairing import rotate_pairs
from programme.settings import ProgrammeSettings

RUNS = 3
EARLIER_ROUNDS = 3
QUALITY_SIZE = 1_000
SETTINGS = ProgrammeSettings()


def history_of(people: list[Person], rounds: int) -> list[PairRound]:
    """Earlier rounds six months apart, each made by rotate_pairs from the ones before it."""
    history: list[PairRound] = []
    for back in range(rounds, 0, -1):
        history.append(rotate_pairs(people, history, TODAY - timedelta(days=183 * back), SETTINGS))
    return history


def hours_of(people: list[Person]) -> dict[str, float]:
    default = SETTINGS.default_hours_per_week
    return {p.email: default if p.hours_per_week is None else p.hours_per_week for p in people}


def round_cost(round_: PairRound, hours: dict[str, float]) -> float:
    """Total hours difference: |a - b| for a pair, max - min for a trio."""
    return sum(max(hours[e] for e in p.peers) - min(hours[e] for e in p.peers) for p in round_.pairs)


def describe(round_: PairRound, hours: dict[str, float]) -> str:
    trios = sum(len(p.peers) == 3 for p in round_.pairs)
    cost = round_cost(round_, hours)
    return (
        f"{len(round_.pairs)} pairs ({trios} trios), {len(round_.unpaired)} unpaired, "
        f"total difference {cost:.2f} h ({cost / max(1, len(round_.pairs)):.3f} h per pair)"
    )


def exact_matching(people: list[Person], history: list[PairRound]) -> tuple[int, float]:
    """Size and total hours difference of networkx's exact max-cardinality min-cost matching."""
    hours = hours_of(people)
    receivers = {p.email for p in people if p.in_probation(TODAY)}
    before = {frozenset(two) for r in history for pair in r.pairs for two in combinations(pair.peers, 2)}
    graph = nx.Graph()
    graph.add_nodes_from(hours)
    big = 100_000
    for a, b in combinations(sorted(hours), 2):
        if frozenset((a, b)) not in before and not (a in receivers and b in receivers):
            graph.add_edge(a, b, weight=big - round(abs(hours[a] - hours[b]) * 100))
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return len(matching), sum(abs(hours[a] - hours[b]) for a, b in matching)


def speed(sizes: list[int]) -> None:
    print(f"Speed: one round after {EARLIER_ROUNDS} earlier rounds (best of {RUNS})")
    print(f"{'staff':>6} {'wall s':>7} {'ms/1k':>6} {'peak MiB':>9}  outcome")
    for n in sizes:
        people = synthetic_roster(n, seed=n)
        history = history_of(people, EARLIER_ROUNDS)
        seconds, peak, round_ = measure(partial(rotate_pairs, people, history, TODAY, SETTINGS), RUNS)
        outcome = describe(round_, hours_of(people))
        print(f"{n:>6} {seconds:>7.3f} {seconds * 1e6 / n:>6.1f} {peak:>9.1f}  {outcome}")


def quality(label: str, people: list[Person]) -> None:
    history = history_of(people, EARLIER_ROUNDS)
    hours = hours_of(people)
    start = time.perf_counter()
    round_ = rotate_pairs(people, history, TODAY, SETTINGS)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    size, optimum = exact_matching(people, history)
    exact_s = time.perf_counter() - start
    ours = round_cost(round_, hours)
    above = (ours - optimum) / optimum * 100 if optimum else 0.0
    print(f"Quality, {len(people)} staff, {label}, after {EARLIER_ROUNDS} earlier rounds:")
    print(f"  ours:     {describe(round_, hours)}; {ours_s:.3f} s")
    print(f"  networkx: {size} pairs, total difference {optimum:.2f} h; {exact_s:.1f} s")
    print(f"  ours is {above:.2f}% above the optimum; networkx takes {exact_s / ours_s:.0f}x as long")


def spread_hours(people: list[Person], seed: int) -> list[Person]:
    """The same people with hours spread evenly (to 0.1 h), so hardly anyone ties."""
    rng = random.Random(seed)
    return [replace(p, hours_per_week=round(rng.uniform(7.5, 40.0), 1)) for p in people]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 5_000, 20_000])
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--spread", action="store_true", help="also compare with spread-out hours (~90 s)")
    args = parser.parse_args()
    if not args.quality_only:
        speed(args.sizes)
    if not args.no_quality:
        people = synthetic_roster(QUALITY_SIZE, seed=QUALITY_SIZE)
        quality("realistic hours mix", people)
        if args.spread:
            quality("hours spread over 7.5-40", spread_hours(people, seed=QUALITY_SIZE))


if __name__ == "__main__":
    main()
