"""A real local fake of Microsoft Graph and its sign-in service: an aiohttp app on 127.0.0.1.

Sign-in: the tenant's OpenID configuration and the v2.0 token endpoint (client credentials),
counting token requests and issuing tokens with `expires_in`. msal only accepts https
authorities, so msal keeps its real authority URLs (https://login.microsoftonline.com/<tenant>)
and `msal_http_client()` hands it an HTTP client that routes exactly that host to this fake.

Graph: events (create with transactionId de-duplication and a Teams joinUrl for online
meetings, PATCH, cancel) and sendMail, with bearer-token checks (unknown, expired or revoked ->
401 InvalidAuthenticationToken), mailboxes the app may not use (403 ErrorAccessDenied), addresses
Exchange refuses (400 ErrorInvalidRecipients) and injected faults (N x 429/503 with Retry-After,
optionally after the request was processed, like a response lost on the way back).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.loopback_app import LoopbackApp
from tests.fakes.msal_loopback import PUBLIC_AUTHORITY_HOST, LoopbackHttpClient

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class RecordedRequest:
    """One Graph request as the fake saw it (token requests are in `token_requests`)."""

    time: float  # time.monotonic() on arrival
    method: str
    path: str
    body: Any
    authorization: str | None
    prefer: str | None
    status: int  # what the fake answered


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: float | None
    after_processing: bool
    method: str | None
    path_suffix: str | None


class FakeGraph(LoopbackApp):
    """Sign-in plus the Graph endpoints the graph mailer calls, for one app in one tenant."""

    def __init__(
        self,
        *,
        tenant: str = "contoso-tenant-id",
        client_id: str = "reflect-app-id",
        client_secret: str = "s3cret-value~not-the-id",
        token_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
        authority_host: str = PUBLIC_AUTHORITY_HOST,
    ) -> None:
        self.tenant = tenant
        # The sign-in host msal is given (a national cloud's, say); msal_http_client routes it here.
        self.authority_host = authority_host
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.clock = clock  # wall clock for token expiry, as Entra ID uses
        self.requests: list[RecordedRequest] = []
        self.token_requests: list[dict[str, str]] = []  # form fields, the secret left out
        self.discovery_requests = 0
        self.events: dict[str, dict[str, Any]] = {}  # event id -> event as stored
        self.cancelled: dict[str, str] = {}  # event id -> comment
        self.sent_mail: list[dict[str, Any]] = []  # sendMail bodies accepted
        self.invalid_addresses: set[str] = set()
        self.denied_mailboxes: set[str] = set()
        self.issued_tokens: list[str] = []
        self._tokens: dict[str, float] = {}  # token -> expires at (clock)
        self._faults: list[_Fault] = []
        self._transactions: dict[str, str] = {}  # transactionId -> event id
        self._ids = itertools.count(1)
        super().__init__()

    # -- set-up ------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: float | None = None,
        after_processing: bool = False,
        method: str | None = None,
        path_suffix: str | None = None,
    ) -> None:
        """Answer the next `times` Graph calls (matching method/path suffix, if given) with `status`.

        With `after_processing` the request takes effect first and only the answer is the fault.
        """
        self._faults.append(_Fault(status, times, retry_after, after_processing, method, path_suffix))

    def revoke_tokens(self) -> None:
        """Graph stops accepting every token issued so far (as after a credential reset)."""
        self._tokens.clear()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def graph_url(self) -> str:
        """The base URL to give the mailer (stands for https://graph.microsoft.com/v1.0)."""
        return f"{self.url}/v1.0"

    @property
    def authority(self) -> str:
        """The authority to give msal: the real public one, routed here by msal_http_client()."""
        return f"{self.authority_host}/{self.tenant}"

    def msal_http_client(self) -> LoopbackHttpClient:
        """An HTTP client for msal (its `http_client` option) that reaches this fake, never the internet."""
        return LoopbackHttpClient({self.authority_host: self.url})

    def routes(self, app: web.Application) -> None:
        """The endpoints this fake answers."""
        app.router.add_get("/common/discovery/instance", self._instance_discovery)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_configuration)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/v1.0/users/{mailbox}/events", self._create_event)
        app.router.add_patch("/v1.0/users/{mailbox}/events/{event}", self._update_event)
        app.router.add_post("/v1.0/users/{mailbox}/events/{event}/cancel", self._cancel_event)
        app.router.add_post("/v1.0/users/{mailbox}/sendMail", self._send_mail)

    # -- what tests read ---------------------------------------------------------------------

    def graph_calls(self, method: str | None = None, path_suffix: str = "") -> list[RecordedRequest]:
        """Recorded Graph requests, optionally only one method and path ending."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and r.path.endswith(path_suffix)
        ]

    # -- sign-in -----------------------------------------------------------------------------

    async def _instance_discovery(self, request: web.Request) -> web.Response:
        # msal asks for the public cloud's host aliases when a token request fails (it looks
        # for refresh tokens cached under an alias); the answer has Entra ID's shape.
        self.discovery_requests += 1
        aliases = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]
        return web.json_response(
            {
                "tenant_discovery_endpoint": (
                    f"{PUBLIC_AUTHORITY_HOST}/common/v2.0/.well-known/openid-configuration"
                ),
                "api-version": request.query.get("api-version", "1.1"),
                "metadata": [
                    {
                        "preferred_network": "login.microsoftonline.com",
                        "preferred_cache": "login.windows.net",
                        "aliases": aliases,
                    }
                ],
            }
        )

    async def _openid_configuration(self, request: web.Request) -> web.Response:
        self.discovery_requests += 1
        tenant = request.match_info["tenant"]
        if tenant != self.tenant:
            body = {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
            }
            return web.json_response(body, status=400)
        base = f"{self.authority_host}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items() if k != "client_secret"})
        if request.match_info["tenant"] != self.tenant:
            return self._token_error(400, "invalid_request", 90002, "Tenant not found.")
        # The public Graph's scope, or the one of this fake's own URL when it stands for another cloud.
        scopes = (GRAPH_SCOPE, f"{self.url}/.default")
        if form.get("grant_type") != "client_credentials" or form.get("scope") not in scopes:
            return self._token_error(
                400, "invalid_scope", 1002012, "The provided value for scope is not valid."
            )
        if form.get("client_id") != self.client_id:
            return self._token_error(
                400, "unauthorized_client", 700016, "Application not found in the directory."
            )
        if form.get("client_secret") != self.client_secret:
            return self._token_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        token = f"fake-graph-token-{len(self.issued_tokens) + 1}"
        self.issued_tokens.append(token)
        self._tokens[token] = self.clock() + self.token_lifetime
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    @staticmethod
    def _token_error(status: int, error: str, code: int, text: str) -> web.Response:
        body = {"error": error, "error_description": f"AADSTS{code}: {text}", "error_codes": [code]}
        return web.json_response(body, status=status)

    # -- Graph -------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: str, message: str, retry_after: float | None = None) -> web.Response:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        return web.json_response(
            {"error": {"code": code, "message": message}}, status=status, headers=headers
        )

    def _refusal(self, request: web.Request) -> web.Response | None:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or not authorization.removeprefix("Bearer "):
            return self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
        expires = self._tokens.get(authorization.removeprefix("Bearer "))
        if expires is None or expires <= self.clock():
            return self._error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        if request.match_info["mailbox"].lower() in self.denied_mailboxes:
            return self._error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return None

    def _take_fault(self, request: web.Request) -> _Fault | None:
        for fault in self._faults:
            if (
                fault.remaining > 0
                and fault.method in (None, request.method)
                and (fault.path_suffix is None or request.path.endswith(fault.path_suffix))
            ):
                fault.remaining -= 1
                return fault
        return None

    def _invalid_recipients(self, addresses: list[str]) -> web.Response | None:
        bad = [a for a in addresses if a.lower() in self.invalid_addresses]
        if not bad:
            return None
        # Exchange Online's wording, one named recipient.
        return self._error(
            400,
            "ErrorInvalidRecipients",
            f"At least one recipient is not valid., Recipient '{bad[0]}' is not resolved. "
            "All recipients must be resolved before a message can be submitted.",
        )

    async def _handle(self, request: web.Request, act: Callable[[Any], web.Response]) -> web.Response:
        now = time.monotonic()
        raw = await request.read()
        body = orjson.loads(raw) if raw else None
        response = self._refusal(request)
        if response is None:
            fault = self._take_fault(request)
            if fault is not None and fault.after_processing:
                act(body)
            if fault is not None:
                response = self._error(
                    fault.status, f"Fault{fault.status}", "Injected fault.", fault.retry_after
                )
            else:
                response = act(body)
        self.requests.append(
            RecordedRequest(
                now,
                request.method,
                request.path,
                body,
                request.headers.get("Authorization"),
                request.headers.get("Prefer"),
                response.status,
            )
        )
        return response

    def _attendees(self, body: dict[str, Any]) -> list[str]:
        return [a["emailAddress"]["address"] for a in body.get("attendees", [])]

    async def _create_event(self, request: web.Request) -> web.Response:
        def act(body: dict[str, Any]) -> web.Response:
            if any("type" not in a for a in body.get("attendees", [])):
                return self._error(400, "ErrorInvalidRequest", "Attendee type is required.")
            invalid = self._invalid_recipients(self._attendees(body))
            if invalid is not None:
                return invalid
            transaction = body.get("transactionId")
            if transaction and transaction in self._transactions:
                # Graph: a repeated transactionId is dropped and the existing event returned.
                return web.json_response(self.events[self._transactions[transaction]], status=201)
            event_id = f"AAMkAGI2TG93AAA-{next(self._ids)}="
            event = copy.deepcopy(body)
            event["id"] = event_id
            event["iCalUId"] = f"040000008200E00074C5B7101A82E008-{event_id}"
            event["isCancelled"] = False
            online = body.get("isOnlineMeeting") and body.get("onlineMeetingProvider") == "teamsForBusiness"
            event["onlineMeeting"] = (
                {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_fake{event_id[-3:-1]}"}
                if online
                else None
            )
            self.events[event_id] = event
            if transaction:
                self._transactions[transaction] = event_id
            return web.json_response(event, status=201)

        return await self._handle(request, act)

    async def _update_event(self, request: web.Request) -> web.Response:
        event_id = request.match_info["event"]

        def act(body: dict[str, Any]) -> web.Response:
            event = self.events.get(event_id)
            if event is None:
                return self._error(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            invalid = self._invalid_recipients(self._attendees(body))
            if invalid is not None:
                return invalid
            event.update(copy.deepcopy(body))
            return web.json_response(event, status=200)

        return await self._handle(request, act)

    async def _cancel_event(self, request: web.Request) -> web.Response:
        event_id = request.match_info["event"]

        def act(body: dict[str, Any]) -> web.Response:
            if event_id not in self.events:
                return self._error(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            # The organizer's copy goes away; attendees get the cancellation.
            event = self.events.pop(event_id)
            event["isCancelled"] = True
            self.cancelled[event_id] = (body or {}).get("comment", "")
            return web.Response(status=202)

        return await self._handle(request, act)

    async def _send_mail(self, request: web.Request) -> web.Response:
        def act(body: dict[str, Any]) -> web.Response:
            message = body.get("message", {})
            recipients = [r["emailAddress"]["address"] for r in message.get("toRecipients", [])]
            if not recipients:
                return self._error(400, "ErrorInvalidRecipients", "At least one recipient is required.")
            invalid = self._invalid_recipients(recipients)
            if invalid is not None:
                return invalid
            self.sent_mail.append(copy.deepcopy(body))
            return web.Response(status=202)

        return await self._handle(request, act)
