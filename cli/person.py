"""`reflect person export EMAIL` and `reflect person erase EMAIL`: a person's data on request.

Output names the email the coordinator typed and counts, never the person's name or answers, nor
the placeholder that stands in for them after erasing (printed next to the email, it would tell
whose the anonymous records are). The export document goes where --out says, else to stdout.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from cli.common import Commands, open_root
from mailers.pickup import PickupPurge, purge_pickup
from service.privacy import ErasureReport, erase_person, export_person, normalise_email
from store import Store
from support.config import load_settings, settings_path
from support.files import write_file


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`person export EMAIL [--out FILE]` and `person erase EMAIL [--yes]`."""
    person = commands.add_parser("person", help="a person's data (privacy requests)").add_subparsers(
        dest="action", required=True
    )
    export = person.add_parser("export", parents=[data], help="everything held about a person, as JSON")
    export.add_argument("email")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    export.set_defaults(handler=export_data)
    erase = person.add_parser("erase", parents=[data], help="remove a person's data, keep anonymous counts")
    erase.add_argument("email")
    erase.add_argument("--yes", action="store_true", help="confirm: erasing cannot be undone")
    erase.set_defaults(handler=erase_data)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {n}" for table, n in counts.items()) or "none"


def export_data(args: argparse.Namespace) -> int:
    """Everything held about a person as one JSON document (to --out, else stdout)."""
    with open_root(args) as root:
        return _export(args, root.store)


def _export(args: argparse.Namespace, store: Store) -> int:
    email = normalise_email(args.email)
    # Someone never known: NotFoundError, printed by cli/main.py's ERRORS.
    export = export_person(store, email, datetime.now(UTC))
    payload = orjson.dumps(export.document, option=orjson.OPT_INDENT_2) + b"\n"
    summary: dict[str, Any] = {
        "email": email,
        "out": args.out,
        "records": export.records,
        "withheld": export.withheld,
    }
    if args.out:
        try:
            write_file(Path(args.out), payload, mode=0o600)  # confidential: owner only
        except OSError as error:
            print(f"reflect: cannot write {args.out}: {error.strerror}", file=sys.stderr)
            return 1
        if args.json:
            sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            print(f"Wrote {export.records} record(s) about {email} to {args.out}")
    else:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    if export.withheld:
        # For the coordinator's review of the request, never in the document itself.
        print(
            f"reflect: left out of the export (other people's confidential records that concern or "
            f"mention {email}; review them before answering the request): {_counts(export.withheld)}",
            file=sys.stderr,
        )
    return 0


def _report_json(report: ErasureReport) -> dict[str, Any]:
    return {
        "email": report.email,
        "found": report.found,
        "erased": report.applied,
        "removed": report.removed,
        "anonymised": report.anonymised,
        "warnings": list(report.warnings),
        "residue": list(report.residue),
    }


def _pickup_dir(args: argparse.Namespace) -> Path:
    """The mail pickup folder of the settings (whatever the backend: files written before stay)."""
    return Path(load_settings(settings_path(args.settings)).mail.pickup_dir)


def _purge_pickup(args: argparse.Namespace, report: ErasureReport, *, apply: bool) -> PickupPurge:
    if report.identity is None or not report.found:
        return PickupPurge(0, 0)
    return purge_pickup(_pickup_dir(args), report.identity.mentions, apply=apply)


def _pickup_line(purge: PickupPurge, directory: Path, verb: str) -> str:
    shared = (
        f"; {purge.shared} were also addressed to others (a group's meeting request is sent again "
        "without them at the next invites sync; other mail is not re-sent)"
        if purge.shared
        else ""
    )
    return (
        f"{verb} {purge.files} pending mail file(s) naming them from the pickup folder {directory}{shared}."
    )


def erase_data(args: argparse.Namespace) -> int:
    """Remove a person's data and answers, keeping anonymous counts; needs --yes."""
    with open_root(args) as root:
        return _erase(args, root.store)


def _erase(args: argparse.Namespace, store: Store) -> int:
    email = normalise_email(args.email)
    # A delivery run in progress: DeliveryBusyError, printed by cli/main.py's ERRORS.
    report = erase_person(store, email, datetime.now(UTC), apply=bool(args.yes))
    # Mail files the pickup backend wrote are outside the data file: those naming the person go too.
    pickup = _purge_pickup(args, report, apply=report.applied)
    if args.json:
        document = {**_report_json(report), "pickup_files": pickup.files, "pickup_shared": pickup.shared}
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    if not args.yes:
        if not report.found:
            print(f"reflect: nothing is held about {email}; nothing to erase", file=sys.stderr)
        else:
            print(
                f"reflect: erasing {email} would remove {sum(report.removed.values())} record(s) "
                f"({_counts(report.removed)}) and anonymise {sum(report.anonymised.values())} "
                f"({_counts(report.anonymised)}). It cannot be undone. Nothing was changed: run again "
                "with --yes to erase.",
                file=sys.stderr,
            )
            if pickup.files:
                print(
                    f"reflect: {_pickup_line(pickup, _pickup_dir(args), 'It would also remove')}",
                    file=sys.stderr,
                )
            for warning in report.warnings:
                print(f"reflect: note: {warning}", file=sys.stderr)
        return 2
    if not report.found:
        if not args.json:
            print(f"Nothing is held about {email} (already erased, or never known): nothing to do.")
        return 0
    if not args.json:
        print(
            f"Erased {email}: removed {sum(report.removed.values())} record(s) ({_counts(report.removed)}), "
            f"anonymised {sum(report.anonymised.values())} ({_counts(report.anonymised)})."
        )
        if pickup.files:
            print(_pickup_line(pickup, _pickup_dir(args), "Removed"))
        print("Messages already delivered (Teams chats, mailboxes) are outside the data file.")
    for warning in report.warnings:
        print(f"reflect: note: {warning}", file=sys.stderr)
    if report.residue:
        print(
            f"reflect: {email} is still found in: {', '.join(report.residue)}; run the erase again, "
            "and report this if it persists",
            file=sys.stderr,
        )
        return 1
    return 0
