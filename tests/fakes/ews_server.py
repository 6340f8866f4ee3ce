"""A real local fake of Exchange Web Services: a stdlib ThreadingHTTPServer on 127.0.0.1.

It answers the SOAP operations exchangelib 5.6.0 sends for our mailer (GetFolder, CreateItem for
messages, calendar items and CancelCalendarItem, UpdateItem, GetItem, FindItem with an IsEqualTo
restriction) with minimal envelopes, keeps one programme mailbox plus what every
recipient "received", checks Basic credentials or OAuth bearer tokens, and injects faults:
ErrorServerBusy with BackOffMilliseconds (and notices a client that comes back before the
back-off is over), HTTP 503 before or AFTER processing a CreateItem, and recipients it refuses
with ErrorInvalidRecipients the way Exchange words it (one unresolved recipient named per error).

For OAuth it is also the tenant's sign-in service as msal uses it: the OpenID configuration, the
instance discovery and the v2.0 token endpoint (client credentials for the EWS scope), reached
through `msal_http_client()` while msal keeps the real https://login.microsoftonline.com URLs.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from tests.fakes.msal_loopback import PUBLIC_AUTHORITY_HOST, LoopbackHttpClient

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
EWS_PATH = "/EWS/Exchange.asmx"
EWS_SCOPE = "https://outlook.office365.com/.default"
_CALENDAR_FOLDERS = {"calendar"}


def _t(name: str) -> str:
    return f"{{{TNS}}}{name}"


def _m(name: str) -> str:
    return f"{{{MNS}}}{name}"


@dataclass(frozen=True)
class Received:
    """One thing that landed in a recipient's inbox."""

    kind: str  # "message" | "meeting_request" | "meeting_update" | "meeting_cancellation"
    sender: str
    subject: str
    body: str
    uid: str | None = None
    start: str | None = None
    end: str | None = None
    location: str | None = None
    attendees: tuple[str, ...] = ()


