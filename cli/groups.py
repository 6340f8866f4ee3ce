"""`reflect groups allocate` and `reflect groups show`: reflection groups."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from cli.common import Commands, date_arg, open_root, print_json
from programme.model import Allocation, weekday_name
from programme.programmes import LEGACY_ID
from repositories.groups import unplaced_to_doc
from service.programme_service import ProgrammeService


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`groups allocate` and `groups show`."""
    groups = commands.add_parser("groups", help="reflection groups").add_subparsers(
        dest="action", required=True
    )
    allocate = groups.add_parser("allocate", parents=[data], help="allocate (or re-allocate) groups")
    allocate.add_argument("--today", type=date_arg, help="date of the allocation (default: today)")
    _programme_argument(allocate, "allocate only this programme (default: every programme with groups)")
    allocate.set_defaults(handler=allocate_groups)
    show = groups.add_parser("show", parents=[data], help="show the current groups")
    _programme_argument(show, "show only this programme's groups (default: every programme's)")
    show.set_defaults(handler=show_groups)


def _programme_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    # Unlike cli.common.add_programme_argument, leaving it out means every programme, never ambiguous.
    parser.add_argument("--programme", metavar="ID", help=help_text)


def allocations_json(
    allocations: Mapping[str, Allocation], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The `groups allocate|show --json` document: every group and unplaced entry names its programme;
    `facilitators_needed` adds up the programmes', `programmes` has each programme's own."""
    needed: dict[int, int] = {}
    for allocation in allocations.values():
        for day, n in allocation.facilitators_needed.items():
            needed[day] = needed.get(day, 0) + n
    return {
        "groups": [
            {
                "id": g.id,
                "name": g.name,
                "weekday": weekday_name(g.weekday),
                "facilitator": g.facilitator,
                "cohort": g.cohort,
                "members": list(g.members),
                "programme": g.programme,
            }
            for allocation in allocations.values()
            for g in allocation.groups
        ],
        "unplaced": [
            {**unplaced_to_doc(u), "programme": programme}
            for programme, allocation in allocations.items()
            for u in allocation.unplaced
        ],
        "facilitators_needed": {weekday_name(d): n for d, n in sorted(needed.items())},
        "programmes": [
            {
                "id": programme,
                "name": (names or {}).get(programme, programme),
                "groups": len(allocation.groups),
                "unplaced": len(allocation.unplaced),
                "facilitators_needed": {
                    weekday_name(d): n for d, n in sorted(allocation.facilitators_needed.items())
                },
            }
            for programme, allocation in allocations.items()
        ],
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


def print_allocations(
    allocations: Mapping[str, Allocation], names: Mapping[str, str], left: frozenset[str] = frozenset()
) -> None:
    """Each programme's allocation as text; a deployment of one programme prints exactly as v1."""
    if len(allocations) == 1 and set(allocations) == {LEGACY_ID}:
        print_allocation(allocations[LEGACY_ID], left)
        return
    for programme, allocation in allocations.items():
        print(f"== {names.get(programme, programme)} ({programme})")
        print_allocation(allocation, left)


def _names(service: ProgrammeService) -> dict[str, str]:
    names = {d.id: d.name for d in service.programmes}
    for group in service.groups():
        names.setdefault(group.programme, f"{group.programme}: no longer in the settings")
    return names


def allocate_groups(args: argparse.Namespace) -> int:
    """Allocate (or re-allocate) the groups."""
    with open_root(args) as root:
        service = root.services.programme
        now = datetime.now(UTC)
        if args.today:
            now = datetime.combine(date.fromisoformat(args.today), time(0, 0), tzinfo=service.settings.zone)
        names = _names(service)
        allocations = service.allocate_each(now, args.programme)
    print_json(allocations_json(allocations, names)) if args.json else print_allocations(allocations, names)
    return 0


def show_groups(args: argparse.Namespace) -> int:
    """The current groups."""
    with open_root(args) as root:
        service = root.services.programme
        names = _names(service)
        if args.programme is not None:
            programmes = [service.groups_programme(args.programme).id]
        else:
            # Every programme with groups, then any whose groups outlived its settings (until allocated).
            defined = [d.id for d in service.programmes if d.has_groups]
            programmes = defined + sorted({g.programme for g in service.groups()} - set(defined))
        allocations = {p: service.groups_repo.allocation(p) for p in programmes}
        if args.json:
            print_json(allocations_json(allocations, names))
        else:
            print_allocations(allocations, names, leavers(service))
    return 0
