"""Delivering outbox entries by channel: Teams messages, and email (invites, cancellations, mail).

A Teams message the bot cannot deliver (no chat with the person, or they blocked the bot) falls
back to email when the use case attached an email version (`data["email_fallback"]`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mailers.base import Mailer, MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult
from repositories.meetings import MeetingsRepository
from service.outbox import Deliverer, DeliveryError, DeliveryKind, OutboxEntry

log = logging.getLogger(__name__)
_KINDS = {
    MailFailure.RETRY: DeliveryKind.RETRY,
    MailFailure.AUTH: DeliveryKind.FAIL,
    MailFailure.FAIL: DeliveryKind.FAIL,
}


def invite_from_data(data: Mapping[str, Any]) -> MeetingInvite:
    """The MeetingInvite an outbox entry carries."""
    return MeetingInvite(
        uid=data["uid"],
        sequence=data["sequence"],
        organizer=data["organizer"],
        subject=data["subject"],
        body_text=data["body_text"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        timezone=data["timezone"],
        attendees=tuple(data["attendees"]),
        location=data.get("location", ""),
        online=bool(data.get("online", True)),
        removed=tuple(data.get("removed", ())),
    )


class MailDeliverer:
    """Sends email entries through the configured Mailer and remembers each meeting's identity."""

    def __init__(self, mailer: Mailer, meetings: MeetingsRepository, sender: str) -> None:
        self._mailer = mailer
        self._meetings = meetings
        self._sender = sender

    async def deliver(self, entry: OutboxEntry) -> str:
        """Send the entry; returns the backend's id for it."""
        data = entry.message.data or {}
        try:
            return await self._send(entry, data)
        except MailError as error:
            if error.invalid_recipients and error.kind is MailFailure.FAIL:
                # The backend sent to everyone else; the rejected addresses are reported, not retried.
                log.warning(
                    "mail %s: %d recipient(s) rejected", entry.message.kind, len(error.invalid_recipients)
                )
                return "partial"
            raise DeliveryError(
                _KINDS[error.kind], reason=error.reason, retry_after=error.retry_after
            ) from None

    async def _send(self, entry: OutboxEntry, data: Mapping[str, Any]) -> str:
        kind = data.get("type")
        if kind in ("invite", "cancel"):
            group_id, _, month = str(data["meeting"]).rpartition(":")
            stored = self._meetings.get(group_id, month) or {}
            existing = (
                MeetingResult(stored.get("item_id"), stored.get("join_url"))
                if stored.get("item_id") or stored.get("join_url")
                else None
            )
            invite = invite_from_data(data["invite"])
            if kind == "cancel":
                await self._mailer.cancel_invite(invite, existing)
                return invite.uid
            result = await self._mailer.send_invite(invite, existing)
            # A durable write: off the event loop.
            await asyncio.to_thread(
                self._meetings.update,
                group_id,
                month,
                {"item_id": result.item_id, "join_url": result.join_url},
            )
            return result.item_id or invite.uid
        if kind == "mail":
            await self._mailer.send_mail(
                MailMessage(
                    to=tuple(data["to"]),
                    subject=data["subject"],
                    body_text=data["body_text"],
                    sender=data.get("sender") or self._sender,
                    message_id=entry.message.key,
                )
            )
            return entry.message.key
        raise DeliveryError(DeliveryKind.FAIL, reason="unknown email payload")


class ChannelDeliverer:
    """Routes each entry to its channel's deliverer, with the email fallback for unreachable Teams users."""

    def __init__(self, teams: Deliverer | None, email: MailDeliverer | None) -> None:
        self._teams = teams
        self._email = email

    async def deliver(self, entry: OutboxEntry) -> str:
        """Deliver on the entry's channel."""
        message = entry.message
        if message.channel == "email":
            if self._email is None:
                raise DeliveryError(DeliveryKind.FAIL, reason="no mail backend")
            return await self._email.deliver(entry)
        if self._teams is None:
            raise DeliveryError(DeliveryKind.UNREACHABLE, reason="no Teams connection")
        try:
            return await self._teams.deliver(entry)
        except DeliveryError as error:
            fallback = (message.data or {}).get("email_fallback")
            if error.kind is not DeliveryKind.UNREACHABLE or not fallback or self._email is None:
                raise
            email_entry = OutboxEntry(
                message=type(message)(
                    key=message.key,
                    period=message.period,
                    recipient=message.recipient,
                    kind=message.kind,
                    channel="email",
                    data={"type": "mail", **fallback, "to": [message.recipient]},
                ),
                status=entry.status,
                attempts=entry.attempts,
                not_before=entry.not_before,
                created_at=entry.created_at,
            )
            return "email:" + await self._email.deliver(email_entry)
