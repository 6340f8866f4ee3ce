"""The `reflect` command line: coordinators' tools over the programme service."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import orjson

from programme.errors import ProgrammeError, RosterError
from programme.model import Allocation, PairRound, Session, weekday_name
from repositories.groups import unplaced_to_doc
from service.programme_service import ProgrammeService
from store import Store, StoreError
from support.config import db_path, load_settings, settings_path
from support.progress import progress_bar

Handler = Callable[[argparse.Namespace, ProgrammeService], int]


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _today(args: argparse.Namespace, service: ProgrammeService) -> date:
    if getattr(args, "today", None):
        return date.fromisoformat(args.today)
    return datetime.now(UTC).astimezone(service.settings.zone).date()


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


def round_json(round_: PairRound) -> dict[str, Any]:
    """The `pairs rotate|show --json` document of PRODUCT.md."""
    return {
        "round": round_.number,
        "started_on": round_.started_on.isoformat(),
        "pairs": [{"peers": list(p.peers), "receives_only": list(p.receives_only)} for p in round_.pairs],
        "unpaired": [unplaced_to_doc(u) for u in round_.unpaired],
    }


def sessions_json(sessions: Sequence[Session]) -> dict[str, Any]:
    """The `schedule --json` document: ISO 8601 datetimes with their UTC offset."""
    return {
        "sessions": [
            {"group": s.group_id, "start": s.start.isoformat(), "end": s.end.isoformat()} for s in sessions
        ]
    }


def _left(email: str, left: frozenset[str]) -> str:
    # Leavers stay in groups and pairs until the next allocation or rotation, but get no mail.
    return f"{email} (left)" if email in left else email


def _print_allocation(allocation: Allocation, left: frozenset[str] = frozenset()) -> None:
    for g in allocation.groups:
        lead = _left(g.facilitator, left) if g.facilitator else "rotating facilitation"
        print(f"{g.id}  {g.name}  ({len(g.members)} members, {lead})")
        for member in g.members:
            print(f"    {_left(member, left)}")
    for entry in allocation.unplaced:
        print(f"unplaced: {entry.email}: {entry.reason}")
    for day, needed in sorted(allocation.facilitators_needed.items()):
        print(f"{weekday_name(day)} needs {needed} more facilitator(s)")
    print(f"{len(allocation.groups)} groups, {len(allocation.unplaced)} unplaced")


def _print_round(round_: PairRound, left: frozenset[str] = frozenset()) -> None:
    print(f"Pairing round {round_.number} (from {round_.started_on.isoformat()})")
    for pair in round_.pairs:
        names = ", ".join(
            _left(p, left) + (" (receives only)" if p in pair.receives_only else "") for p in pair.peers
        )
        print(f"    {names}")
    for entry in round_.unpaired:
        print(f"unpaired: {entry.email}: {entry.reason}")


def cmd_roster_import(args: argparse.Namespace, service: ProgrammeService) -> int:
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as error:
        print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
        return 1
    now = datetime.now(UTC)
    if args.today:
        now = datetime.combine(date.fromisoformat(args.today), now.timetz())
    try:
        with progress_bar("importing", enabled=not args.json, unit="person") as progress:
            change = service.import_roster(raw, str(path), now, progress=progress)
    except RosterError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: {len(error.problems)} problem(s); nothing was imported", file=sys.stderr)
        return 1
    if args.json:
        _print_json(
            {
                "added": list(change.added),
                "updated": list(change.updated),
                "left": list(change.left),
                "unchanged": change.unchanged,
            }
        )
    else:
        print(
            f"Imported {path}: {len(change.added)} added, {len(change.updated)} updated, "
            f"{len(change.left)} left, {change.unchanged} unchanged"
        )
    return 0


def cmd_roster_list(args: argparse.Namespace, service: ProgrammeService) -> int:
    people = sorted(service.people().values(), key=lambda p: p.email)
    if not args.all:
        people = [p for p in people if p.active]
    if args.json:
        _print_json(
            {
                "people": [
                    {"email": p.email, "name": p.name, "role": p.role, "left_on": p.left_on} for p in people
                ]
            }
        )
        return 0
    for p in people:
        left = f"  left {p.left_on.isoformat()}" if p.left_on else ""
        print(f"{p.email}  {p.name}  {p.role}{left}")
    print(f"{len(people)} people")
    return 0


def cmd_groups_allocate(args: argparse.Namespace, service: ProgrammeService) -> int:
    now = datetime.now(UTC)
    if args.today:
        now = datetime.combine(date.fromisoformat(args.today), time(0, 0), tzinfo=service.settings.zone)
    allocation = service.allocate(now)
    _print_json(allocation_json(allocation)) if args.json else _print_allocation(allocation)
    return 0


def cmd_groups_show(args: argparse.Namespace, service: ProgrammeService) -> int:
    allocation = service.current_allocation()
    _print_json(allocation_json(allocation)) if args.json else _print_allocation(
        allocation, _leavers(service)
    )
    return 0


def _leavers(service: ProgrammeService) -> frozenset[str]:
    return frozenset(email for email, person in service.people().items() if not person.active)


def cmd_pairs_rotate(args: argparse.Namespace, service: ProgrammeService) -> int:
    round_ = service.rotate_pairs(_today(args, service))
    _print_json(round_json(round_)) if args.json else _print_round(round_)
    return 0


def cmd_pairs_show(args: argparse.Namespace, service: ProgrammeService) -> int:
    rounds = service.pair_rounds()
    if not rounds:
        if args.json:
            _print_json({"round": None, "pairs": [], "unpaired": []})
        else:
            print("No pairing round yet: run `reflect pairs rotate`.")
        return 0
    _print_json(round_json(rounds[-1])) if args.json else _print_round(rounds[-1], _leavers(service))
    return 0


def cmd_schedule(args: argparse.Namespace, service: ProgrammeService) -> int:
    if args.start:
        first = date.fromisoformat(f"{args.start}-01")
    else:
        first = _today(args, service)
    sessions = service.schedule(first, args.months)
    if args.json:
        _print_json(sessions_json(sessions))
        return 0
    names = {g.id: g.name for g in service.current_allocation().groups}
    for s in sessions:
        print(f"{s.start:%a %d %b %Y %H:%M}-{s.end:%H:%M %Z}  {names.get(s.group_id, s.group_id)}")
    return 0


def _month(text: str) -> str:
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month like 2027-03, got {text!r}") from None
    return text


def _iso_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-23, got {text!r}") from None
    return text


def _iso_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected an ISO datetime with offset like 2026-12-01T09:00+00:00, got {text!r}"
        )
    return moment


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 120:
        raise argparse.ArgumentTypeError(f"expected a number of months from 1 to 120, got {text!r}")
    return int(text)


def _lazy(module: str, name: str) -> Handler:
    """A handler imported on use, so each command loads only what it needs."""

    def run(args: argparse.Namespace, service: ProgrammeService) -> int:
        handler: Handler = getattr(importlib.import_module(module), name)
        return handler(args, service)

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per coordinator task."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="data file (default: $REFLECT_DB, else ./data/reflect.json)")
    common.add_argument("--settings", help="settings file (default: $REFLECT_SETTINGS, else ./reflect.toml)")
    data = argparse.ArgumentParser(add_help=False, parents=[common])
    data.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(prog="reflect", description="Run a peer reflection programme.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    roster = commands.add_parser("roster", help="staff roster").add_subparsers(dest="action", required=True)
    imp = roster.add_parser("import", parents=[data], help="import the full roster from an HR CSV export")
    imp.add_argument("file", help="CSV file")
    imp.add_argument("--today", type=_iso_date, help="date to record leavers on (default: today)")
    imp.set_defaults(handler=cmd_roster_import)
    lst = roster.add_parser("list", parents=[data], help="list people on the roster")
    lst.add_argument("--all", action="store_true", help="include people who have left")
    lst.set_defaults(handler=cmd_roster_list)

    groups = commands.add_parser("groups", help="reflection groups").add_subparsers(
        dest="action", required=True
    )
    allocate = groups.add_parser("allocate", parents=[data], help="allocate (or re-allocate) groups")
    allocate.add_argument("--today", type=_iso_date, help="date of the allocation (default: today)")
    allocate.set_defaults(handler=cmd_groups_allocate)
    groups.add_parser("show", parents=[data], help="show the current groups").set_defaults(
        handler=cmd_groups_show
    )

    pairs = commands.add_parser("pairs", help="peer pairs").add_subparsers(dest="action", required=True)
    rotate = pairs.add_parser("rotate", parents=[data], help="start a new pairing round")
    rotate.add_argument("--today", type=_iso_date, help="date of the round (probation is judged on it)")
    rotate.set_defaults(handler=cmd_pairs_rotate)
    pairs.add_parser("show", parents=[data], help="show the current pairing round").set_defaults(
        handler=cmd_pairs_show
    )

    sched = commands.add_parser("schedule", parents=[data], help="list the coming sessions")
    sched.add_argument("--months", type=_positive, default=3, help="how many months (default 3)")
    sched.add_argument("--from", dest="start", type=_month, help="first month, YYYY-MM (default: this month)")
    sched.set_defaults(handler=cmd_schedule, today=None)

    report = commands.add_parser(
        "report", parents=[data], help="coordinator report: attendance, RSVPs, pairs"
    )
    report.add_argument("--months", type=_positive, default=12, help="how many months back (default 12)")
    report.add_argument("--until", type=_month, help="last month, YYYY-MM (default: this month)")
    report.add_argument("--csv", metavar="FILE", help="write the figures as CSV ('-' for stdout)")
    report.add_argument("--png", metavar="DIR", help="write charts as PNG files into DIR")
    report.set_defaults(handler=_lazy("service.reports_cli", "cmd_report"))

    person = commands.add_parser("person", help="a person's data (privacy requests)").add_subparsers(
        dest="action", required=True
    )
    export = person.add_parser("export", parents=[data], help="everything held about a person, as JSON")
    export.add_argument("email")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    export.set_defaults(handler=_lazy("service.privacy_cli", "cmd_person_export"))
    erase = person.add_parser("erase", parents=[data], help="remove a person's data, keep anonymous counts")
    erase.add_argument("email")
    erase.add_argument("--yes", action="store_true", help="confirm: erasing cannot be undone")
    erase.set_defaults(handler=_lazy("service.privacy_cli", "cmd_person_erase"))

    manifest = commands.add_parser("manifest", help="the Teams app package").add_subparsers(
        dest="action", required=True
    )
    build = manifest.add_parser("build", parents=[common], help="write the uploadable Teams app zip")
    build.add_argument("--out", metavar="FILE", default="build/peer-reflection-teams-app.zip")
    build.set_defaults(handler=None)

    invites = commands.add_parser("invites", help="monthly meeting requests").add_subparsers(
        dest="action", required=True
    )
    send = invites.add_parser("send", parents=[data], help="send (or update) a month's meeting requests now")
    send.add_argument("--month", type=_month, required=True, help="the month, YYYY-MM")
    send.set_defaults(handler=None)

    due = commands.add_parser("run-due", parents=[data], help="run every programme job due now, once")
    due.add_argument("--now", type=_iso_datetime, help="the moment to run for (ISO 8601 with offset)")
    due.add_argument("--dry-run", action="store_true", help="list what is due; change and send nothing")
    due.set_defaults(handler=None)

    commands.add_parser(
        "serve", parents=[common], help="run the Teams bot (127.0.0.1:3978, /api/messages, /healthz)"
    ).set_defaults(handler=None)
    return parser


def _delivery_json(delivery: Any) -> dict[str, object]:
    return {
        "processed": delivery.processed,
        "sent": delivery.sent,
        "unreachable": delivery.unreachable,
        "retrying": delivery.retrying,
        "failed": delivery.failed,
        "errors": delivery.errors,
    }


def _delivery_summary(delivery: Any) -> str:
    return (
        f"{delivery.processed} outbox message(s) processed: {delivery.sent} sent, {delivery.unreachable} "
        f"unreachable, {delivery.retrying} to retry, {delivery.failed} failed"
    )


def _delivery_status(delivery: Any) -> int:
    """Exit status 0 when everything due went out (or had nowhere to go), else 1 with a reason."""
    if delivery.ok:
        return 0
    reasons = "; ".join(f"{reason} (x{n})" for reason, n in sorted(delivery.errors.items())[:5])
    print(
        f"reflect: {delivery.retrying + delivery.failed} outbox message(s) not sent: "
        f"{delivery.retrying} will be retried at the next run, {delivery.failed} failed for good. "
        f"Reasons: {reasons or 'unknown'}",
        file=sys.stderr,
    )
    return 1


def run_due(
    db: str | None, settings_file: str | None, now: datetime | None, *, dry_run: bool, as_json: bool
) -> int:
    """Run every job due at `now` once, deliver what it queued, and print what was sent."""
    import asyncio

    from app import deliver, wiring
    from service.services import system_clock

    moment = now or datetime.now(UTC)
    with wiring(db, settings_file, (lambda: moment) if now else system_clock) as root:
        if dry_run:
            pending = root.scheduler.pending(moment)
            if as_json:
                print(
                    orjson.dumps(
                        {"due": [{"job": j.key, "due": j.due.isoformat()} for j in pending]}
                    ).decode()
                )
            else:
                for job in pending:
                    print(f"would run {job.key} (due {job.due.isoformat()})")
                print(f"{len(pending)} job(s) due; nothing was changed or sent (dry run)")
            return 0
        with progress_bar("programme jobs", enabled=not as_json, unit="job") as jobs:
            reports = root.scheduler.run_due(moment, progress=jobs)
        with progress_bar("delivering", enabled=not as_json, unit="msg") as sending:
            delivery = asyncio.run(deliver(root, sending))
        if as_json:
            print(
                orjson.dumps(
                    {
                        "jobs": [{"job": r.job.key, "queued": r.queued, "note": r.note} for r in reports],
                        "delivery": _delivery_json(delivery),
                    }
                ).decode()
            )
        else:
            for report in reports:
                note = f" ({report.note})" if report.note else ""
                print(f"{report.job.key}: {report.queued} message(s) queued{note}")
            print(f"{len(reports)} job(s) run; {_delivery_summary(delivery)}")
    return _delivery_status(delivery)


def send_invites(db: str | None, settings_file: str | None, month: str, *, as_json: bool) -> int:
    """Send (or update) one month's meeting requests now, instead of waiting for the clock."""
    import asyncio

    from app import deliver, wiring

    with wiring(db, settings_file) as root:
        queued = root.scheduler.invites.sync_month(month)
        with progress_bar("delivering", enabled=not as_json, unit="msg") as sending:
            delivery = asyncio.run(deliver(root, sending))
    if as_json:
        print(orjson.dumps({"month": month, "queued": queued, "delivery": _delivery_json(delivery)}).decode())
    else:
        print(f"{month}: {queued} meeting request(s) queued; {_delivery_summary(delivery)}")
    return _delivery_status(delivery)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `reflect` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "manifest":
        from manifest.build import cmd_manifest_build

        try:
            return cmd_manifest_build(args, load_settings(settings_path(args.settings)))
        except ProgrammeError as error:
            print(f"reflect: {error}", file=sys.stderr)
            return 1
    if args.command in ("serve", "run-due", "invites"):
        from app import serve  # the composition root: imported late, it is heavy

        try:
            if args.command == "serve":
                return serve(args.db, args.settings)
            if args.command == "invites":
                return send_invites(args.db, args.settings, args.month, as_json=args.json)
            return run_due(args.db, args.settings, args.now, dry_run=args.dry_run, as_json=args.json)
        except (ProgrammeError, StoreError) as error:
            print(f"reflect: {error}", file=sys.stderr)
            return 1
    try:
        settings = load_settings(settings_path(args.settings))
        with Store(db_path(args.db)) as store:
            handler: Handler = args.handler
            return handler(args, ProgrammeService(store, settings.programme))
    except (ProgrammeError, StoreError) as error:
        print(f"reflect: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
