"""`reflect run-due` and `reflect invites send`: run the programme clock's jobs now and deliver.

Exit status 0 when everything due went out (or had nowhere to go), else 1 with the reasons on
stderr: counts and fixed reasons, never message content.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

import orjson

from app import deliver
from cli.common import Commands, add_programme_argument, chosen_programme, datetime_arg, month_arg, open_root
from service.delivery import DeliveryRun
from service.services import system_clock
from support.progress import progress_bar


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`invites send --month M` and `run-due [--now T] [--dry-run]`."""
    invites = commands.add_parser("invites", help="monthly meeting requests").add_subparsers(
        dest="action", required=True
    )
    send = invites.add_parser("send", parents=[data], help="send (or update) a month's meeting requests now")
    send.add_argument("--month", type=month_arg, required=True, help="the month, YYYY-MM")
    add_programme_argument(send)
    send.set_defaults(handler=send_invites)

    due = commands.add_parser("run-due", parents=[data], help="run every programme job due now, once")
    due.add_argument("--now", type=datetime_arg, help="the moment to run for (ISO 8601 with offset)")
    due.add_argument("--dry-run", action="store_true", help="list what is due; change and send nothing")
    due.set_defaults(handler=run_due)


def delivery_json(delivery: DeliveryRun) -> dict[str, object]:
    """The `delivery` object of the --json output."""
    return {
        "processed": delivery.processed,
        "sent": delivery.sent,
        "unreachable": delivery.unreachable,
        "retrying": delivery.retrying,
        "failed": delivery.failed,
        "errors": delivery.errors,
    }


def delivery_summary(delivery: DeliveryRun) -> str:
    """One line: attempts by outcome."""
    return (
        f"{delivery.processed} outbox message(s) processed: {delivery.sent} sent, {delivery.unreachable} "
        f"unreachable, {delivery.retrying} to retry, {delivery.failed} failed"
    )


def delivery_status(delivery: DeliveryRun) -> int:
    """0 when everything due went out (or had nowhere to go), else 1 with the counts and the fixed reasons."""
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


def run_due(args: argparse.Namespace) -> int:
    """Run every job due at --now (default: now) once, deliver what it queued, and print what was sent."""
    now: datetime | None = args.now
    moment = now or datetime.now(UTC)
    with open_root(args, (lambda: moment) if now else system_clock) as root:
        if args.dry_run:
            pending = root.scheduler.pending(moment)
            if args.json:
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
        with progress_bar("programme jobs", enabled=not args.json, unit="job") as jobs:
            reports = root.scheduler.run_due(moment, progress=jobs)
        with progress_bar("delivering", enabled=not args.json, unit="msg") as sending:
            delivery = asyncio.run(deliver(root, sending))
        if args.json:
            print(
                orjson.dumps(
                    {
                        "jobs": [{"job": r.job.key, "queued": r.queued, "note": r.note} for r in reports],
                        "delivery": delivery_json(delivery),
                    }
                ).decode()
            )
        else:
            for report in reports:
                note = f" ({report.note})" if report.note else ""
                print(f"{report.job.key}: {report.queued} message(s) queued{note}")
            print(f"{len(reports)} job(s) run; {delivery_summary(delivery)}")
    return delivery_status(delivery)


def send_invites(args: argparse.Namespace) -> int:
    """Send (or update) one month's meeting requests now, instead of waiting for the clock."""
    with open_root(args) as root:
        definition = chosen_programme(args, root)
        queued = root.scheduler.invites.sync_month(args.month, definition.id)
        with progress_bar("delivering", enabled=not args.json, unit="msg") as sending:
            delivery = asyncio.run(deliver(root, sending))
    if args.json:
        print(
            orjson.dumps(
                {
                    "month": args.month,
                    "programme": definition.id,
                    "queued": queued,
                    "delivery": delivery_json(delivery),
                }
            ).decode()
        )
    else:
        summary = delivery_summary(delivery)
        print(f"{args.month} ({definition.id}): {queued} meeting request(s) queued; {summary}")
    return delivery_status(delivery)
