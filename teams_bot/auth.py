"""Inbound Bot Framework tokens, checked by us before the body is read.

botbuilder 4.17 fetches the OpenID metadata and signing keys with a blocking `requests.get` without
a timeout, on the event loop (one hanging endpoint froze every request), and accepts a token with
no `exp`. So the token is checked here, asynchronously: keys come from the metadata document's
`jwks_uri` through aiohttp with a total timeout, are cached (refreshed daily; an unknown key id
refetches at most once per cooldown, so forged key ids cannot make us hammer the endpoint), and a
failed refresh keeps the keys we had. Concurrent requests share one fetch. botbuilder then gets the
verified claims and never validates or fetches anything itself.

Only channel tokens are accepted (what Teams sends): RS256, issued by the Bot Framework, for our
app id, with `exp` (5 minutes of clock skew), from a key whose endorsements name the activity's
channel, and with a `serviceurl` claim equal to the activity's serviceUrl. The emulator's and
skills' token kinds, which botbuilder would also accept, are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import orjson

log = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
ALGORITHM = "RS256"
CLOCK_SKEW_SECONDS = 300
MAX_TOKEN_CHARS = 8192
MAX_DOCUMENT_BYTES = 1024 * 1024


class KeyFetchError(Exception):
    """The metadata or key set is not usable."""


class TokenRefusedError(Exception):
    """The request's token is missing or not valid; the message is a fixed reason, safe to log."""


@dataclass(frozen=True)
class SigningKey:
    key: Any  # the PyJWK's public key
    endorsements: frozenset[str] | None  # channels this key may sign for; None: any


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature, issuer, audience and lifetime are good; the activity is checked next."""

    claims: dict[str, Any]
    endorsements: frozenset[str] | None

    def check_activity(self, channel_id: str, service_url: str) -> None:
        """The token must have been issued for this activity's channel and service URL."""
        if self.endorsements is not None and channel_id not in self.endorsements:
            raise TokenRefusedError("key not endorsed for the channel")
        if self.claims.get("serviceurl") != service_url:
            raise TokenRefusedError("serviceurl claim does not match")


@dataclass
class KeyCache:
    """The signing keys of an OpenID metadata document, fetched without ever blocking the loop."""

    metadata_url: str
    timeout: float = 10.0  # seconds for the metadata and keys together
    max_age: float = 24 * 3600.0
    cooldown: float = 60.0  # least seconds between two fetches (also after a failure)
    _keys: dict[str, SigningKey] = field(default_factory=dict)
    _fetched_at: float | None = None  # monotonic time of the last successful fetch
    _tried_at: float | None = None  # monotonic time of the last attempt
    _fetching: asyncio.Task[None] | None = None

    async def get(self, key_id: str) -> SigningKey | None:
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.max_age
        if (stale or key_id not in self._keys) and self._may_fetch(now):
            await self._refresh()
        return self._keys.get(key_id)

    def _may_fetch(self, now: float) -> bool:
        return self._fetching is not None or self._tried_at is None or now - self._tried_at >= self.cooldown

    async def _refresh(self) -> None:
        # One fetch at a time, shared by every request waiting for it; shielded so a client that
        # hangs up does not cancel the fetch for the others.
        if self._fetching is None:
            self._tried_at = time.monotonic()
            self._fetching = asyncio.create_task(self._fetch())
            self._fetching.add_done_callback(self._fetched)
        with contextlib.suppress(Exception):  # logged once, in _fetched; the old keys stay
            await asyncio.shield(self._fetching)

    def _fetched(self, task: asyncio.Task[None]) -> None:
        self._fetching = None
        if not task.cancelled() and task.exception() is not None:
            # The class only: a message could carry the URL's answer.
            log.warning("signing keys not refreshed: %s", type(task.exception()).__name__)

    async def _fetch(self) -> None:
        client_timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            metadata = await _get_json(session, self.metadata_url)
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise KeyFetchError("metadata has no jwks_uri")
            document = await _get_json(session, jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise KeyFetchError("key set has no keys")
        parsed = {}
        for entry in keys:
            if isinstance(entry, dict) and isinstance(entry.get("kid"), str):
                try:
                    parsed[entry["kid"]] = SigningKey(
                        jwt.PyJWK(entry, algorithm=ALGORITHM).key, _endorsements(entry)
                    )
                except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                    continue  # one unusable key does not spoil the others
        self._keys = parsed
        self._fetched_at = time.monotonic()
        log.info("signing keys refreshed: %d key(s)", len(parsed))


async def _get_json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    chunks: list[bytes] = []
    size = 0
    async with session.get(url) as response:
        response.raise_for_status()
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise KeyFetchError("document too large")
            chunks.append(chunk)
    document = orjson.loads(b"".join(chunks))
    if not isinstance(document, dict):
        raise KeyFetchError("document is not a JSON object")
    return document


def _endorsements(entry: dict[str, Any]) -> frozenset[str] | None:
    endorsements = entry.get("endorsements")
    if endorsements is None:
        return None
    if not isinstance(endorsements, list):
        return frozenset()
    return frozenset(e for e in endorsements if isinstance(e, str))


@dataclass
class InboundAuth:
    """Checks the Authorization header of a request to /api/messages."""

    app_id: str
    keys: KeyCache
    issuer: str = BOT_FRAMEWORK_ISSUER

    async def verify(self, header: str | None) -> VerifiedToken:
        scheme, _, token = (header or "").partition(" ")
        if scheme != "Bearer" or not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenRefusedError("no bearer token")
        try:
            unverified = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefusedError("not a JWT") from None
        key_id = unverified.get("kid")
        if unverified.get("alg") != ALGORITHM or not isinstance(key_id, str):
            raise TokenRefusedError("wrong algorithm or no key id")
        key = await self.keys.get(key_id)
        if key is None:
            raise TokenRefusedError("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise TokenRefusedError(type(error).__name__) from None
        return VerifiedToken(claims, key.endorsements)
