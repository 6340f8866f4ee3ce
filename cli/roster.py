"""`reflect roster import FILE` and `reflect roster list`: the staff roster."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from cli.common import Commands, date_arg, open_root, print_json
from support.progress import progress_bar


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`roster import` and `roster list`."""
    roster = commands.add_parser("roster", help="staff roster").add_subparsers(dest="action", required=True)
    imp = roster.add_parser("import", parents=[data], help="import the full roster from an HR CSV export")
    imp.add_argument("file", help="CSV file")
    imp.add_argument("--today", type=date_arg, help="date to record leavers on (default: today)")
    imp.set_defaults(handler=import_roster)
    lst = roster.add_parser("list", parents=[data], help="list people on the roster")
    lst.add_argument("--all", action="store_true", help="include people who have left")
    lst.set_defaults(handler=list_roster)


def import_roster(args: argparse.Namespace) -> int:
    """Import the whole roster; a file with problems imports nothing (RosterError, cli/main.py)."""
    with open_root(args) as root:
        path = Path(args.file)
        try:
            raw = path.read_bytes()
        except OSError as error:
            print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
            return 1
        now = datetime.now(UTC)
        if args.today:
            now = datetime.combine(date.fromisoformat(args.today), now.timetz())
        with progress_bar("importing", enabled=not args.json, unit="person") as progress:
            change = root.services.programme.import_roster(raw, str(path), now, progress=progress)
    if args.json:
        print_json(
            {
                "added": list(change.added),
                "updated": list(change.updated),
                "left": list(change.left),
                "unchanged": change.unchanged,
            }
        )
    else:
        print(
            f"Imported {path}: {len(change.added)} added, {len(change.updated)} updated, "
            f"{len(change.left)} left, {change.unchanged} unchanged"
        )
    return 0


def list_roster(args: argparse.Namespace) -> int:
    """Who is on the roster (with --all, leavers too)."""
    with open_root(args) as root:
        people = sorted(root.services.programme.people().values(), key=lambda p: p.email)
    if not args.all:
        people = [p for p in people if p.active]
    if args.json:
        print_json(
            {
                "people": [
                    {"email": p.email, "name": p.name, "role": p.role, "left_on": p.left_on} for p in people
                ]
            }
        )
        return 0
    for p in people:
        left = f"  left {p.left_on.isoformat()}" if p.left_on else ""
        print(f"{p.email}  {p.name}  {p.role}{left}")
    print(f"{len(people)} people")
    return 0
