"""The process's log format: one line per record, exceptions by class only.

Exception messages and tracebacks quote data (a flag someone ticked, an email, a request body),
so a record that carries one, from our code or a library's, is written with the exception's
class and nothing else. Our own code logs `type(error).__name__` anyway; this is the safety net.
"""

from __future__ import annotations

import logging

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ClassOnlyFormatter(logging.Formatter):
    """A Formatter that writes an exception as its class name and drops stack information."""

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 - logging's name
        kind = ei[0]
        return f"[exception {kind.__name__ if kind is not None else 'unknown'}, details withheld]"

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return ""


def configure_logging(level: int = logging.INFO) -> None:
    """The root logger writes ClassOnlyFormatter lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(ClassOnlyFormatter(LINE_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
