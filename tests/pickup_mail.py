"""Delivering the outbox to a pickup folder and reading its meeting requests back (shared by tests)."""

from __future__ import annotations

import asyncio
import email
from datetime import datetime
from pathlib import Path

import icalendar

from app import outbox_drainer
from mailers.pickup import PickupMailer
from service.services import Services
from support.config import BotSettings


def deliver(services: Services, mail: Path, now: datetime) -> None:
    """Deliver what is due at `now` through the app's drainer, email into the pickup folder `mail`."""

    async def drain() -> None:
        mailer = PickupMailer(mail, clock=lambda: now)
        async with outbox_drainer(services, BotSettings(), mailer, sender="reflect@x.org") as drainer:
            await drainer.drain_once(now)
        await mailer.close()

    asyncio.run(drain())


def calendars(mail: Path) -> list[icalendar.Calendar]:
    """Every calendar (meeting request or cancellation) in the pickup folder, in file order."""
    found = []
    for path in sorted(mail.glob("*.eml")):
        for part in email.message_from_bytes(path.read_bytes()).walk():
            if part.get_content_type() == "text/calendar":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                found.append(icalendar.Calendar.from_ical(payload))
    return found
