"""`reflect schedule`: the coming sessions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

from cli.common import (
    Commands,
    add_programme_argument,
    chosen_programme,
    month_arg,
    months_arg,
    open_root,
    print_json,
    today,
)
from programme.model import Group, Session


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`schedule [--months N] [--from YYYY-MM] [--programme ID]`."""
    sched = commands.add_parser("schedule", parents=[data], help="list the coming sessions")
    sched.add_argument("--months", type=months_arg, default=3, help="how many months (default 3)")
    sched.add_argument(
        "--from", dest="start", type=month_arg, help="first month, YYYY-MM (default: this month)"
    )
    add_programme_argument(sched)
    sched.set_defaults(handler=show_schedule, today=None)


def sessions_json(programme: str, sessions: Sequence[Session], places: dict[str, str]) -> dict[str, Any]:
    """The `schedule --json` document: ISO 8601 datetimes with their UTC offset, and the programme."""
    return {
        "programme": programme,
        "sessions": [
            {
                "group": s.group_id,
                "programme": programme,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "place": places.get(s.group_id) or None,
            }
            for s in sessions
        ],
    }


def show_schedule(args: argparse.Namespace) -> int:
    """Each group's sessions of a programme in the coming months (a clash with another programme
    moves a session to a fallback day, as the invites will)."""
    with open_root(args) as root:
        definition = chosen_programme(args, root)
        first = date.fromisoformat(f"{args.start}-01") if args.start else today(args, root)
        sessions = root.services.sessions.schedule(first, args.months, definition.id)
        groups: dict[str, Group] = {
            g.id: g for g in root.services.programme.groups() if g.programme == definition.id
        }
        places = {group_id: definition.venue.place or "" for group_id in groups}
        if args.json:
            print_json(sessions_json(definition.id, sessions, places))
            return 0
    print(f"{definition.name} ({definition.id})")
    where = f"  at {definition.venue.place}" if definition.venue.place else ""
    for s in sessions:
        name = groups[s.group_id].name if s.group_id in groups else s.group_id
        print(f"{s.start:%a %d %b %Y %H:%M}-{s.end:%H:%M %Z}  {name}{where}")
    return 0
