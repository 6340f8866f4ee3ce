"""Cost of one durable write as history grows: our Store's PartitionedLog vs plain TinyDB.

    .venv/bin/python bench/store_writes.py [--quick]

For each size N, N answers are stored first: (a) ours spreads them over 12 monthly periods of a
PartitionedLog (8 shards) and writes go to the current month; (b) plain TinyDB (default
JSONStorage, stdlib json, in-place rewrite) holds them in one table, built with one
insert_multiple. Then we time single writes: a new record, and a replacement of an existing
one. Prints median ms per write and the ratio plain/ours, measured in this one process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb import TinyDB  # the baseline; the service itself reaches tinydb only through store/

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store import Store  # noqa: E402

PERIODS = [f"2026-{month:02d}" for month in range(1, 13)]
CURRENT = PERIODS[-1]
SIZES = [1_000, 10_000, 100_000, 250_000]
QUICK_SIZES = [1_000, 5_000, 20_000]
OUR_WRITES = 30


def answer(i: int, period: str) -> dict[str, Any]:
    """One participant's answer to a reflection question (~250 bytes of JSON)."""
    return {
        "programme": "spring-2026",
        "period": period,
        "person": f"person{i % 20_000}@example.org",
        "group": f"g{i % 700}",
        "question": f"q{i % 5}",
        "answer": "I tried the listening exercise with my pair and it went better than expected.",
        "at": f"{period}-15T10:{i % 60:02d}:00+00:00",
    }


def plain_writes(n: int) -> int:
    """Plain TinyDB rewrites the whole file per write: at 100k+ records each takes seconds."""
    return 30 if n <= 1_000 else 10 if n <= 20_000 else 3 if n <= 100_000 else 2


def median_ms(run: Callable[[int], None], count: int) -> float:
    times = []
    for i in range(count):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_ours(directory: Path, n: int) -> tuple[float, float]:
    with Store(directory / "ours.json") as store:
        answers = store.log("answers")
        per_period = n // len(PERIODS)
        for index, period in enumerate(PERIODS):
            first = index * per_period
            answers.put_many(period, {f"k{i}": answer(i, period) for i in range(first, first + per_period)})
        current_keys = [f"k{i}" for i in range((len(PERIODS) - 1) * per_period, n)]
        rng = random.Random(1)
        insert = median_ms(lambda i: answers.put(CURRENT, f"new{i}", answer(i, CURRENT)), OUR_WRITES)
        update = median_ms(
            lambda i: answers.put(CURRENT, rng.choice(current_keys), answer(i, CURRENT) | {"edited": True}),
            OUR_WRITES,
        )
    return insert, update


def bench_plain(directory: Path, n: int) -> tuple[float, float]:
    with TinyDB(directory / "plain.json") as db:
        table = db.table("answers")
        table.insert_multiple(answer(i, PERIODS[i * len(PERIODS) // n]) for i in range(n))
        writes = plain_writes(n)
        rng = random.Random(1)
        insert = median_ms(lambda i: table.insert(answer(n + i, CURRENT)), writes)
        update = median_ms(
            lambda i: table.update(answer(i, CURRENT) | {"edited": True}, doc_ids=[rng.randrange(1, n + 1)]),
            writes,
        )
    return insert, update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} instead of {SIZES}")
    sizes = QUICK_SIZES if parser.parse_args().quick else SIZES
    print("median ms per durable write; ours = PartitionedLog, 12 periods x 8 shards")
    header = f"{'records':>8} | {'ours insert':>11} {'plain insert':>12} {'ratio':>7} |"
    print(header + f" {'ours update':>11} {'plain update':>12} {'ratio':>7} | plain writes timed")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            ours_insert, ours_update = bench_ours(Path(tmp), n)
            plain_insert, plain_update = bench_plain(Path(tmp), n)
        print(
            f"{n:>8} | {ours_insert:>11.2f} {plain_insert:>12.2f} {plain_insert / ours_insert:>6.0f}x |"
            f" {ours_update:>11.2f} {plain_update:>12.2f} {plain_update / ours_update:>6.0f}x |"
            f" {plain_writes(n)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
