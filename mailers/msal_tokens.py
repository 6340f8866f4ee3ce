"""App-only (client credentials) access tokens from msal, shared by the `graph` and `ews` backends.

msal caches the token and fetches a new one when fewer than 5 minutes are left. It is synchronous
(and does tenant discovery over HTTP when the application is built), so `token()` runs it in a
worker thread; `token_sync()` is for callers that already run in one (exchangelib). Calls are
serialised, so concurrent callers share one token request.

The client secret and the tokens never appear in logs or in MailError messages: a refusal quotes
only msal's error name and the AADSTS code, which is what support asks for.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import msal
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

from support.mail import MailError, MailFailure

AUTHORITY_HOST = "https://login.microsoftonline.com"

_AADSTS = re.compile(r"\bAADSTS\d{4,}\b")
_RETRYABLE_TOKEN_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


def authority_for(tenant_id: str, host: str = AUTHORITY_HOST) -> str:
    """The msal authority URL for a tenant id (GUID) or domain, on the sign-in host of a cloud."""
    return f"{host.rstrip('/')}/{tenant_id}"


class MsalTokens:
    """Access tokens for one app and one resource (`scope`, e.g. "https://graph.microsoft.com/.default").

    `http_client` is msal's own hook for the HTTP client it uses (default: a `requests` session);
    tests use it to reach a loopback fake. `service` names the caller in error messages.
    """

    def __init__(
        self,
        client_id: str,
        client_credential: str | dict[str, Any],
        authority: str,
        scope: str,
        *,
        http_client: Any = None,
        service: str = "Microsoft",
    ) -> None:
        self.client_id = client_id
        self.authority = authority
        self.scope = scope
        self.service = service
        self._credential = client_credential
        self._http_client = http_client
        self._app: Any = None  # msal.ConfidentialClientApplication, built on first use
        self._lock = asyncio.Lock()  # async callers queue here, not in worker threads
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, authority={self.authority!r})"

    def _build(self) -> Any:
        options: dict[str, Any] = {}
        if urlsplit(self.authority).hostname not in WELL_KNOWN_AUTHORITY_HOSTS:
            # msal would ask login.microsoftonline.com to vouch for a host it does not know; a
            # configured sign-in host (a sovereign cloud's, a test's) is trusted as configured.
            options["instance_discovery"] = False
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self._credential,
            authority=self.authority,
            http_client=self._http_client,
            **options,
        )

    def token_sync(self) -> str:
        """A valid access token (msal's cached one while it lasts); blocks, so call it off the event loop."""
        with self._thread_lock:
            if self._app is None:
                try:
                    self._app = self._build()
                except ValueError as error:  # msal's tenant discovery answered 4xx, or a malformed URL
                    raise MailError(
                        MailFailure.AUTH,
                        f"{self.service} sign-in: the authority {self.authority} was not accepted "
                        "(check the tenant id)",
                    ) from error
                except Exception as error:
                    raise MailError(
                        MailFailure.RETRY,
                        f"{self.service} sign-in: could not reach the authority ({type(error).__name__})",
                    ) from error
            try:
                result = self._app.acquire_token_for_client(scopes=[self.scope])
            except Exception as error:
                raise MailError(
                    MailFailure.RETRY,
                    f"{self.service} sign-in: the token request failed ({type(error).__name__})",
                ) from error
        if isinstance(result, dict):
            token = result.get("access_token")
            if isinstance(token, str) and token:
                return token
            raise self._token_error(result)
        raise MailError(MailFailure.RETRY, f"{self.service} sign-in: no answer from msal")

    async def token(self) -> str:
        """A valid access token (msal's cached one while it lasts), fetched off the event loop."""
        async with self._lock:
            return await asyncio.to_thread(self.token_sync)

    def invalidate(self, token: str) -> None:
        """Drop `token` from msal's cache (the service refused it), so the next call fetches a new one."""
        with self._thread_lock:
            if self._app is None:
                return
            cache = self._app.token_cache
            for entry in list(cache.search(cache.CredentialType.ACCESS_TOKEN, target=[self.scope])):
                if entry.get("secret") == token:
                    cache.remove_at(entry)

    def close(self) -> None:
        """Close msal's HTTP client."""
        with self._thread_lock:
            if self._app is not None:
                self._app.http_client.close()

    def _token_error(self, result: dict[str, Any]) -> MailError:
        # msal returns {"error", "error_description", ...}; the description never carries the secret,
        # but only the error name and the AADSTS code are quoted.
        error = str(result.get("error") or "unknown_error")
        codes = _AADSTS.findall(str(result.get("error_description") or ""))
        detail = f"{error}, {codes[0]}" if codes else error
        if error in _RETRYABLE_TOKEN_ERRORS:
            return MailError(MailFailure.RETRY, f"{self.service} sign-in is unavailable ({detail})")
        return MailError(
            MailFailure.AUTH,
            f"{self.service} sign-in refused app {self.client_id} ({detail}): check the client id, "
            "the client secret or certificate, and the tenant",
        )
