"""`reflect groups allocate` and `reflect groups show`: reflection groups."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time
from typing import Any

from cli.common import Commands, date_arg, open_root, print_json
from programme.model import Allocation, weekday_name
from repositories.groups import unplaced_to_doc
from service.programme_service import ProgrammeService


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`groups allocate` and `groups show`."""
    groups = commands.add_parser("groups", help="reflection groups").add_subparsers(
        dest="action", required=True
    )
    allocate = groups.add_parser("allocate", parents=[data], help="allocate (or re-allocate) groups")
    allocate.add_argument("--today", type=date_arg, help="date of the allocation (default: today)")
    allocate.set_defaults(handler=allocate_groups)
    groups.add_parser("show", parents=[data], help="show the current groups").set_defaults(
        handler=show_groups
    )


def allocation_json(allocation: Allocation) -> dict[str, Any]:
    """The `groups allocate|show --json` document of PRODUCT.md."""
    return {
        "groups": [
            {
                "id": g.id,
                "name": g.name,
                "weekday": weekday_name(g.weekday),
                "facilitator": g.facilitator,
                "cohort": g.cohort,
                "members": list(g.members),
            }
            for g in allocation.groups
        ],
        "unplaced": [unplaced_to_doc(u) for u in allocation.unplaced],
        "facilitators_needed": {
            weekday_name(d): n for d, n in sorted(allocation.facilitators_needed.items())
        },
    }


def marked_left(email: str, left: frozenset[str]) -> str:
    """The email, marked when the person has left."""
    # Leavers stay in groups and pairs until the next allocation or rotation, but get no mail.
    return f"{email} (left)" if email in left else email


def leavers(service: ProgrammeService) -> frozenset[str]:
    """Emails of the people who have left."""
    return frozenset(email for email, person in service.people().items() if not person.active)


def print_allocation(allocation: Allocation, left: frozenset[str] = frozenset()) -> None:
    """The groups as text: each group, its members, the unplaced and the facilitators still needed."""
    for g in allocation.groups:
        lead = marked_left(g.facilitator, left) if g.facilitator else "rotating facilitation"
        print(f"{g.id}  {g.name}  ({len(g.members)} members, {lead})")
        for member in g.members:
            print(f"    {marked_left(member, left)}")
    for entry in allocation.unplaced:
        print(f"unplaced: {entry.email}: {entry.reason}")
    for day, needed in sorted(allocation.facilitators_needed.items()):
        print(f"{weekday_name(day)} needs {needed} more facilitator(s)")
    print(f"{len(allocation.groups)} groups, {len(allocation.unplaced)} unplaced")


def allocate_groups(args: argparse.Namespace) -> int:
    """Allocate (or re-allocate) the groups."""
    with open_root(args) as root:
        service = root.services.programme
        now = datetime.now(UTC)
        if args.today:
            now = datetime.combine(date.fromisoformat(args.today), time(0, 0), tzinfo=service.settings.zone)
        allocation = service.allocate(now)
    print_json(allocation_json(allocation)) if args.json else print_allocation(allocation)
    return 0


def show_groups(args: argparse.Namespace) -> int:
    """The current groups."""
    with open_root(args) as root:
        service = root.services.programme
        allocation = service.current_allocation()
        print_json(allocation_json(allocation)) if args.json else print_allocation(
            allocation, leavers(service)
        )
    return 0
