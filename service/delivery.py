"""Delivering outbox entries by channel: Teams messages, and email (invites, cancellations, mail).

A Teams message the bot cannot deliver (no chat with the person, or they blocked the bot) falls
back to email when the use case attached an email version (`data["email_fallback"]`).
The Teams side talks to any client with the TeamsClient shape (teams_bot/connector.py's
BotConnectorClient in production); what its failures mean for the outbox is decided here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from repositories.meetings import MeetingsRepository
from service.deliverer import Deliverer, DeliveryError, DeliveryKind, Rerouted
from service.outbox import OutboxEntry, Status
from service.outbox_drainer import OutboxDrainer
from support.mail import Mailer, MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult
from support.progress import Progress
from support.rate_limit import RateLimiter

log = logging.getLogger(__name__)
_KINDS = {
    MailFailure.RETRY: DeliveryKind.RETRY,
    MailFailure.AUTH: DeliveryKind.FAIL,
    MailFailure.FAIL: DeliveryKind.FAIL,
}
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
# Bot Connector answers worth trying again (401: the client fetches a new token next time), and
# those that mean this person cannot be reached in this chat (403 blocked, 404 gone).
_RETRY_STATUSES = frozenset({401, 412, 429, 500, 502, 503, 504})
_UNREACHABLE_STATUSES = frozenset({403, 404})


class SendFailure(Protocol):
    """What a Teams client's error says: HTTP status (None: no usable answer), Retry-After, a fixed reason."""

    @property
    def status(self) -> int | None: ...

    @property
    def retry_after(self) -> float | None: ...

    @property
    def reason(self) -> str: ...


class TeamsClient(Protocol):
    """Sends a Bot Framework activity to a conversation; raises `failure` (a SendFailure) if not sent."""

    @property
    def failure(self) -> type[Exception]: ...

    async def send_to_conversation(
        self, service_url: str, conversation_id: str, activity: Mapping[str, Any]
    ) -> str:
        """POST the activity; returns the new activity's id."""
        ...


def delivery_kind(status: int | None) -> DeliveryKind:
    """What a Teams client's failure means for the outbox entry: retry, unreachable, or give up."""
    if status is None or status in _RETRY_STATUSES:
        return DeliveryKind.RETRY
    if status in _UNREACHABLE_STATUSES:
        return DeliveryKind.UNREACHABLE
    return DeliveryKind.FAIL


def message_activity(card: Mapping[str, Any] | None, text: str) -> dict[str, Any]:
    """A Bot Framework message activity: the card as an attachment, `text` as its summary, or plain text."""
    if card is None:
        return {"type": "message", "text": text, "textFormat": "plain"}
    activity: dict[str, Any] = {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": dict(card)}],
    }
    if text:
        activity["summary"] = text  # notification preview, and what clients without cards show
    return activity


class TeamsDeliverer:
    """Delivers outbox entries to each recipient's stored 1:1 conversation, within the rate limits."""

    def __init__(
        self,
        client: TeamsClient,
        reference_for: Callable[[str], Mapping[str, str] | None],
        limiter: RateLimiter,
    ) -> None:
        self._client = client
        self._reference_for = reference_for
        self._limiter = limiter

    async def deliver(self, entry: OutboxEntry) -> str:
        """Send the entry's card or text; returns the activity id."""
        message = entry.message
        if message.channel != "teams":
            raise DeliveryError(DeliveryKind.FAIL, reason=f"channel {message.channel} is not teams")
        reference = self._reference_for(message.recipient)
        if reference is None:
            raise DeliveryError(DeliveryKind.UNREACHABLE, reason="no conversation")
        conversation_id = reference["conversation_id"]
        activity = message_activity(message.card, message.text)
        # Addressed like botbuilder's continue_conversation: the Bot Connector routes by the URL,
        # but emulators (Agents Playground) and logs attribute the message by these fields.
        activity["conversation"] = {"id": conversation_id, "conversationType": "personal"}
        if reference.get("bot_id"):
            activity["from"] = {"id": reference["bot_id"]}
        if reference.get("user_id"):
            activity["recipient"] = {"id": reference["user_id"]}
        await self._limiter.acquire(conversation_id)
        try:
            return await self._client.send_to_conversation(
                reference["service_url"], conversation_id, activity
            )
        except self._client.failure as error:
            failure = cast(SendFailure, error)
            raise DeliveryError(
                delivery_kind(failure.status), failure.status, failure.retry_after, failure.reason
            ) from error


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
            stored = self._meetings.get(group_id, month)
            existing = (
                MeetingResult(stored.item_id, stored.join_url)
                if stored and (stored.item_id or stored.join_url)
                else None
            )
            invite = invite_from_data(data["invite"])
            if kind == "cancel":
                await self._mailer.cancel_invite(invite, existing)
                return invite.uid
            result = await self._mailer.send_invite(invite, existing)
            # A durable write: off the event loop.
            await asyncio.to_thread(
                self._meetings.record_delivery, group_id, month, result.item_id, result.join_url
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
    """Routes each entry to its channel's deliverer, with the email fallback for unreachable Teams users.

    The fallback is raised as `Rerouted` for the drainer to send in its email lane (called outside
    a drainer, `deliver` does not return for those entries: it raises).
    """

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
            email = self._email

            async def by_email() -> str:
                return "email:" + await email.deliver(email_entry)

            # Sent in the drainer's email lane, so that a slow mailer holds no Teams slot meanwhile.
            raise Rerouted("email", by_email) from error


@dataclass(frozen=True)
class DeliveryRun:
    """What one run's delivery did: attempts by outcome, and why the unsent ones were not sent."""

    processed: int = 0
    sent: int = 0
    unreachable: int = 0  # nobody to reach on Teams and no email version: normal, not a failure
    retrying: int = 0  # not sent; tried again at the next run (server down, throttled, sign-in)
    failed: int = 0  # not sent, and never will be
    errors: dict[str, int] = field(default_factory=dict)  # fixed reasons, never message content

    @property
    def ok(self) -> bool:
        """Everything due went out, or had nowhere to go."""
        return not (self.retrying or self.failed)


async def deliver_due(
    drainer: OutboxDrainer,
    clock: Callable[[], datetime],
    *,
    due: int,
    passes: int,
    progress: Progress | None = None,
) -> DeliveryRun:
    """Drain until nothing more is due now, at most `passes` times (a one-shot run must end even when
    a backend keeps failing); `due` is what was due at the start, for the progress bar."""
    delivered = 0

    def advance(attempted: int) -> None:
        if progress is not None:
            progress(min(delivered + attempted, due), max(due, delivered + attempted))

    for _ in range(passes):
        attempted = await drainer.drain_once(clock(), advance)
        delivered += attempted
        if attempted == 0:
            break
    outcomes: Counter[Status] = drainer.outcomes
    return DeliveryRun(
        processed=delivered,
        sent=outcomes[Status.SENT],
        unreachable=outcomes[Status.UNREACHABLE],
        retrying=outcomes[Status.PENDING],
        failed=outcomes[Status.FAILED],
        errors=dict(drainer.errors),
    )
