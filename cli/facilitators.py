"""`reflect facilitators import FILE` and `reflect facilitators list`: external facilitators, the
people off the staff roster who run groups (README: "Facilitators CSV")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import Commands, open_root, print_json


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`facilitators import` and `facilitators list`."""
    facilitators = commands.add_parser(
        "facilitators", help="external facilitators (people off the staff roster who run groups)"
    ).add_subparsers(dest="action", required=True)
    imp = facilitators.add_parser(
        "import", parents=[data], help="replace the external facilitators with the people in a CSV"
    )
    imp.add_argument("file", help="CSV file (the full list)")
    imp.set_defaults(handler=import_facilitators)
    lst = facilitators.add_parser("list", parents=[data], help="list the external facilitators")
    lst.set_defaults(handler=list_facilitators)


def import_facilitators(args: argparse.Namespace) -> int:
    """Replace the list; a file with problems imports nothing (FacilitatorsError, cli/main.py)."""
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as error:
        print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
        return 1
    with open_root(args) as root:
        change = root.services.facilitators.import_list(raw, str(path))
    if args.json:
        print_json(
            {
                "added": list(change.added),
                "updated": list(change.updated),
                "removed": list(change.removed),
                "unchanged": change.unchanged,
            }
        )
    else:
        print(
            f"Imported {path}: {len(change.added)} added, {len(change.updated)} updated, "
            f"{len(change.removed)} removed, {change.unchanged} unchanged"
        )
    return 0


def list_facilitators(args: argparse.Namespace) -> int:
    """Who is on the external facilitators list, with the groups each facilitates now."""
    with open_root(args) as root:
        listed = root.services.facilitators.all()
        groups = root.services.programme.groups()
    leads = {f.email: [g.id for g in groups if g.facilitator == f.email] for f in listed}
    if args.json:
        print_json(
            {
                "facilitators": [
                    {
                        "email": f.email,
                        "name": f.name,
                        "organisation": f.organisation,
                        "aad_object_id": f.aad_object_id,
                        "timezone": f.timezone,
                        "groups": leads[f.email],
                    }
                    for f in listed
                ]
            }
        )
        return 0
    for f in listed:
        organisation = f"  ({f.organisation})" if f.organisation else ""
        guest = "  Teams guest" if f.aad_object_id else ""
        running = f"  groups: {', '.join(leads[f.email])}" if leads[f.email] else ""
        print(f"{f.email}  {f.name}{organisation}{guest}{running}")
    print(f"{len(listed)} external facilitator(s)")
    return 0
