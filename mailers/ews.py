"""The `ews` mail backend: Exchange Web Services through exchangelib (Exchange Server on-premises, and
Exchange Online while Microsoft still allows EWS there).

exchangelib is synchronous, so every call runs in a worker thread (`asyncio.to_thread`); the Account
and its Protocol (session pool) are built once and reused. The retry policy is exchangelib's FailFast
wrapped in our own bounded loop, because exchangelib's FaultTolerance treats a 401 as "server busy"
(a wrong password would retry for an hour) and resends a CreateItem that already succeeded before
a 503 (a duplicate mail). Our loop:

* ErrorServerBusy (a SOAP fault the server sent before doing anything): sleep BackOffMilliseconds
  and retry, while the whole call stays within `max_wait`; a longer back-off becomes
  MailError(RETRY, retry_after=...) so the caller's outbox waits instead of a blocked thread.
* 503, 5xx from a proxy, dropped connections: the request may or may not have been processed, so
  before re-creating anything we look for it first. Every message and meeting we create carries
  our idempotency key (MailMessage.message_id / MeetingInvite.uid) in a named extended property;
  mail is looked up in Sent Items, meetings in the calendar. Meetings are also looked up by key
  whenever no item id is known, so a lost MeetingResult never becomes a second meeting.
* 401 / access denied / token endpoint refusal: MailError(AUTH) at once, naming the mailbox only.
  With OAuth, a 401 first drops the refused token from msal's cache and tries once more with a
  new one (a token revoked before it expired).
* ErrorInvalidRecipients: Exchange names one unresolved recipient per error; we drop it and send
  to the others, then raise MailError(FAIL, invalid_recipients=...). Addresses that are not even
  syntactically addresses are dropped before anything is sent.

OAuth (Exchange Online, app-only): the access token comes from msal (mailers.msal_tokens, the same
wrapper the graph backend uses), never from oauthlib's token flow. exchangelib asks our credentials
for it when it opens a session, and our oauthlib client asks msal again on every request, so msal's
cache decides when a new token is fetched (5 minutes before expiry).

EWS cannot make a Teams meeting (`is_online_meeting` is read-only), so MeetingResult.join_url is
always None here and `MeetingInvite.online` is not acted on; Exchange keeps the iCalendar SEQUENCE
itself, so `MeetingInvite.sequence` is not sent either.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
    HTMLBody,
    Identity,
    Mailbox,
    Message,
    OAuth2Credentials,
    Version,
)
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorAccountDisabled,
    ErrorConnectionFailedTransientError,
    ErrorImpersonateUserDenied,
    ErrorImpersonationDenied,
    ErrorImpersonationFailed,
    ErrorInternalServerTransientError,
    ErrorInvalidRecipients,
    ErrorItemNotFound,
    ErrorMailboxStoreUnavailable,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    ErrorTooManyObjectsOpened,
    RedirectError,
    ResponseMessageError,
    TransportError,
    UnauthorizedError,
    UnknownTimeZone,
)
from exchangelib.folders import FolderCollection
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.protocol import Protocol
from oauthlib.oauth2 import BackendApplicationClient

from mailers.msal_tokens import AUTHORITY_HOST, MsalTokens, authority_for
from support.mail import MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_BUILD = (15, 1, 2507, 6)  # Exchange Server 2016 CU23; pinned so exchangelib sends no probes
KEY_FIELD = "reflect_idempotency_key"  # attribute name on exchangelib Message / CalendarItem
EWS_SCOPE = "https://outlook.office365.com/.default"

_AUTH_ERRORS = (
    ErrorAccessDenied,
    ErrorAccountDisabled,
    ErrorImpersonateUserDenied,
    ErrorImpersonationDenied,
    ErrorImpersonationFailed,
    ErrorNonExistentMailbox,
)
# The request may have been processed before this went wrong: look before re-creating anything.
_UNCERTAIN = (
    ErrorInternalServerTransientError,
    ErrorTimeoutExpired,
    ErrorTooManyObjectsOpened,
    ErrorMailboxStoreUnavailable,
    ErrorConnectionFailedTransientError,
)
_ADDRESS = re.compile(r"^[^@\s;,<>\"']+@[^@\s;,<>\"']+\.[^@\s;,<>\"']+$")
_UNRESOLVED = re.compile(r"Recipient\s+['\"]?(?P<who>[^'\"]+?)['\"]?\s+(?:isn't|is not)\s+resolved", re.I)


class _IdempotencyKey(ExtendedProperty):  # type: ignore[misc]  # exchangelib is untyped
    """Our stable id (message_id / invite uid) as a named MAPI property, searchable with FindItem."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "ReflectIdempotencyKey"
    property_type = "String"


