"""Every Python logger of the process at DEBUG into one handler, to check what the process would log.

Each record is kept as its formatted line (exception text and stack included) and the repr of its
raw args, so a secret passed lazily as an argument is caught too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[tuple[int, str, str]] = []  # (level, logger name, line and args)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # The formatted line, exception text and stack included, and the raw args (a lazy repr).
        line, args = self.format(record), repr(record.args)
        self.lines += (line, args)
        self.records.append((record.levelno, record.name, f"{line}\n{args}"))


@contextlib.contextmanager
def every_logger_at_debug() -> Iterator[_Records]:
    """Every logger (existing and new) at DEBUG into one handler; restored afterwards."""
    handler = _Records()
    root = logging.getLogger()
    saved: dict[logging.Logger, tuple[int, list[logging.Handler]]] = {}

    def open_up(logger: logging.Logger) -> None:
        if logger in saved:
            return
        saved[logger] = (logger.level, list(logger.handlers))
        logger.setLevel(logging.DEBUG)
        if logger is root or not logger.propagate:
            logger.addHandler(handler)

    open_up(root)
    manager = logging.Logger.manager
    old_disable = manager.disable
    logging.disable(logging.NOTSET)

    def sweep() -> None:
        for logger in list(manager.loggerDict.values()):
            if isinstance(logger, logging.Logger):
                open_up(logger)

    sweep()
    try:
        yield handler
        sweep()  # loggers created during the run were at DEBUG through the root anyway
    finally:
        for logger, (level, handlers) in saved.items():
            logger.setLevel(level)
            if handler in logger.handlers and handler not in handlers:
                logger.removeHandler(handler)
        logging.disable(old_disable)
