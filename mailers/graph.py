"""The `graph` mail backend: Microsoft Graph over aiohttp, with msal client-credential tokens.

Meetings are calendar events in the programme mailbox (`/users/{mailbox}/events`); Graph sends
the meeting requests, updates and cancellations to the attendees itself. Mail is `sendMail`.

Choices worth knowing:
- Times go to Graph as UTC (`timeZone: "UTC"`). Graph's create/update accept Windows zone names
  and only a subset of IANA names, so sending the invite's IANA zone could be refused; the
  instant is what matters, and every attendee's Outlook shows it in their own zone.
- Creates are made idempotent with `transactionId`, derived from the invite UID: Graph drops a
  repeated POST with the same transactionId and answers with the event it already made, so a
  create retried after a lost response (503, timeout) never makes a second meeting.
- 429/503/504 and connection failures are retried here, honouring Retry-After, within the
  RetryPolicy; a wait longer than the policy's max_delay is handed back as MailError(RETRY)
  with `retry_after`, so the outbox reschedules instead of a task sleeping for an hour.
- `sendMail` has no transactionId: a retry after a 503/504 whose request Graph had in fact
  processed can deliver twice. The message carries our stable id in an `X-Reflect-Message-Id`
  header so a repeat can be spotted.
- Tokens and the client secret never appear in logs or in MailError messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from mailers.msal_tokens import MsalTokens
from mailers.msal_tokens import authority_for as authority_for  # where callers have imported it from
from support.mail import MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult
from support.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_RETRY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=120.0)
MESSAGE_ID_HEADER = "X-Reflect-Message-Id"  # Graph only takes custom headers that start with X-

_RETRY_STATUSES = frozenset({429, 503, 504})
# Fixed namespace: the transactionId of a UID must never change between releases.
_TRANSACTION_NAMESPACE = uuid.UUID("6f1d0c8e-2b7a-5d43-9a1e-3c5b7e2f4a10")


def transaction_id(uid: str) -> str:
    """The Graph transactionId for an invite UID: stable, so a repeated create is dropped by Graph."""
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, uid))


def graph_scope(graph_url: str) -> str:
    """The app-only scope of a Graph endpoint: its origin's `.default` (each national cloud has its own)."""
    parts = urlsplit(graph_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


class GraphTokens(MsalTokens):
    """App-only Graph access tokens: MsalTokens for the Graph scope (see mailers.msal_tokens)."""

    def __init__(
        self,
        client_id: str,
        client_credential: str | dict[str, Any],
        authority: str,
        *,
        scope: str = GRAPH_SCOPE,
        http_client: Any = None,
    ) -> None:
        super().__init__(
            client_id, client_credential, authority, scope, http_client=http_client, service="Graph"
        )


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        error = self.body.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else ""

    @property
    def message(self) -> str:
        error = self.body.get("error")
        text = error.get("message") if isinstance(error, dict) else None
        return text[:200] if isinstance(text, str) else ""


def _rejected_addresses(reply: _Reply, addresses: Iterable[str]) -> tuple[str, ...]:
    """Which of `addresses` a 400 names as invalid recipients (empty when it cannot tell)."""
    code = reply.code.lower()
    if reply.status != 400 or not ("recipient" in code or "attendee" in code):
        return ()
    text = reply.message
    return tuple(
        address
        for address in addresses
        if re.search(rf"(?<![\w.+-]){re.escape(address)}(?![\w.-])", text, re.IGNORECASE)
    )


def _utc(moment: datetime) -> dict[str, str]:
    if moment.tzinfo is None:
        raise ValueError("meeting times must be timezone-aware")
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _join_url(body: dict[str, Any]) -> str | None:
    meeting = body.get("onlineMeeting")
    url = meeting.get("joinUrl") if isinstance(meeting, dict) else None
    return url if isinstance(url, str) and url else None


class GraphMailer:
    """The Mailer for Exchange Online through Microsoft Graph (application permissions:
    Calendars.ReadWrite and Mail.Send, ideally limited to the programme mailbox by an application
    access policy). Always sends as `mailbox`. The aiohttp session belongs to the caller."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        mailbox: str,
        tokens: GraphTokens,
        *,
        base_url: str = GRAPH_URL,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        timeout: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self.mailbox = mailbox
        self._tokens = tokens
        self._base = base_url.rstrip("/")
        self._retry = retry
        self._sleep = sleep
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._rng = rng or random.Random()

    # -- Mailer ------------------------------------------------------------------------------

    async def send_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> MeetingResult:
        """Create the event (Graph invites the attendees), or PATCH the existing one."""
        attendees = invite.attendees
        while True:
            if existing is None or existing.item_id is None:
                reply = await self._call("POST", self._events(), self._event(invite, attendees, create=True))
            else:
                reply = await self._call(
                    "PATCH", self._events(existing.item_id), self._event(invite, attendees, create=False)
                )
            if reply.ok:
                break
            rejected = _rejected_addresses(reply, attendees)
            remaining = tuple(a for a in attendees if a not in rejected)
            if not rejected or not remaining:
                raise self._failure(reply, "meeting")
            # A meeting for the others beats no meeting; MailError cannot carry the event id back.
            log.warning(
                "graph: %d attendee(s) rejected as invalid, meeting kept for the others", len(rejected)
            )
            attendees = remaining
        item_id = reply.body.get("id")
        if not isinstance(item_id, str) or not item_id:
            item_id = existing.item_id if existing is not None else None
        if item_id is None:
            raise MailError(MailFailure.RETRY, "Graph accepted the meeting but returned no event id")
        join_url = _join_url(reply.body) or (existing.join_url if existing is not None else None)
        return MeetingResult(item_id=item_id, join_url=join_url)

    async def cancel_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> None:
        """Cancel the event: Graph sends the cancellation to every attendee and removes it."""
        if existing is None or existing.item_id is None:
            raise MailError(MailFailure.FAIL, "no Graph event id for this meeting: nothing to cancel")
        comment = f"This session is cancelled: {invite.subject}"
        reply = await self._call("POST", self._events(existing.item_id, "cancel"), {"comment": comment})
        if reply.status == 404:
            log.info("graph: meeting to cancel is already gone")  # cancelled before, or deleted by hand
            return
        if not reply.ok:
            raise self._failure(reply, "cancellation")

    async def send_mail(self, message: MailMessage) -> None:
        """Send one email; recipients Graph names as invalid are reported, the others get it."""
        recipients = message.to
        rejected: list[str] = []
        while recipients:
            reply = await self._call("POST", self._user("sendMail"), self._mail(message, recipients))
            if reply.ok:
                break
            named = _rejected_addresses(reply, recipients)
            if not named:
                raise self._failure(reply, "mail")
            # Graph refuses the whole message (naming one bad address at a time): drop and resend.
            rejected.extend(named)
            recipients = tuple(a for a in recipients if a not in named)
        if rejected:
            raise MailError(
                MailFailure.FAIL,
                f"Graph rejected {len(rejected)} invalid recipient(s); sent to the other {len(recipients)}",
                invalid_recipients=tuple(rejected),
            )

    async def close(self) -> None:
        """Close msal's HTTP client; the aiohttp session is the caller's to close."""
        await asyncio.to_thread(self._tokens.close)

    # -- payloads ----------------------------------------------------------------------------

    def _user(self, *parts: str) -> str:
        return "/".join([self._base, "users", quote(self.mailbox, safe="@"), *parts])

    def _events(self, event_id: str | None = None, action: str | None = None) -> str:
        parts = ["events"]
        if event_id is not None:
            parts.append(quote(event_id, safe=""))
        if action is not None:
            parts.append(action)
        return self._user(*parts)

    @staticmethod
    def _event(invite: MeetingInvite, attendees: tuple[str, ...], *, create: bool) -> dict[str, Any]:
        event: dict[str, Any] = {
            "subject": invite.subject,
            "body": {"contentType": "text", "content": invite.body_text},
            "start": _utc(invite.start),
            "end": _utc(invite.end),
            "location": {"displayName": invite.location},
            "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in attendees],
        }
        if create:
            event["transactionId"] = transaction_id(invite.uid)
            event["responseRequested"] = True
            if invite.online:
                # Once set, Outlook ignores later changes to isOnlineMeeting: only sent on create.
                event["isOnlineMeeting"] = True
                event["onlineMeetingProvider"] = "teamsForBusiness"
        return event

    @staticmethod
    def _mail(message: MailMessage, to: tuple[str, ...]) -> dict[str, Any]:
        return {
            "message": {
                "subject": message.subject,
                "body": {"contentType": "text", "content": message.body_text},
                "toRecipients": [{"emailAddress": {"address": a}} for a in to],
                "internetMessageHeaders": [{"name": MESSAGE_ID_HEADER, "value": message.message_id}],
            },
            "saveToSentItems": True,
        }

    # -- HTTP --------------------------------------------------------------------------------

    async def _send_once(self, method: str, url: str, body: dict[str, Any], token: str) -> _Reply:
        headers = {"Authorization": f"Bearer {token}", "Prefer": 'outlook.timezone="UTC"'}
        async with self._session.request(
            method, url, json=body, headers=headers, timeout=self._timeout
        ) as response:
            raw = await response.read()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:  # an HTML error page from a proxy, say
                payload = None
            return _Reply(
                response.status,
                payload if isinstance(payload, dict) else {},
                parse_retry_after(response.headers.get("Retry-After")),
            )

    async def _call(self, method: str, url: str, body: dict[str, Any]) -> _Reply:
        """One Graph request with token refresh on 401 and bounded retries; returns 2xx or 4xx."""
        path = url.removeprefix(self._base)
        attempt = 0
        token_renewed = False
        while True:
            attempt += 1
            token = await self._tokens.token()
            reply: _Reply | None = None
            try:
                reply = await self._send_once(method, url, body, token)
            except (aiohttp.ClientError, TimeoutError) as error:
                problem, retry_after = type(error).__name__, None
            if reply is not None:
                log.debug("graph %s %s -> %d", method, path, reply.status)
                problem, retry_after = f"http {reply.status} {reply.code}".strip(), reply.retry_after
                if reply.status == 401 and not token_renewed:
                    # Revoked or expired early: drop msal's cached token and try once with a new one.
                    self._tokens.invalidate(token)
                    token_renewed = True
                    attempt -= 1
                    continue
                if reply.status in (401, 403):
                    raise self._auth_failure(reply)
                if reply.status not in _RETRY_STATUSES and reply.status < 500:
                    return reply
                if reply.status not in _RETRY_STATUSES:  # other 5xx: the outbox tries again later
                    raise MailError(MailFailure.RETRY, f"Graph {method} {path}: {problem}")
            delay = self._retry.delay(attempt, retry_after, rng=self._rng)
            if delay is None or delay > self._retry.max_delay:
                raise MailError(
                    MailFailure.RETRY,
                    f"Graph {method} {path}: {problem} after {attempt} attempt(s)",
                    retry_after=retry_after if retry_after is not None else delay,
                )
            log.info(
                "graph %s %s: %s, retrying in %.1f s (attempt %d)", method, path, problem, delay, attempt
            )
            await self._sleep(delay)

    def _auth_failure(self, reply: _Reply) -> MailError:
        if reply.status == 403:
            return MailError(
                MailFailure.AUTH,
                f"Graph refused the app for mailbox {self.mailbox} (403 {reply.code}): check the Mail.Send "
                "and Calendars.ReadWrite application permissions (with admin consent) and any "
                "application access policy that limits which mailboxes the app may use",
            )
        return MailError(
            MailFailure.AUTH,
            f"Graph rejected the app's access token (401 {reply.code}) even after fetching a new one: "
            "check that the app registration belongs to this tenant and has admin consent",
        )

    def _failure(self, reply: _Reply, what: str) -> MailError:
        detail = f"{reply.code}: {reply.message}" if reply.message else reply.code
        if reply.status == 404:
            return MailError(
                MailFailure.FAIL, f"Graph {what}: not found in mailbox {self.mailbox} ({detail})"
            )
        return MailError(MailFailure.FAIL, f"Graph refused the {what} (http {reply.status} {detail})")
