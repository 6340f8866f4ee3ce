"""A local Bot Framework token issuer: OpenID metadata and a JWKS on 127.0.0.1, and tokens it signs.

The bot is pointed at `metadata_url`; `token()` makes a channel token the way the Bot Framework
does (RS256, iss https://api.botframework.com, aud = app id, serviceurl, exp), each part
overridable so a test can forge exactly one thing. `Blackhole` accepts connections and never
answers, like a hung metadata endpoint.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.loopback_app import LoopbackApp

ISSUER = "https://api.botframework.com"
KID = "test-key-1"
_UNSET: Any = object()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TokenIssuer(LoopbackApp):
    """Serves /openid (metadata) and /keys (JWKS: one key, endorsed for msteams); counts fetches."""

    def __init__(self, app_id: str, endorsements: tuple[str, ...] = ("msteams",)) -> None:
        super().__init__()
        self.app_id = app_id
        self.key = new_key()
        self.endorsements = endorsements
        self.metadata_fetches = 0
        self.key_fetches = 0

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/openid"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/openid", self._metadata)
        app.router.add_get("/keys", self._keys)

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_fetches += 1
        return web.json_response({"issuer": ISSUER, "jwks_uri": f"{self.url}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        self.key_fetches += 1
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return web.json_response(
            {"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": list(self.endorsements)}]}
        )

    def token(
        self,
        service_url: str,
        *,
        aud: Any = _UNSET,
        iss: Any = _UNSET,
        exp: Any = _UNSET,
        kid: str = KID,
        key: rsa.RSAPrivateKey | None = None,
        **extra: Any,
    ) -> str:
        """A signed channel token; pass None for aud/iss/exp to leave that claim out."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER if iss is _UNSET else iss,
            "aud": self.app_id if aud is _UNSET else aud,
            "exp": now + 3600 if exp is _UNSET else exp,
            "nbf": now - 60,
            "serviceurl": service_url,
            **extra,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})


class Blackhole:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/openid"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        self.connected.set()

    async def __aenter__(self) -> Blackhole:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
