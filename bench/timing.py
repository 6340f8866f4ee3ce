"""Shared measurement for the benchmarks: best wall time of several runs and peak traced memory."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def measure(run: Callable[[], T], runs: int) -> tuple[float, float, T]:
    """Best wall time of `runs` runs, and peak traced memory (MiB) of one more."""
    best = float("inf")
    result = run()
    for _ in range(runs):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20, result