@dataclass
class StoredItem:
    """An item in the programme mailbox (Sent Items copy or calendar item)."""

    id: str
    changekey: str
    folder: str
    kind: str  # "Message" | "CalendarItem"
    subject: str = ""
    body: str = ""
    recipients: tuple[str, ...] = ()  # To for messages, required attendees for meetings
    start: str | None = None
    end: str | None = None
    start_timezone: str | None = None
    location: str | None = None
    uid: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # PropertyName -> value


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it and what it answered."""

    operation: str  # SOAP operation, "token", or "?" when unparsed
    status: int
    code: str  # NoError, ErrorServerBusy, ErrorInvalidRecipients, Unauthorized, ...
    impersonated: str | None  # PrimarySmtpAddress in the ExchangeImpersonation header
    time: float  # time.monotonic() on arrival


def _text(elem: ET.Element | None, path: str) -> str | None:
    found = elem.find(path) if elem is not None else None
    return (found.text or "") if found is not None else None


def _children(elem: ET.Element, path: str) -> list[ET.Element]:
    found = elem.find(path)
    return list(found) if found is not None else []


def _addresses(elem: ET.Element, container: str) -> tuple[str, ...]:
    box = elem.find(_t(container))
    if box is None:
        return ()
    return tuple((e.text or "").strip() for e in box.iter(_t("EmailAddress")))


def _extended(elem: ET.Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for prop in elem.findall(_t("ExtendedProperty")):
        uri, value = prop.find(_t("ExtendedFieldURI")), prop.find(_t("Value"))
        if uri is not None and value is not None:
            out[uri.get("PropertyName") or uri.get("PropertyTag") or "?"] = value.text or ""
    return out


class _Refusal(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class FakeEws:
    """Fake Exchange server for one programme mailbox; use as a context manager or start()/stop()."""

    def __init__(
        self,
        mailbox: str,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        tenant: str = "contoso-tenant-id",
    ) -> None:
        self.mailbox = mailbox
        self.tenant = tenant
        self._basic = (username, password) if username is not None else None
        self._client = (client_id, client_secret) if client_id is not None else None
        self._tokens: set[str] = set()
        self.issued_tokens: list[str] = []
        self.token_forms: list[dict[str, str]] = []  # token request fields, the secret left out
        self.discovery_requests = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.items: dict[str, StoredItem] = {}
        self._inboxes: dict[str, list[Received]] = {}
        self.requests: list[Recorded] = []
        self.early_retries = 0  # requests that came back before the announced back-off was over
        # Faults
        self._busy_left = 0
        self._busy_ms = 0
        self._busy_until = 0.0
        self._fail_after_create = 0
        self._fail_before: dict[str, int] = {}
        self._retry_after: int | None = None
        self._rejected: set[str] = set()
        self._hold: str | None = None
        self.held = threading.Event()  # set while a held request waits for release()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle and views -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.base_url + EWS_PATH

    @property
    def authority(self) -> str:
        """The authority to give msal: the real public one, routed here by msal_http_client()."""
        return f"{PUBLIC_AUTHORITY_HOST}/{self.tenant}"

    def msal_http_client(self) -> LoopbackHttpClient:
        """An HTTP client for msal (its `http_client` option) that reaches this fake, never the internet."""
        return LoopbackHttpClient({PUBLIC_AUTHORITY_HOST: self.base_url})

    def start(self) -> FakeEws:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-ews", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeEws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def inbox(self, address: str) -> list[Received]:
        with self._lock:
            return list(self._inboxes.get(address.lower(), []))

    def folder(self, name: str) -> list[StoredItem]:
        with self._lock:
            return [i for i in self.items.values() if i.folder == name]

    def operations(self) -> list[str]:
        with self._lock:
            return [r.operation for r in self.requests]

    # ---- faults --------------------------------------------------------------------------------
    def busy(self, times: int, backoff_ms: int) -> None:
        """Answer the next `times` EWS requests with ErrorServerBusy and BackOffMilliseconds."""
        with self._lock:
            self._busy_left, self._busy_ms = times, backoff_ms

    def fail_after_create(self, times: int = 1, retry_after: int | None = None) -> None:
        """Process the next `times` CreateItem requests fully, then answer HTTP 503."""
        with self._lock:
            self._fail_after_create, self._retry_after = times, retry_after

    def fail_before(self, operation: str, times: int = 1) -> None:
        """Answer the next `times` requests for `operation` with HTTP 503 without processing them."""
        with self._lock:
            self._fail_before[operation] = times

    def hold_next(self, operation: str) -> None:
        """Park the next `operation` request until release() (or 10 s), so a test can look mid-call."""
        self.held.clear()
        self._release.clear()
        self._hold = operation

    def release(self) -> None:
        self._release.set()

    def reject_recipients(self, *addresses: str) -> None:
        with self._lock:
            self._rejected = {a.lower() for a in addresses}

    def revoke_tokens(self) -> None:
        """Stop accepting every token issued so far (as after a credential reset)."""
        with self._lock:
            self._tokens.clear()

    # ---- HTTP ----------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                self._reply(*fake._sign_in_get(self.path))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._reply(*fake._dispatch(self.path, dict(self.headers.items()), body))

            def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _record(self, operation: str, status: int, code: str, impersonated: str | None, t: float) -> None:
        self.requests.append(Recorded(operation, status, code, impersonated, t))

    def _dispatch(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        arrived = time.monotonic()
        if self._hold and any(f"<m:{self._hold}{c}".encode() in body for c in " >"):
            self._hold = None
            self.held.set()
            self._release.wait(timeout=10)
        with self._lock:
            if urlsplit(path).path == f"/{self.tenant}/oauth2/v2.0/token":
                return self._token(body, arrived)
            try:
                root = ET.fromstring(body)
                op_elem = root.find(f"{{{SOAP}}}Body")[0]  # type: ignore[index]
            except (ET.ParseError, TypeError, IndexError):
                self._record("?", 400, "BadRequest", None, arrived)
                return 400, {}, b"bad request"
            operation = op_elem.tag.split("}")[-1]
            impersonated = _text(root, f".//{_t('ExchangeImpersonation')}//{_t('PrimarySmtpAddress')}")
            if not self._authorised(headers.get("Authorization", "")):
                self._record(operation, 401, "Unauthorized", impersonated, arrived)
                return 401, {"WWW-Authenticate": 'Basic realm="fake-ews"'}, b""
            if self._busy_left or arrived < self._busy_until:
                if arrived < self._busy_until:
                    self.early_retries += 1
                self._busy_left = max(0, self._busy_left - 1)
                self._busy_until = time.monotonic() + self._busy_ms / 1000
                self._record(operation, 500, "ErrorServerBusy", impersonated, arrived)
                return 500, _XML, self._busy_fault()
            if self._fail_before.get(operation):
                self._fail_before[operation] -= 1
                self._record(operation, 503, "ServiceUnavailable", impersonated, arrived)
                return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
            messages = getattr(self, f"_op_{operation}", None)
            if messages is None:
                self._record(operation, 500, "ErrorInvalidOperation", impersonated, arrived)
                return 500, _XML, _fault("ErrorInvalidOperation", f"{operation} is not faked")
            responses: list[str] = messages(op_elem)
            codes = {r.split("<m:ResponseCode>")[1].split("<")[0] for r in responses} or {"NoError"}
            code = "NoError" if codes == {"NoError"} else sorted(codes - {"NoError"})[0]
            if operation == "CreateItem" and self._fail_after_create:
                self._fail_after_create -= 1
                self._record(operation, 503, f"{code}+ServiceUnavailable", impersonated, arrived)
                extra = {"Retry-After": str(self._retry_after)} if self._retry_after else {}
                return 503, {"Content-Type": "text/plain", **extra}, b"Service Unavailable"
            self._record(operation, 200, code, impersonated, arrived)
            return 200, _XML, _envelope(operation, responses)

    def _authorised(self, header: str) -> bool:
        if self._basic is not None:
            expected = base64.b64encode(f"{self._basic[0]}:{self._basic[1]}".encode()).decode()
            return header == f"Basic {expected}"
        if self._client is not None:
            return header.startswith("Bearer ") and header[7:] in self._tokens
        return True

    def _sign_in_get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """msal's tenant discovery (OpenID configuration) and instance discovery (host aliases)."""
        route = urlsplit(path).path
        with self._lock:
            self.discovery_requests += 1
        if route == "/common/discovery/instance":
            aliases = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com"]
            reply: dict[str, Any] = {
                "tenant_discovery_endpoint": (
                    f"{PUBLIC_AUTHORITY_HOST}/common/v2.0/.well-known/openid-configuration"
                ),
                "metadata": [
                    {
                        "preferred_network": "login.microsoftonline.com",
                        "preferred_cache": "login.windows.net",
                        "aliases": aliases,
                    }
                ],
            }
            return 200, _JSON, json.dumps(reply).encode()
        if route == f"/{self.tenant}/v2.0/.well-known/openid-configuration":
            base = f"{PUBLIC_AUTHORITY_HOST}/{self.tenant}"
            reply = {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            }
            return 200, _JSON, json.dumps(reply).encode()
        reply = {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}
        return 400, _JSON, json.dumps(reply).encode()

    def _token(self, body: bytes, arrived: float) -> tuple[int, dict[str, str], bytes]:
        """Entra ID's v2.0 token endpoint for client credentials, with its error shapes."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.token_forms.append({k: v for k, v in form.items() if k != "client_secret"})
        if form.get("grant_type") != "client_credentials" or form.get("scope") != EWS_SCOPE:
            status, error, text = (
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid.",
            )
        elif self._client is None or form.get("client_id") != self._client[0]:
            status, error, text = 400, "unauthorized_client", "AADSTS700016: Application not found."
        elif form.get("client_secret") != self._client[1]:
            status, error, text = 401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
        else:
            status, error, text = 200, "NoError", ""
        self._record("token", status, error, None, arrived)
        if status != 200:
            return status, _JSON, json.dumps({"error": error, "error_description": text}).encode()
        token = secrets.token_urlsafe(16)
        self._tokens.add(token)
        self.issued_tokens.append(token)
        reply = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        return 200, _JSON, json.dumps(reply).encode()

    def _busy_fault(self) -> bytes:
        detail = (
            f'<e:ResponseCode xmlns:e="{ENS}">ErrorServerBusy</e:ResponseCode>'
            f'<e:Message xmlns:e="{ENS}">The server cannot service this request right now. Try again later.'
            f'</e:Message><t:MessageXml xmlns:t="{TNS}">'
            f'<t:Value Name="BackOffMilliseconds">{self._busy_ms}</t:Value></t:MessageXml>'
        )
        return _fault("ErrorServerBusy", "The server cannot service this request right now.", detail)

    # ---- operations (called with the lock held); each returns one response message per input ----
    def _new_id(self) -> tuple[str, str]:
        n = next(self._ids)
        return f"AAMk{n:06d}=", f"CQAAA{n:04d}"

    def _find_item(self, id_elem: ET.Element) -> StoredItem:
        item = self.items.get(id_elem.get("Id", ""))
        if item is None:
            raise _Refusal("ErrorItemNotFound", "The specified object was not found in the store.")
        return item

    def _deliver(self, to: tuple[str, ...], received: Received) -> None:
        for address in dict.fromkeys(a.lower() for a in to):
            self._inboxes.setdefault(address, []).append(received)

    def _check_recipients(self, recipients: tuple[str, ...]) -> None:
        for address in recipients:
            if address.lower() in self._rejected:
                raise _Refusal(
                    "ErrorInvalidRecipients",
                    f"At least one recipient isn't valid., Recipient '{address}' isn't resolved. "
                    "All recipients must be resolved before a message can be submitted.",
                )

    def _op_GetFolder(self, op: ET.Element) -> list[str]:  # noqa: N802
        out = []
        for fid in _children(op, _m("FolderIds")):
            name = fid.get("Id", "")
            tag = "CalendarFolder" if name in _CALENDAR_FOLDERS else "Folder"
            cls = "IPF.Appointment" if name in _CALENDAR_FOLDERS else "IPF.Note"
            folder = (
                f'<t:{tag}><t:FolderId Id="{name}" ChangeKey="AQ"/><t:FolderClass>{cls}</t:FolderClass>'
                f"<t:DisplayName>{name}</t:DisplayName><t:TotalCount>0</t:TotalCount>"
                f"<t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>0</t:UnreadCount></t:{tag}>"
            )
            out.append(_ok("GetFolder", f"<m:Folders>{folder}</m:Folders>"))
        return out

    def _op_CreateItem(self, op: ET.Element) -> list[str]:  # noqa: N802
        saved = op.find(f"{_m('SavedItemFolderId')}/*")
        folder = saved.get("Id", "") if saved is not None else "sentitems"
        out = []
        for elem in _children(op, _m("Items")):
            kind = elem.tag.split("}")[-1]
            try:
                if kind == "Message":
                    body = self._create_message(elem, op.get("MessageDisposition", ""), folder)
                elif kind == "CalendarItem":
                    body = self._create_meeting(elem, op.get("SendMeetingInvitations", ""), folder)
                elif kind == "CancelCalendarItem":
                    body = self._cancel_meeting(elem)
                else:
                    raise _Refusal("ErrorInvalidRequest", f"{kind} is not faked")
            except _Refusal as refusal:
                out.append(_error("CreateItem", refusal))
            else:
                out.append(_ok("CreateItem", f"<m:Items>{body}</m:Items>"))
        return out

    def _create_message(self, elem: ET.Element, disposition: str, folder: str) -> str:
        to = _addresses(elem, "ToRecipients")
        if disposition != "SaveOnly":
            self._check_recipients(to)
        item_id, ck = self._new_id()
        subject, body = _text(elem, _t("Subject")) or "", _text(elem, _t("Body")) or ""
        item = StoredItem(item_id, ck, folder, "Message", subject, body, to, extended=_extended(elem))
        if disposition != "SendOnly":
            self.items[item_id] = item
        if disposition != "SaveOnly":
            sender = _text(elem, f"{_t('From')}//{_t('EmailAddress')}") or self.mailbox
            self._deliver(to, Received("message", sender, item.subject, item.body))
            return ""  # Exchange returns no ItemId for sent messages
        return f'<t:Message><t:ItemId Id="{item_id}" ChangeKey="{ck}"/></t:Message>'

    def _meeting_received(self, kind: str, item: StoredItem) -> Received:
        fields = (item.subject, item.body, item.uid, item.start, item.end, item.location, item.recipients)
        return Received(kind, self.mailbox, *fields)

    def _create_meeting(self, elem: ET.Element, send: str, folder: str) -> str:
        attendees = _addresses(elem, "RequiredAttendees")
        sending = send.startswith("SendTo") and send != "SendToNone"
        if sending:
            self._check_recipients(attendees)
        tz = elem.find(_t("StartTimeZone"))
        item_id, ck = self._new_id()
        item = StoredItem(
            item_id,
            ck,
            folder or "calendar",
            "CalendarItem",
            subject=_text(elem, _t("Subject")) or "",
            body=_text(elem, _t("Body")) or "",
            recipients=attendees,
            start=_text(elem, _t("Start")),
            end=_text(elem, _t("End")),
            start_timezone=tz.get("Id") if tz is not None else None,
            location=_text(elem, _t("Location")),
            uid=_text(elem, _t("UID")) or f"fake-uid-{item_id}",
            extended=_extended(elem),
        )
        self.items[item_id] = item
        if sending:
            self._deliver(attendees, self._meeting_received("meeting_request", item))
        return f'<t:CalendarItem><t:ItemId Id="{item_id}" ChangeKey="{ck}"/></t:CalendarItem>'

    def _cancel_meeting(self, elem: ET.Element) -> str:
        ref = elem.find(_t("ReferenceItemId"))
        item = self._find_item(ref if ref is not None else elem)
        if item.folder not in _CALENDAR_FOLDERS:
            raise _Refusal("ErrorItemNotFound", "The specified object was not found in the store.")
        item.folder = "deleteditems"
        self._deliver(item.recipients, self._meeting_received("meeting_cancellation", item))
        return ""

    def _op_UpdateItem(self, op: ET.Element) -> list[str]:  # noqa: N802
        send = op.get("SendMeetingInvitationsOrCancellations", "SendToNone")
        sending = send.startswith("SendTo") and send != "SendToNone"
        out = []
        for change in _children(op, _m("ItemChanges")):
            try:
                stored = self._find_item(change.find(_t("ItemId")))  # type: ignore[arg-type]
                item = replace(stored, extended=dict(stored.extended))  # all or nothing, like EWS
                for update in _children(change, _t("Updates")):
                    self._apply(item, update)
                if sending:
                    self._check_recipients(item.recipients)
            except _Refusal as refusal:
                out.append(_error("UpdateItem", refusal))
                continue
            _, item.changekey = self._new_id()
            self.items[item.id] = item
            if sending:
                now = {r.lower() for r in item.recipients}
                leavers = tuple(a for a in stored.recipients if a.lower() not in now)
                self._deliver(item.recipients, self._meeting_received("meeting_update", item))
                self._deliver(leavers, self._meeting_received("meeting_cancellation", item))
            ids = f'<t:{item.kind}><t:ItemId Id="{item.id}" ChangeKey="{item.changekey}"/></t:{item.kind}>'
            conflicts = "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"
            out.append(_ok("UpdateItem", f"<m:Items>{ids}</m:Items>{conflicts}"))
        return out

    def _apply(self, item: StoredItem, update: ET.Element) -> None:
        """One SetItemField / DeleteItemField on a copy of the item."""
        uri = update.find(_t("FieldURI"))
        name = (uri.get("FieldURI", "") if uri is not None else "").split(":")[-1]
        value = update.find(f"{_t(item.kind)}/*") if update.tag == _t("SetItemField") else None
        if name == "RequiredAttendees":
            attendees = (
                tuple((e.text or "") for e in value.iter(_t("EmailAddress"))) if value is not None else ()
            )
            item.recipients = attendees
        elif name in {"Subject", "Body", "Start", "End", "Location"}:
            setattr(item, name.lower(), (value.text or "") if value is not None else None)
        elif name == "StartTimeZone":
            item.start_timezone = value.get("Id") if value is not None else None

    def _op_GetItem(self, op: ET.Element) -> list[str]:  # noqa: N802
        out = []
        for id_elem in _children(op, _m("ItemIds")):
            try:
                item = self._find_item(id_elem)
            except _Refusal as refusal:
                out.append(_error("GetItem", refusal))
            else:
                out.append(_ok("GetItem", f"<m:Items>{_item_xml(item)}</m:Items>"))
        return out

    def _op_FindItem(self, op: ET.Element) -> list[str]:  # noqa: N802
        folders = [f.get("Id", "") for f in _children(op, _m("ParentFolderIds"))]
        equal = op.find(f"{_m('Restriction')}/{_t('IsEqualTo')}")
        wanted: tuple[str, str] | None = None
        if equal is not None:
            uri, const = equal.find(_t("ExtendedFieldURI")), equal.find(f".//{_t('Constant')}")
            if uri is not None and const is not None:
                wanted = (uri.get("PropertyName", ""), const.get("Value", ""))
        out = []
        for folder in folders:  # one response message per parent folder, like EWS
            found = [i for i in self.items.values() if i.folder == folder]
            if wanted is not None:
                found = [i for i in found if i.extended.get(wanted[0]) == wanted[1]]
            items = "".join(
                f'<t:{i.kind}><t:ItemId Id="{i.id}" ChangeKey="{i.changekey}"/></t:{i.kind}>' for i in found
            )
            root = (
                f'<m:RootFolder IndexingOffset="{len(found)}" TotalItemsInView="{len(found)}" '
                f'IncludesLastItemInRange="true"><t:Items>{items}</t:Items></m:RootFolder>'
            )
            out.append(_ok("FindItem", root))
        return out


_XML = {"Content-Type": "text/xml; charset=utf-8"}
_JSON = {"Content-Type": "application/json"}


def _item_xml(item: StoredItem) -> str:
    parts = [
        f'<t:ItemId Id="{item.id}" ChangeKey="{item.changekey}"/>',
        f'<t:ParentFolderId Id="{item.folder}" ChangeKey="AQ"/>',
        f"<t:Subject>{escape(item.subject)}</t:Subject>",
        f'<t:Body BodyType="Text">{escape(item.body)}</t:Body>',
    ]
    for name, value in item.extended.items():
        parts.append(
            f'<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" '
            f'PropertyName={quoteattr(name)} PropertyType="String"/><t:Value>{escape(value)}</t:Value>'
            "</t:ExtendedProperty>"
        )
    boxes = [f"<t:Mailbox><t:EmailAddress>{escape(a)}</t:EmailAddress></t:Mailbox>" for a in item.recipients]
    if item.kind == "Message":
        parts.append(f"<t:ToRecipients>{''.join(boxes)}</t:ToRecipients>")
        return f"<t:Message>{''.join(parts)}</t:Message>"
    attendees = "".join(f"<t:Attendee>{box}</t:Attendee>" for box in boxes)
    parts += [
        f"<t:Start>{item.start}</t:Start>",
        f"<t:End>{item.end}</t:End>",
        f"<t:Location>{escape(item.location or '')}</t:Location>",
        f"<t:RequiredAttendees>{attendees}</t:RequiredAttendees>",
        f"<t:UID>{escape(item.uid or '')}</t:UID>",
    ]
    if item.start_timezone:
        zone = quoteattr(item.start_timezone)
        parts += [f"<t:StartTimeZone Id={zone}/>", f"<t:EndTimeZone Id={zone}/>"]
    return f"<t:CalendarItem>{''.join(parts)}</t:CalendarItem>"


def _ok(operation: str, inner: str) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
        f"{inner}</m:{operation}ResponseMessage>"
    )


def _error(operation: str, refusal: _Refusal) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(refusal.text)}'
        f"</m:MessageText><m:ResponseCode>{refusal.code}</m:ResponseCode><m:DescriptiveLinkKey>0"
        f"</m:DescriptiveLinkKey></m:{operation}ResponseMessage>"
    )


_HEADER = (
    '<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
    f'MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="{TNS}"/></s:Header>'
)


def _envelope(operation: str, responses: list[str]) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}">{_HEADER}<s:Body>'
        f'<m:{operation}Response xmlns:m="{MNS}" xmlns:t="{TNS}"><m:ResponseMessages>{"".join(responses)}'
        f"</m:ResponseMessages></m:{operation}Response></s:Body></s:Envelope>"
    ).encode()


def _fault(code: str, text: str, detail: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="{TNS}">a:{code}</faultcode><faultstring xml:lang="en-US">{escape(text)}'
        f"</faultstring><detail>{detail}</detail></s:Fault></s:Body></s:Envelope>"
    ).encode()
