"""`reflect pairs rotate` and `reflect pairs show`: peer pairs."""

from __future__ import annotations

import argparse
from typing import Any

from app import Wiring
from cli.common import Commands, add_programme_argument, date_arg, open_root, print_json, today
from cli.groups import leavers, marked_left
from programme.model import PairRound
from programme.programmes import ProgrammeDefinition
from repositories.groups import unplaced_to_doc


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`pairs rotate` and `pairs show`."""
    pairs = commands.add_parser("pairs", help="peer pairs").add_subparsers(dest="action", required=True)
    rotate = pairs.add_parser("rotate", parents=[data], help="start a new pairing round")
    rotate.add_argument("--today", type=date_arg, help="date of the round (probation is judged on it)")
    add_programme_argument(rotate)
    rotate.set_defaults(handler=rotate_pairs)
    show = pairs.add_parser("show", parents=[data], help="show the current pairing round")
    add_programme_argument(show)
    show.set_defaults(handler=show_pairs)


def round_json(round_: PairRound) -> dict[str, Any]:
    """The `pairs rotate|show --json` document of PRODUCT.md, naming the round's programme."""
    return {
        "round": round_.number,
        "started_on": round_.started_on.isoformat(),
        "pairs": [{"peers": list(p.peers), "receives_only": list(p.receives_only)} for p in round_.pairs],
        "unpaired": [unplaced_to_doc(u) for u in round_.unpaired],
        "programme": round_.programme,
    }


def print_round(round_: PairRound, left: frozenset[str] = frozenset(), name: str | None = None) -> None:
    """A pairing round as text (`name`: the programme's, where the deployment has several)."""
    of = f" of {name} ({round_.programme})" if name else ""
    print(f"Pairing round {round_.number}{of} (from {round_.started_on.isoformat()})")
    for pair in round_.pairs:
        names = ", ".join(
            marked_left(p, left) + (" (receives only)" if p in pair.receives_only else "") for p in pair.peers
        )
        print(f"    {names}")
    for entry in round_.unpaired:
        print(f"unpaired: {entry.email}: {entry.reason}")


def _name(root: Wiring, definition: ProgrammeDefinition) -> str | None:
    """The programme's name to print, where there is more than one programme."""
    return definition.name if len(root.services.programme.programmes) > 1 else None


def rotate_pairs(args: argparse.Namespace) -> int:
    """Start a new pairing round."""
    with open_root(args) as root:
        service = root.services.programme
        definition = service.pairs_programme(args.programme)
        round_ = service.rotate_pairs(today(args, root), definition.id)
        name = _name(root, definition)
    print_json(round_json(round_)) if args.json else print_round(round_, name=name)
    return 0


def show_pairs(args: argparse.Namespace) -> int:
    """The programme's current pairing round."""
    with open_root(args) as root:
        service = root.services.programme
        definition = service.pairs_programme(args.programme)
        rounds = service.pair_rounds(definition.id)
        if not rounds:
            if args.json:
                print_json({"round": None, "pairs": [], "unpaired": [], "programme": definition.id})
            else:
                print("No pairing round yet: run `reflect pairs rotate`.")
            return 0
        if args.json:
            print_json(round_json(rounds[-1]))
        else:
            print_round(rounds[-1], leavers(service), _name(root, definition))
    return 0
