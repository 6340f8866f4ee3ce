"""The `reflect` command line: one sub-command per coordinator task, one handler each.

Each command group registers its sub-commands in its own module (cli/roster.py, cli/groups.py, ...)
and every sub-command sets `handler`, a function of the parsed arguments returning the exit status.
Domain errors a handler lets through are printed and mapped to an exit status here, in ERRORS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cli import facilitators, groups, jobs, manifest, pairs, person, report, roster, schedule, serve
from cli.common import Handler, OutputError
from programme.errors import DeliveryBusyError, FacilitatorsError, ProgrammeError, RosterError
from store import StoreError


def _roster_problems(error: Exception, args: argparse.Namespace) -> str:
    problems = error.problems if isinstance(error, RosterError | FacilitatorsError) else []
    source = Path(args.file) if getattr(args, "file", None) else "roster"
    return "\n".join([*problems, f"{source}: {len(problems)} problem(s); nothing was imported"])


def _plain(error: Exception, args: argparse.Namespace) -> str:
    return f"reflect: {error}"


def _nothing_changed(error: Exception, args: argparse.Namespace) -> str:
    return f"reflect: {error}; nothing was changed"


# What a handler's uncaught error prints (stderr) and the exit status, first match wins: a subclass
# goes before its base. Anything not listed is a bug and ends with a traceback.
ERRORS: tuple[tuple[type[Exception], int, Callable[[Exception, argparse.Namespace], str]], ...] = (
    (RosterError, 1, _roster_problems),
    (FacilitatorsError, 1, _roster_problems),
    (DeliveryBusyError, 1, _nothing_changed),
    (ProgrammeError, 1, _plain),
    (StoreError, 1, _plain),
    (OutputError, 1, _plain),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per coordinator task."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="data file (default: $REFLECT_DB, else ./data/reflect.json)")
    common.add_argument("--settings", help="settings file (default: $REFLECT_SETTINGS, else ./reflect.toml)")
    data = argparse.ArgumentParser(add_help=False, parents=[common])
    data.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(prog="reflect", description="Run a peer reflection programme.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    roster.register(commands, data)
    facilitators.register(commands, data)
    groups.register(commands, data)
    pairs.register(commands, data)
    schedule.register(commands, data)
    report.register(commands, data)
    person.register(commands, data)
    manifest.register(commands, common)
    jobs.register(commands, data)
    serve.register(commands, common)
    return parser


def exit_status(error: Exception, args: argparse.Namespace) -> int | None:
    """Print a domain error as ERRORS says and return its exit status; None if it is not one."""
    for kind, status, message in ERRORS:
        if isinstance(error, kind):
            print(message(error, args), file=sys.stderr)
            return status
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `reflect` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except Exception as error:
        status = exit_status(error, args)
        if status is None:
            raise
        return status


if __name__ == "__main__":
    sys.exit(main())
