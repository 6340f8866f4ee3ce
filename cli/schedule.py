"""`reflect schedule`: the coming sessions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

from cli.common import Commands, month_arg, months_arg, open_root, print_json, today
from programme.model import Session


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`schedule [--months N] [--from YYYY-MM]`."""
    sched = commands.add_parser("schedule", parents=[data], help="list the coming sessions")
    sched.add_argument("--months", type=months_arg, default=3, help="how many months (default 3)")
    sched.add_argument(
        "--from", dest="start", type=month_arg, help="first month, YYYY-MM (default: this month)"
    )
    sched.set_defaults(handler=show_schedule, today=None)


def sessions_json(sessions: Sequence[Session]) -> dict[str, Any]:
    """The `schedule --json` document: ISO 8601 datetimes with their UTC offset."""
    return {
        "sessions": [
            {"group": s.group_id, "start": s.start.isoformat(), "end": s.end.isoformat()} for s in sessions
        ]
    }


def show_schedule(args: argparse.Namespace) -> int:
    """Each group's sessions in the coming months."""
    with open_root(args) as root:
        service = root.services.programme
        first = date.fromisoformat(f"{args.start}-01") if args.start else today(args, root)
        sessions = service.schedule(first, args.months)
        if args.json:
            print_json(sessions_json(sessions))
            return 0
        names = {g.id: g.name for g in service.current_allocation().groups}
    for s in sessions:
        print(f"{s.start:%a %d %b %Y %H:%M}-{s.end:%H:%M %Z}  {names.get(s.group_id, s.group_id)}")
    return 0
