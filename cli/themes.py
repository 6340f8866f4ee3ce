"""`reflect themes`: systemic themes per quarter across groups and programmes, fewer than 3 groups
hidden as in the report ("[c]" in text, null in JSON)."""

from __future__ import annotations

import argparse
import re

from cli.common import Commands, open_root, print_json
from programme.reports import SUPPRESSED_MARK

_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")


def quarter_arg(text: str) -> str:
    """A YYYY-Qn argument."""
    if not _QUARTER.match(text.upper()):
        raise argparse.ArgumentTypeError(f"expected a quarter like 2027-Q1, got {text!r}")
    return text.upper()


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`themes [--quarter Q]`."""
    themes = commands.add_parser("themes", parents=[data], help="themes for the organisation, per quarter")
    themes.add_argument("--quarter", type=quarter_arg, help="one quarter, e.g. 2027-Q1 (default: all)")
    themes.set_defaults(handler=show_themes)


def _figure(value: int | None) -> str:
    return SUPPRESSED_MARK if value is None else str(value)


def show_themes(args: argparse.Namespace) -> int:
    """Themes per quarter: each programme, then all programmes together."""
    with open_root(args) as root:
        views = root.services.themes.quarters(args.quarter)
    if args.json:
        print_json(
            [
                {
                    "quarter": v.quarter,
                    "programme": v.programme_id,
                    "groups_recording": v.groups_recording,
                    "themes": [{"theme": t.theme, "groups": t.groups} for t in v.themes],
                    "notes": list(v.notes),
                }
                for v in views
            ]
        )
        return 0
    if not views:
        print("No themes recorded" + (f" in {args.quarter}" if args.quarter else "") + ".")
        return 0
    for v in views:
        print(f"{v.quarter}  {v.programme_name}: {_figure(v.groups_recording)} groups recorded themes")
        for t in v.themes:
            print(f"    {t.theme}: {_figure(t.groups)}")
        for note in v.notes:
            print(f"    note: {note}")
    print(f"{SUPPRESSED_MARK} = hidden to protect small numbers (fewer than 3 groups, or hidden with one)")
    return 0
