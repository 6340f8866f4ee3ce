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

from programme.errors import NotFoundError
from service.privacy import DeliveryBusyError, ErasureReport, erase_person, export_person, normalise_email
from service.programme_service import ProgrammeService
from store.files import write_file


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {n}" for table, n in counts.items()) or "none"


def cmd_person_export(args: argparse.Namespace, service: ProgrammeService) -> int:
    """Everything held about a person as one JSON document (to --out, else stdout)."""
    email = normalise_email(args.email)
    try:
        export = export_person(service.store, email, datetime.now(UTC))
    except NotFoundError as error:
        print(f"reflect: {error}", file=sys.stderr)
        return 1
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


def cmd_person_erase(args: argparse.Namespace, service: ProgrammeService) -> int:
    """Remove a person's data and answers, keeping anonymous counts; needs --yes."""
    email = normalise_email(args.email)
    try:
        report = erase_person(service.store, email, datetime.now(UTC), apply=bool(args.yes))
    except DeliveryBusyError as error:
        print(f"reflect: {error}; nothing was changed", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(_report_json(report), option=orjson.OPT_INDENT_2).decode() + "\n")
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
        print(
            "Messages already delivered (Teams chats, mailboxes, the mail pickup directory) are outside "
            "the data file."
        )
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
