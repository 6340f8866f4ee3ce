"""`reflect gatherings add|remove|list`: people in opt-in gatherings, by the coordinators.

Joins take effect at the next `reflect groups allocate`, which forms the topic groups from them.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from cli.common import Commands, add_programme_argument, open_root, print_json


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`gatherings add`, `gatherings remove` and `gatherings list`."""
    gatherings = commands.add_parser("gatherings", help="opt-in gatherings (topics)").add_subparsers(
        dest="action", required=True
    )
    add = gatherings.add_parser("add", parents=[data], help="join people to a gathering")
    add_programme_argument(add)
    add.add_argument("--topic", required=True, help="the gathering's topic, as the settings list it")
    add.add_argument("emails", nargs="+", metavar="EMAIL", help="people on the roster")
    add.set_defaults(handler=add_people)
    remove = gatherings.add_parser(
        "remove", parents=[data], help="take people out of a programme's gathering"
    )
    add_programme_argument(remove)
    remove.add_argument("emails", nargs="+", metavar="EMAIL")
    remove.set_defaults(handler=remove_people)
    listing = gatherings.add_parser("list", parents=[data], help="each gathering and who joined it")
    add_programme_argument(listing)
    listing.set_defaults(handler=list_gatherings)


_AT_ALLOCATION = "they are placed in its group at the next `reflect groups allocate`"


def add_people(args: argparse.Namespace) -> int:
    """Join people to a gathering (all or nothing: everyone must be active on the roster)."""
    with open_root(args) as root:
        topic, changed = root.services.gatherings.add(
            args.programme, args.topic, args.emails, datetime.now(UTC)
        )
    if args.json:
        print_json({"topic": topic, "joined": changed})
    else:
        print(f"{len(changed)} joined {topic}" + (f"; {_AT_ALLOCATION}" if changed else ""))
    return 0


def remove_people(args: argparse.Namespace) -> int:
    """Take people out of their gathering in a programme."""
    with open_root(args) as root:
        removed = root.services.gatherings.remove(args.programme, args.emails)
    if args.json:
        print_json({"left": removed})
    else:
        print(f"{len(removed)} left their gathering; the next `reflect groups allocate` takes them out")
    return 0


def list_gatherings(args: argparse.Namespace) -> int:
    """Each gathering, whether it meets yet, and who joined it."""
    with open_root(args) as root:
        rows = root.services.gatherings.members(args.programme)
    if args.json:
        print_json(
            [
                {
                    "programme": row.programme_id,
                    "topic": row.topic,
                    "minimum_to_meet": row.minimum,
                    "meets": len(row.emails) >= row.minimum,
                    "members": list(row.emails),
                }
                for row in rows
            ]
        )
        return 0
    for row in rows:
        meets = "meets" if len(row.emails) >= row.minimum else f"meets once {row.minimum} have joined"
        print(f"{row.programme_id}  {row.topic}  ({len(row.emails)} joined, {meets})")
        for email in row.emails:
            print(f"    {email}")
    return 0
