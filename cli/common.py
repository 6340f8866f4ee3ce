"""What every command group shares: the handler shape, the shared options, argument types, JSON output.

A handler takes the parsed arguments and returns the exit status. Errors it does not handle itself
go to the one table in cli/main.py (ERRORS), which prints them and picks the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from app import Wiring, wiring
from programme.programmes import ProgrammeDefinition
from service.services import system_clock
from support.files import replace_file

Handler = Callable[[argparse.Namespace], int]
# What `add_subparsers()` returns (argparse does not export the class).
Commands = Any


def open_root(
    args: argparse.Namespace, clock: Callable[[], datetime] = system_clock
) -> AbstractContextManager[Wiring]:
    """The programme of `--db` and `--settings`, built by the composition root; closed on exit."""
    return wiring(args.db, args.settings, clock)


class OutputError(Exception):
    """A file a command writes (report CSV, charts) could not be written; cli/main.py's ERRORS prints it."""


def write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file beside `path`: no half-written file is ever left."""
    try:
        replace_file(path, lambda temporary: write(str(temporary)))
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error


def print_json(data: Any) -> None:
    """Indented JSON on stdout: the --json output of the data commands."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def today(args: argparse.Namespace, root: Wiring) -> date:
    """--today, else today in the programme's time zone."""
    if getattr(args, "today", None):
        return date.fromisoformat(args.today)
    return datetime.now(UTC).astimezone(root.settings.programme.zone).date()


def add_programme_argument(parser: argparse.ArgumentParser) -> None:
    """`--programme ID`: which programme a command acts on (optional when there is only one)."""
    parser.add_argument(
        "--programme",
        metavar="ID",
        help="the programme's id from the settings (needed when there are several)",
    )


def chosen_programme(args: argparse.Namespace, root: Wiring) -> ProgrammeDefinition:
    """The programme `--programme` names, or the only one (ProgrammeChoiceError when ambiguous)."""
    return root.services.programme.choose_programme(getattr(args, "programme", None))


def month_arg(text: str) -> str:
    """A YYYY-MM argument."""
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month like 2027-03, got {text!r}") from None
    return text


def date_arg(text: str) -> str:
    """A YYYY-MM-DD argument."""
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-23, got {text!r}") from None
    return text


def datetime_arg(text: str) -> datetime:
    """An ISO 8601 datetime argument with its UTC offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected an ISO datetime with offset like 2026-12-01T09:00+00:00, got {text!r}"
        )
    return moment


def months_arg(text: str) -> int:
    """A number of months from 1 to 120."""
    if not text.isdigit() or not 1 <= int(text) <= 120:
        raise argparse.ArgumentTypeError(f"expected a number of months from 1 to 120, got {text!r}")
    return int(text)