_register_lock = threading.Lock()


def _register_key_field() -> None:
    with _register_lock:
        for cls in (Message, CalendarItem):
            if KEY_FIELD not in {f.name for f in cls.FIELDS}:
                cls.register(KEY_FIELD, _IdempotencyKey)


class _MsalClient(BackendApplicationClient):  # type: ignore[misc]  # oauthlib is untyped
    """The oauthlib client exchangelib signs requests with; its bearer token comes from msal each time."""

    def __init__(self, client_id: str, tokens: MsalTokens) -> None:
        super().__init__(client_id=client_id)
        self._reflect_tokens = tokens
        self._reflect_lock = threading.Lock()
        self.last_token: str | None = None  # the token the last request carried

    def add_token(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        token = self._reflect_tokens.token_sync()  # msal's cached token, or a new one near expiry
        with self._reflect_lock:
            self.access_token, self.token_type, self._expires_at = token, "Bearer", None
            self.last_token = token
            return super().add_token(uri, *args, **kwargs)


class _MsalCredentials(OAuth2Credentials):  # type: ignore[misc]  # exchangelib is untyped
    """OAuth2 client credentials whose tokens come from msal instead of oauthlib's token request.

    exchangelib (protocol.create_oauth2_session) fetches a token through oauthlib only when
    session_params() hands it none, so we always hand it msal's; the client secret stays in msal.
    """

    def __init__(self, *, tokens: MsalTokens, **kwargs: Any) -> None:
        super().__init__(client_secret=None, **kwargs)
        self._reflect_tokens = tokens
        self._reflect_client = _MsalClient(self.client_id, tokens)

    @property
    def client(self) -> _MsalClient:
        return self._reflect_client

    @property
    def token_url(self) -> str:  # only used by exchangelib to mount an HTTP adapter; never requested
        return f"{self._reflect_tokens.authority}/oauth2/v2.0/token"

    @property
    def scope(self) -> list[str]:
        return [self._reflect_tokens.scope]

    def session_params(self) -> dict[str, Any]:
        self.access_token = {"access_token": self._reflect_tokens.token_sync(), "token_type": "Bearer"}
        return {"token": self.access_token}


def _is_address(address: str) -> bool:
    return bool(_ADDRESS.match(address))


def _unique(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.strip().lower(), address.strip())
    return list(seen.values())


class EwsMailer:
    """Mailer over EWS for one programme mailbox; every method is safe to call from the event loop."""

    def __init__(
        self,
        *,
        service_endpoint: str | None,
        mailbox: str,
        auth: str,  # "basic" | "ntlm" | "oauth"
        default_timezone: str,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        tenant_id: str | None = None,
        authority_host: str = AUTHORITY_HOST,
        http_client: Any = None,
        access_type: str | None = None,  # "delegate" | "impersonation"
        server_build: tuple[int, int, int, int] | None = DEFAULT_BUILD,
        autodiscover: bool = False,
        max_wait: float = 10.0,
        max_attempts: int = 5,
        retry_delay: float = 0.5,
        timeout: float = 60.0,
        max_connections: int = 1,
    ) -> None:
        """Build the mailer; nothing is sent to the server until the first call.

        auth "basic"/"ntlm" (Exchange Server) need username + password ("DOMAIN\\user" or a UPN for
        NTLM). auth "oauth" (Exchange Online, app-only client credentials) needs client_id,
        client_secret and tenant_id; msal fetches the tokens from <authority_host>/<tenant> (public cloud: https://login.microsoftonline.com)
        (`http_client` is msal's HTTP client hook, for tests).
        access_type defaults to impersonation for oauth (what app-only EWS requires) and delegate
        otherwise. max_wait bounds the seconds one call spends waiting on server back-offs.
        """
        if "@" not in mailbox:
            raise ValueError("mailbox must be the primary SMTP address of the programme mailbox")
        if not service_endpoint and not autodiscover:
            raise ValueError("service_endpoint is required unless autodiscover=True")
        ZoneInfo(default_timezone)  # fail early on an unknown zone
        self._mailbox = mailbox
        self._max_wait, self._max_attempts, self._retry_delay = max_wait, max(1, max_attempts), retry_delay
        self._tokens: MsalTokens | None = None
        self._oauth_client: _MsalClient | None = None
        if auth in ("basic", "ntlm"):
            if not username or not password:
                raise ValueError(f"auth={auth!r} needs username and password")
            credentials: Any = Credentials(username=username, password=password)
            auth_type = BASIC if auth == "basic" else NTLM
        elif auth == "oauth":
            if not (client_id and client_secret and tenant_id):
                raise ValueError("auth='oauth' needs client_id, client_secret and tenant_id")
            self._tokens = MsalTokens(
                client_id,
                client_secret,
                authority_for(tenant_id, authority_host),
                EWS_SCOPE,
                http_client=http_client,
                service="Exchange",
            )
            credentials = _MsalCredentials(
                client_id=client_id,
                tenant_id=tenant_id,
                identity=Identity(primary_smtp_address=mailbox),
                tokens=self._tokens,
            )
            self._oauth_client = credentials.client
            auth_type = OAUTH2
        else:
            raise ValueError(f"unknown auth {auth!r}: use 'basic', 'ntlm' or 'oauth'")
        access = access_type or ("impersonation" if auth == "oauth" else "delegate")
        if access not in ("impersonation", "delegate"):
            raise ValueError(f"unknown access_type {access!r}: use 'impersonation' or 'delegate'")
        self._config = Configuration(
            service_endpoint=service_endpoint or None,
            credentials=credentials,
            auth_type=auth_type,
            version=Version(build=Build(*server_build)) if server_build else None,
            retry_policy=FailFast(),
            max_connections=max_connections,
        )
        self._account_args: dict[str, Any] = {
            "primary_smtp_address": mailbox,
            "access_type": IMPERSONATION if access == "impersonation" else DELEGATE,
            "autodiscover": autodiscover,
            "default_timezone": EWSTimeZone(default_timezone),
        }
        if autodiscover:
            self._account_args["credentials"] = credentials
        self._timeout = timeout
        self._account: Any = None
        self._lock = threading.Lock()
        self._uncertain_keys: set[str] = set()  # sends whose last attempt ended in doubt
        _register_key_field()

    # ---- Mailer protocol -----------------------------------------------------------------------
    async def send_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> MeetingResult:
        return await asyncio.to_thread(self._send_invite, invite, existing)

    async def cancel_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> None:
        await asyncio.to_thread(self._cancel_invite, invite, existing)

    async def send_mail(self, message: MailMessage) -> None:
        await asyncio.to_thread(self._send_mail, message)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    # ---- plumbing ------------------------------------------------------------------------------
    def _acct(self) -> Any:
        with self._lock:
            if self._account is None:
                account = Account(**self._account_args, config=self._config)
                account.protocol.TIMEOUT = self._timeout
                self._account = account
            return self._account

    def _close(self) -> None:
        with self._lock:
            account, self._account = self._account, None
        if account is not None:
            account.protocol.close()
            try:
                del Protocol[account.protocol.config]
            except KeyError:
                pass
        if self._tokens is not None:
            self._tokens.close()  # msal's HTTP client

    def _with_fresh_token(self, attempt: Callable[[bool], T], in_doubt: bool) -> T:
        """attempt(in_doubt); with OAuth, a 401 drops the refused token from msal and tries once more."""
        try:
            return attempt(in_doubt)
        except UnauthorizedError:
            refused = self._oauth_client.last_token if self._oauth_client is not None else None
            if self._tokens is None or refused is None:
                raise
            log.info("EWS: Exchange refused the access token for %s; getting a new one", self._mailbox)
            self._tokens.invalidate(refused)  # a 401 means nothing was processed: the retry is safe
            return attempt(in_doubt)

    def _auth_error(self) -> MailError:
        return MailError(MailFailure.AUTH, f"Exchange rejected the credentials for {self._mailbox}")

    def _call(self, what: str, attempt: Callable[[bool], T], key: str | None = None) -> T:
        """Run attempt(in_doubt) under our bounded retry policy; in_doubt means "look before creating"."""
        deadline = time.monotonic() + self._max_wait
        in_doubt = key in self._uncertain_keys
        for n in range(1, self._max_attempts + 1):
            try:
                result = self._with_fresh_token(attempt, in_doubt)
            except ErrorServerBusy as e:
                if isinstance(e.__context__, _UNCERTAIN) or str(e).startswith("Reraised from"):
                    in_doubt, wait = True, self._retry_delay * 2 ** (n - 1)  # a 503 etc. seen via FailFast
                else:
                    wait = e.back_off if e.back_off is not None else self._retry_delay
                error: Exception = e
            except UnauthorizedError:
                raise self._auth_error() from None
            except (ErrorInvalidRecipients, ErrorItemNotFound):
                raise
            except _AUTH_ERRORS as e:
                reason = (
                    f"Exchange did not let {self._mailbox} {what} ({type(e).__name__}): check its permissions"
                )
                raise MailError(MailFailure.AUTH, reason) from None
            except _UNCERTAIN as e:
                in_doubt, wait, error = True, self._retry_delay * 2 ** (n - 1), e
            except ResponseMessageError as e:
                raise MailError(MailFailure.FAIL, f"Exchange refused to {what}: {type(e).__name__}") from None
            except RedirectError:
                raise MailError(MailFailure.FAIL, f"Exchange redirected the request to {what}") from None
            except TransportError as e:  # bad gateway, unparsable reply, TLS: may have been processed
                in_doubt, wait, error = True, self._retry_delay * 2 ** (n - 1), e
            except MailError:
                raise
            except Exception as e:
                log.exception("EWS: unexpected failure to %s for %s", what, self._mailbox)
                raise MailError(MailFailure.FAIL, f"Exchange call failed: {type(e).__name__}") from e
            else:
                if key is not None:
                    self._uncertain_keys.discard(key)
                return result
            if key is not None and in_doubt:
                self._uncertain_keys.add(key)
            log.info("EWS: %s for %s, attempt %d: %s (in doubt: %s)", what, self._mailbox, n, error, in_doubt)
            if n == self._max_attempts or time.monotonic() + wait > deadline:
                raise MailError(
                    MailFailure.RETRY,
                    f"Exchange did not {what} for {self._mailbox} after {n} attempt(s)"
                    f" ({type(error).__name__})",
                    retry_after=wait,
                ) from None
            time.sleep(wait)
        raise AssertionError("unreachable")

    # ---- mail ----------------------------------------------------------------------------------
    def _send_mail(self, message: MailMessage) -> None:
        to = _unique(message.to)
        rejected = [a for a in to if not _is_address(a)]
        to = [a for a in to if _is_address(a)]
        what = "send the mail"
        while to:
            try:
                self._call(
                    what, lambda in_doubt: self._send_mail_once(message, to, in_doubt), message.message_id
                )
                break
            except ErrorInvalidRecipients as e:
                self._drop_rejected(e, to, rejected, what)
        if rejected:
            raise MailError(
                MailFailure.FAIL,
                f"{len(rejected)} recipient(s) are not valid for Exchange; "
                + ("the others were sent the mail" if to else "nothing was sent"),
                invalid_recipients=tuple(rejected),
            )

    def _send_mail_once(self, message: MailMessage, to: list[str], in_doubt: bool) -> None:
        account = self._acct()
        if in_doubt and self._sent_exists(message.message_id):
            return
        item = Message(
            account=account,
            folder=account.sent,
            subject=message.subject,
            body=message.body_text,
            to_recipients=[Mailbox(email_address=a) for a in to],
            **{KEY_FIELD: message.message_id},
        )
        if message.sender and message.sender.lower() != self._mailbox.lower():
            item.author = Mailbox(email_address=message.sender)  # needs Send As on that mailbox
        item.send(save_copy=True)

    def _sent_exists(self, key: str) -> bool:
        account = self._acct()
        folders = FolderCollection(account=account, folders=[account.sent, account.outbox, account.drafts])
        return bool(folders.filter(**{KEY_FIELD: key}).exists())

    @staticmethod
    def _drop_rejected(
        error: ErrorInvalidRecipients, candidates: list[str], rejected: list[str], what: str
    ) -> None:
        """Move the recipient Exchange named as unresolved from candidates to rejected."""
        match = _UNRESOLVED.search(str(error))
        named = match.group("who").strip().lower() if match else None
        found = [a for a in candidates if a.lower() == named] or (candidates if len(candidates) == 1 else [])
        if not found:
            raise MailError(
                MailFailure.FAIL,
                f"Exchange refused to {what}: a recipient is invalid but Exchange did not say which",
                invalid_recipients=tuple(rejected),
            )
        candidates.remove(found[0])
        rejected.append(found[0])

    # ---- meetings ------------------------------------------------------------------------------
    def _send_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> MeetingResult:
        try:
            tz = EWSTimeZone(invite.timezone)
        except UnknownTimeZone:
            raise MailError(MailFailure.FAIL, f"Exchange has no time zone for {invite.timezone}") from None
        if invite.start.tzinfo is None or invite.end.tzinfo is None:
            raise MailError(MailFailure.FAIL, "meeting times must be timezone-aware")
        attendees = _unique(invite.attendees)
        rejected = [a for a in attendees if not _is_address(a)]
        attendees = [a for a in attendees if _is_address(a)]
        item_id = existing.item_id if existing else None
        what = "send the meeting request"
        while True:
            if not attendees:
                raise MailError(
                    MailFailure.FAIL,
                    "no valid attendees: nothing was sent",
                    invalid_recipients=tuple(rejected),
                )
            try:
                result = self._call(
                    what, lambda _in_doubt: self._upsert_meeting(invite, tz, attendees, item_id), invite.uid
                )
                break
            except ErrorInvalidRecipients as e:
                self._drop_rejected(e, attendees, rejected, what)
        if rejected:
            raise MailError(
                MailFailure.FAIL,
                f"{len(rejected)} attendee(s) are not valid for Exchange; the others have the meeting",
                invalid_recipients=tuple(rejected),
            )
        return result

    def _find_meeting(self, key: str, item_id: str | None) -> Any:
        """The live calendar item: by stored id, else by our key (a lost id never means a second meeting)."""
        account = self._acct()
        calendar = account.calendar
        if item_id:
            try:
                item = next(iter(account.fetch(ids=[(item_id, None)])))
            except (ErrorItemNotFound, StopIteration):
                item = None
            if isinstance(item, Exception):
                item = None
            if item is not None and (
                item.parent_folder_id is None or item.parent_folder_id.id == calendar.id
            ):
                return item
        for found in calendar.filter(**{KEY_FIELD: key}).only("id", "changekey"):
            items = list(account.fetch(ids=[(found.id, found.changekey)]))
            if items and not isinstance(items[0], Exception):
                return items[0]
        return None

    def _upsert_meeting(
        self, invite: MeetingInvite, tz: Any, attendees: list[str], item_id: str | None
    ) -> MeetingResult:
        account = self._acct()
        zone = ZoneInfo(invite.timezone)
        start = EWSDateTime.from_datetime(invite.start.astimezone(zone))
        end = EWSDateTime.from_datetime(invite.end.astimezone(zone))
        item = self._find_meeting(invite.uid, item_id)
        if item is None:
            item = CalendarItem(
                account=account,
                folder=account.calendar,
                subject=invite.subject,
                body=invite.body_text,
                start=start,
                end=end,
                location=invite.location or None,
                required_attendees=list(attendees),
                uid=invite.uid,
                **{KEY_FIELD: invite.uid},
            )
            item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
            return MeetingResult(item_id=str(item.id), join_url=None)
        changed = self._meeting_changes(item, invite, tz, start, end, attendees)
        if changed:
            item.save(update_fields=changed, send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        return MeetingResult(item_id=str(item.id), join_url=None)

    @staticmethod
    def _meeting_changes(
        item: Any, invite: MeetingInvite, tz: Any, start: datetime, end: datetime, attendees: list[str]
    ) -> list[str]:
        """Set what differs on the fetched item and name those fields (empty: nothing to send)."""
        changed: list[str] = []
        if (item.subject or "") != invite.subject:
            item.subject = invite.subject
            changed.append("subject")
        # A body Exchange converted to HTML cannot be compared; a text-only change then waits.
        if not isinstance(item.body, HTMLBody) and (item.body or "").strip() != invite.body_text.strip():
            item.body = invite.body_text
            changed.append("body")
        if (item.location or "") != (invite.location or ""):
            item.location = invite.location or None
            changed.append("location")
        zones = {getattr(z, "ms_id", None) for z in (item._start_timezone, item._end_timezone)}
        if item.start != start or item.end != end or zones != {tz.ms_id}:
            item.start, item.end = start, end
            item._start_timezone = item._end_timezone = tz
            changed += ["start", "end"]
        current = {a.mailbox.email_address.lower() for a in item.required_attendees or []}
        if current != {a.lower() for a in attendees}:
            item.required_attendees = list(attendees)  # joiners get the request, leavers a cancellation
            changed.append("required_attendees")
        return changed

    def _cancel_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> None:
        item_id = existing.item_id if existing else None
        self._call("cancel the meeting", lambda _in_doubt: self._cancel_once(invite.uid, item_id), invite.uid)

    def _cancel_once(self, key: str, item_id: str | None) -> None:
        item = self._find_meeting(key, item_id)
        if item is None:
            return  # never created, or already cancelled
        try:
            item.cancel()
        except ErrorItemNotFound:
            return
