"""Composition root: settings, store, use cases, mailer and the web app.

`python app.py` is `reflect serve`: the bot with the outbox drainer and the programme clock inside.
`reflect run-due` runs the clock once (for cron) and delivers what it queued.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from aiohttp import web

from service.invites_service import InvitesService, MailSettings
from service.mail_factory import open_mailer
from service.outbox import Status
from service.scheduler import JobReport, Scheduler
from service.services import Services, system_clock
from store import Store
from support.config import Settings, db_path, load_settings, settings_path
from support.log_format import configure_logging
from support.progress import Progress, progress_bar
from teams_bot.sending import outbox_drainer
from teams_bot.web import AccessLogger, create_app

# A one-shot run delivers what it queued, but never loops for ever on a failing backend.
RUN_DUE_PASSES = 20


def _scheduler(services: Services, settings: Settings) -> Scheduler:
    mail = MailSettings(mailbox=settings.mail.mailbox, domain=settings.mail.domain)
    return Scheduler(services, InvitesService(services.programme, services.outbox, services.clock, mail))


def serve(db: str | None = None, settings_file: str | None = None) -> int:
    """Run the bot on the configured host and port (127.0.0.1:3978 by default) until interrupted."""
    configure_logging()
    settings = load_settings(settings_path(settings_file))
    with Store(db_path(db)) as store:
        services = Services.build(store, settings.programme, tenant_id=settings.bot.organisation_tenant)
        app = create_app(
            services,
            settings.bot,
            mail=settings.mail,
            scheduler=_scheduler(services, settings),
        )
        mode = "authenticated" if settings.bot.app_id else "local, unauthenticated (no MicrosoftAppId)"
        if settings.bot.app_id and not settings.bot.organisation_tenant:
            logging.getLogger("app").warning(
                "no tenant_id (or MicrosoftAppTenantId) set: users of any tenant that installs the app "
                "are recognised by their Entra ID user id; set [bot] tenant_id to the organisation's"
            )
        logging.getLogger("app").info(
            "bot on http://%s:%d/api/messages, %s; mail: %s",
            settings.bot.host,
            settings.bot.port,
            mode,
            settings.mail.backend,
        )
        web.run_app(
            app,
            host=settings.bot.host,
            port=settings.bot.port,
            print=None,
            access_log_class=AccessLogger,
        )
    return 0


def _report_line(report: JobReport) -> str:
    note = f" ({report.note})" if report.note else ""
    return f"{report.job.key}: {report.queued} message(s) queued{note}"


@dataclass(frozen=True)
class Delivery:
    """What one run's delivery did: attempts by outcome, and why the unsent ones were not sent."""

    processed: int = 0
    sent: int = 0
    unreachable: int = 0  # nobody to reach on Teams and no email version: normal, not a failure
    retrying: int = 0  # not sent; tried again at the next run (server down, throttled, sign-in)
    failed: int = 0  # not sent, and never will be
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.retrying or self.failed)

    def as_json(self) -> dict[str, object]:
        return {
            "processed": self.processed,
            "sent": self.sent,
            "unreachable": self.unreachable,
            "retrying": self.retrying,
            "failed": self.failed,
            "errors": self.errors,
        }

    def summary(self) -> str:
        return (
            f"{self.processed} outbox message(s) processed: {self.sent} sent, {self.unreachable} "
            f"unreachable, {self.retrying} to retry, {self.failed} failed"
        )

    def problem(self) -> str:
        """The stderr line when something was not sent: counts and the fixed reasons, no content."""
        reasons = "; ".join(f"{reason} (x{n})" for reason, n in sorted(self.errors.items())[:5])
        return (
            f"reflect: {self.retrying + self.failed} outbox message(s) not sent: {self.retrying} will be "
            f"retried at the next run, {self.failed} failed for good. Reasons: {reasons or 'unknown'}"
        )


async def _deliver(services: Services, settings: Settings, progress: Progress | None = None) -> Delivery:
    """Drain the outbox until nothing more is due now; returns what happened to each attempt."""
    delivered = 0
    total = await asyncio.to_thread(services.outbox.due_count, services.clock())
    async with (
        open_mailer(settings.mail, services.clock, settings.programme.timezone) as mailer,
        outbox_drainer(services, settings.bot, mailer, sender=settings.mail.mailbox) as drainer,
    ):
        for _ in range(RUN_DUE_PASSES):
            attempted = await drainer.drain_once(services.clock())
            delivered += attempted
            if progress is not None:
                progress(min(delivered, total), max(total, delivered))
            if attempted == 0:
                break
    outcomes = drainer.outcomes
    return Delivery(
        processed=delivered,
        sent=outcomes[Status.SENT],
        unreachable=outcomes[Status.UNREACHABLE],
        retrying=outcomes[Status.PENDING],
        failed=outcomes[Status.FAILED],
        errors=dict(drainer.errors),
    )


def _delivery_status(delivery: Delivery) -> int:
    """Exit status 0 when everything due went out (or had nowhere to go), else 1 with a reason."""
    if delivery.ok:
        return 0
    print(delivery.problem(), file=sys.stderr)
    return 1


def run_due(
    db: str | None, settings_file: str | None, now: datetime | None, *, dry_run: bool, as_json: bool
) -> int:
    """Run every job due at `now` once, deliver what it queued, and print what was sent."""
    settings = load_settings(settings_path(settings_file))
    moment = now or datetime.now(UTC)
    with Store(db_path(db)) as store:
        services = Services.build(store, settings.programme, (lambda: moment) if now else system_clock)
        scheduler = _scheduler(services, settings)
        if dry_run:
            pending = scheduler.pending(moment)
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
            reports = scheduler.run_due(moment, progress=jobs)
        with progress_bar("delivering", enabled=not as_json, unit="msg") as sending:
            delivery = asyncio.run(_deliver(services, settings, sending))
        if as_json:
            print(
                orjson.dumps(
                    {
                        "jobs": [{"job": r.job.key, "queued": r.queued, "note": r.note} for r in reports],
                        "delivery": delivery.as_json(),
                    }
                ).decode()
            )
        else:
            for report in reports:
                print(_report_line(report))
            print(f"{len(reports)} job(s) run; {delivery.summary()}")
    return _delivery_status(delivery)


def send_invites(db: str | None, settings_file: str | None, month: str, *, as_json: bool) -> int:
    """Send (or update) one month's meeting requests now, instead of waiting for the clock."""
    settings = load_settings(settings_path(settings_file))
    with Store(db_path(db)) as store:
        services = Services.build(store, settings.programme)
        queued = _scheduler(services, settings).invites.sync_month(month)
        with progress_bar("delivering", enabled=not as_json, unit="msg") as sending:
            delivery = asyncio.run(_deliver(services, settings, sending))
    if as_json:
        print(orjson.dumps({"month": month, "queued": queued, "delivery": delivery.as_json()}).decode())
    else:
        print(f"{month}: {queued} meeting request(s) queued; {delivery.summary()}")
    return _delivery_status(delivery)


def main(argv: Sequence[str] | None = None) -> int:
    """`python app.py [--db PATH] [--settings PATH]`."""
    from service.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
