"""Progress bars for long coordinator commands: counts, rate and an estimate, on a terminal only.

Nothing is drawn when stderr is not a terminal (cron, pipes, CI) or with --json, so scripted
output stays exactly as documented.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

Progress = Callable[[int, int], None]  # (done, total)


def _silent(done: int, total: int) -> None:
    return None


@contextmanager
def progress_bar(description: str, *, enabled: bool = True, unit: str = "it") -> Iterator[Progress]:
    """A `progress(done, total)` callback drawing one bar on stderr while the block runs."""
    if not (enabled and sys.stderr.isatty()):
        yield _silent
        return
    # A terminal that reports no size (a bare pty says 0 x 0) falls back to $COLUMNS/$LINES or
    # 80 x 24; tqdm itself would hide a bar on a terminal of 0 rows.
    size = shutil.get_terminal_size()
    bar = tqdm(desc=description, unit=unit, file=sys.stderr, ncols=size.columns, nrows=size.lines, leave=True)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
