"""Programme announcements: coordinators compose, preview to themselves, send, and see the counts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import timedelta

from programme.announcements import Audience, resolve_audience
from programme.policies import Actor, Permission, require
from programme.records import Announcement
from programme.sessions import month_key
from repositories.announcements import AnnouncementsRepository
from service.commands import AnnounceCommand
from service.messages import Messages
from service.outbox import Outbox
from service.programme_service import ProgrammeService
from service.sessions import Clock
from service.views import (
    AnnouncementDraft,
    AnnouncementResultView,
    AnnouncementStatus,
    AnnouncementView,
    ComposerView,
    DeliveryProblemsView,
)

REPEAT_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Announcements:
    """Use cases of announcements; every one is for coordinators only."""

    programme: ProgrammeService
    outbox: Outbox
    clock: Clock
    messages: Messages

    def composer(self, actor: Actor) -> ComposerView:
        """An empty composer."""
        require(Permission.COORDINATOR, actor)
        return ComposerView()

    def announce(self, actor: Actor, command: AnnounceCommand) -> ComposerView | AnnouncementResultView:
        """Preview (to the coordinator themself) or send to the audience, through the outbox."""
        require(Permission.COORDINATOR, actor)
        audience = Audience(command.audience, command.audience_value)
        recipients = resolve_audience(
            audience,
            self.programme.people().values(),
            self.programme.current_allocation().groups,
            self.programme.facilitators_repo.all().keys(),
        )
        now = self.clock()
        period = month_key(now.astimezone(self.programme.settings.zone).date())
        content = self.messages.announcement(AnnouncementView(command.title, command.text, actor.person.name))
        draft = AnnouncementDraft(command.title, command.text, command.audience, command.audience_value)
        digest = hashlib.sha256(
            "\n".join([actor.email, command.title, command.text, audience.kind, audience.value]).encode()
        ).hexdigest()[:12]
        if command.preview:
            # The preview goes to the coordinator's Teams chat only: no email fallback.
            preview = replace(content, email_fallback=None).message(
                key=f"announce_preview:{digest}:{now.isoformat()}",
                period=period,
                recipient=actor.email,
                kind="announcement_preview",
            )
            self.outbox.enqueue([preview], now)
            return ComposerView(draft, preview_recipients=len(recipients))
        # The same announcement pressed twice (a double click, a retried invoke) is sent once; the
        # same text sent again later is a deliberate repeat and goes out again.
        with self.programme.store.transaction():
            announcements = AnnouncementsRepository(self.programme.store)
            recent = [
                key
                for key, sent in announcements.all().items()
                if sent.digest == digest and now - sent.sent_at < REPEAT_WINDOW
            ]
            if recent:
                return self.result(actor, recent[0])
            ident = f"ann-{now:%Y%m%d%H%M%S}-{digest}"
            announcements.put(
                ident,
                Announcement(
                    title=command.title,
                    audience=audience.describe(),
                    sender=actor.email,
                    sent_at=now,
                    recipients=len(recipients),
                    period=period,
                    digest=digest,
                ),
            )
            self.outbox.enqueue(
                [
                    content.message(
                        key=f"announcement:{ident}:{email}",
                        period=period,
                        recipient=email,
                        kind="announcement",
                        batch=ident,
                    )
                    for email in recipients
                ],
                now,
            )
        return self.result(actor, ident)

    def result(self, actor: Actor, ident: str) -> AnnouncementResultView:
        """Delivery counts of one announcement so far."""
        require(Permission.COORDINATOR, actor)
        sent = AnnouncementsRepository(self.programme.store).get(ident)
        counts, rate = self.outbox.batch_progress(ident)
        return AnnouncementResultView(
            title=sent.title if sent else "",
            audience=sent.audience if sent else "",
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            unreachable=counts.get("unreachable", 0),
            pending=counts.get("pending", 0),
            rate=rate if counts.get("pending") else None,
        )

    def status(self, actor: Actor) -> AnnouncementStatus:
        """The latest announcement's delivery (if any), and any deliveries that failed or wait to retry."""
        require(Permission.COORDINATOR, actor)
        failed, retrying = self.outbox.problems()
        problems = DeliveryProblemsView(
            failed=tuple((kind, reason, n) for (kind, reason), n in sorted(failed.items())),
            retrying=tuple(sorted(retrying.items())),
        )
        sent = AnnouncementsRepository(self.programme.store).all()
        if not sent:
            return AnnouncementStatus(None, problems)
        ident = max(sent, key=lambda key: (sent[key].sent_at, key))
        return AnnouncementStatus(self.result(actor, ident), problems)
