"""/api/messages against hostile requests, over real HTTP to our app on its own loop (tests/bot_server.py).

Tokens: signed by a local issuer (tests/fakes/token_issuer.py) whose metadata URL the bot is given,
each forged in one way; a hanging metadata endpoint must not stop the server answering. Bodies:
too large, too deep, not JSON, not an activity, wrongly typed fields → 4xx; well-formed card
actions with bad data → an error card. Logs: nothing of the request, no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from repositories.answers import RsvpsRepository
from support.config import BotSettings
from support.log_format import ClassOnlyFormatter
from teams_bot.inbound import MAX_BODY_BYTES, MAX_DEPTH, nesting_depth
from teams_bot.web import ISSUER_KEY, METADATA_URL_KEY
from tests.bot_server import BotServer, activity, card_action
from tests.e2e.conftest import G1, MONTH, PAT
from tests.e2e.playground import free_port
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.token_issuer import ISSUER, KID, Blackhole, TokenIssuer, new_key
from tests.log_capture import every_logger_at_debug

pytestmark = pytest.mark.timeout(120)

APP_ID = "11111111-2222-4333-8444-555555555555"
SETTINGS = BotSettings(app_id=APP_ID, app_password="pw-zq70", app_type="SingleTenant", app_tenant_id="t")
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
# A client deadline that only turns a hang into a failure.
HANG = aiohttp.ClientTimeout(total=30)


def _auth_metadata(metadata_url: str) -> dict[str, str]:
    return {METADATA_URL_KEY: metadata_url, ISSUER_KEY: ISSUER}


async def _post(
    session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    async with session.post(url, data=data, headers=all_headers, timeout=HANG) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text) if text else None
        except ValueError:
            return response.status, text


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


# ------------------------------------------------------------------------------- tokens (items 2, 3)
def _forged(issuer: TokenIssuer) -> dict[str, str | None]:
    """Tokens that must each be refused, by what is wrong with them."""
    now = int(time.time())
    none_alg = jwt.encode(
        {"iss": ISSUER, "aud": APP_ID, "exp": now + 600, "serviceurl": SERVICE_URL}, None, "none"
    )
    return {
        "no header": None,
        "not bearer": "Basic dXNlcjpwdw==",
        "garbage": "Bearer x",
        "alg none": f"Bearer {none_alg}",
        "own key": f"Bearer {issuer.token(SERVICE_URL, key=new_key())}",
        "unknown key id": f"Bearer {issuer.token(SERVICE_URL, kid='other-key')}",
        "expired": f"Bearer {issuer.token(SERVICE_URL, exp=now - 3600)}",
        "no exp": f"Bearer {issuer.token(SERVICE_URL, exp=None)}",
        "wrong audience": f"Bearer {issuer.token(SERVICE_URL, aud='22222222-0000-4000-8000-000000000000')}",
        "no audience": f"Bearer {issuer.token(SERVICE_URL, aud=None)}",
        "wrong issuer": f"Bearer {issuer.token(SERVICE_URL, iss='https://sts.windows.net/evil/')}",
        "wrong serviceurl": f"Bearer {issuer.token('https://evil.example/')}",
        "not yet valid": f"Bearer {issuer.token(SERVICE_URL, nbf=now + 3600)}",
    }


def test_forged_tokens_are_refused_and_a_good_one_is_accepted(tmp_path: Path) -> None:
    # An event the bot ignores: a valid token gets 201 without the bot replying (no outbound token).
    quiet = activity(SERVICE_URL, type_="event", name="application/vnd.test.nothing")

    async def scenario() -> None:
        async with TokenIssuer(APP_ID) as issuer:
            server = BotServer(tmp_path, SETTINGS, auth_metadata=_auth_metadata(issuer.metadata_url))
            with every_logger_at_debug() as records, server:
                async with aiohttp.ClientSession() as session:
                    statuses = {}
                    for name, header in _forged(issuer).items():
                        headers = {"Authorization": header} if header else {}
                        statuses[name] = (await _post(session, server.endpoint, quiet, headers))[0]
                    good = {"Authorization": f"Bearer {issuer.token(SERVICE_URL)}"}
                    accepted, _ = await _post(session, server.endpoint, quiet, good)
                    # A key endorsed for Teams only does not sign for another channel.
                    other = {**quiet, "channelId": "webchat"}
                    other_channel, _ = await _post(session, server.endpoint, other, good)
            assert statuses == {name: 401 for name in statuses}
            assert accepted == 201
            assert other_channel == 401
            # The keys were fetched once and then served from the cache.
            assert (issuer.metadata_fetches, issuer.key_fetches) == (1, 1)
        log = "\n".join(records.lines)
        assert "Traceback" not in log
        for header in _forged(issuer).values():
            token = (header or "").split(" ")[-1]
            assert len(token) < 10 or token not in log

    _run(scenario)


def test_a_hanging_metadata_endpoint_does_not_freeze_the_server(tmp_path: Path) -> None:
    """The key fetch hangs; /healthz and other requests keep answering; the token gets its 401."""
    jwt_shaped = jwt.encode(
        {"iss": ISSUER, "aud": APP_ID, "exp": int(time.time()) + 600, "serviceurl": SERVICE_URL},
        new_key(),
        algorithm="RS256",
        headers={"kid": KID},
    )
    body = activity(SERVICE_URL)

    async def scenario() -> None:
        async with Blackhole() as hole, aiohttp.ClientSession() as session:
            settings = replace(SETTINGS, openid_metadata_url=hole.url)  # the [bot] setting
            with BotServer(tmp_path, settings, auth_timeout=2.0) as server:
                headers = {"Authorization": f"Bearer {jwt_shaped}"}
                pending = asyncio.create_task(_post(session, server.endpoint, body, headers))
                await asyncio.wait_for(hole.connected.wait(), 30)
                async with session.get(f"{server.base}/healthz", timeout=HANG) as health:
                    assert health.status == 200
                # Requests that need no keys are answered meanwhile, and the key fetch is still out.
                assert (await _post(session, server.endpoint, body))[0] == 401
                assert not pending.done()
                assert (await pending)[0] == 401
                # A failed fetch is not retried for every request (no fetch storm from forged tokens).
                assert (await _post(session, server.endpoint, body, headers))[0] == 401
                assert hole.connections == 1

    _run(scenario)


def test_with_an_app_id_the_token_is_checked_before_the_body_is_read(tmp_path: Path) -> None:
    deep = b'{"type":"message","value":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    huge = b'{"type":"message","text":"' + b"a" * (2 * MAX_BODY_BYTES) + b'"}'

    async def scenario() -> None:
        async with TokenIssuer(APP_ID) as issuer, aiohttp.ClientSession() as session:
            server = BotServer(tmp_path, SETTINGS, auth_metadata=_auth_metadata(issuer.metadata_url))
            with server:
                for raw in (deep, huge, b"not json"):
                    assert (await _post(session, server.endpoint, raw, {"Authorization": "Bearer x"}))[
                        0
                    ] == 401
                good = {"Authorization": f"Bearer {issuer.token(SERVICE_URL)}"}
                assert (await _post(session, server.endpoint, deep, good))[0] == 400
                assert (await _post(session, server.endpoint, huge, good))[0] == 413

    _run(scenario)


# ------------------------------------------------------------------------------- bodies (item 4)
def test_nesting_depth_is_measured_outside_strings_without_recursion() -> None:
    assert nesting_depth(b'{"a": [1, {"b": "[[[{{{"}], "c": "\\"]]]"}') == 3
    assert nesting_depth(b"[" * 1_000_000) == 1_000_000
    assert nesting_depth(b"]") > MAX_DEPTH
    assert nesting_depth(b'"unterminated [[[' + b"\\" * 10_000) == 0


def _malformed(service_url: str) -> dict[str, Any]:
    good = activity(service_url)
    return {
        "type only": {"type": "message"},
        "from is text": {**good, "from": "pat"},
        "no conversation": {k: v for k, v in good.items() if k != "conversation"},
        "invoke without from": {
            k: v for k, v in card_action(service_url, "rsvp.answer", {}).items() if k != "from"
        },
        "no recipient": {k: v for k, v in good.items() if k != "recipient"},
        "conversation id is a number": {**good, "conversation": {"id": 7}},
        "type is a list": {**good, "type": ["message"]},
        "text is an object": {**good, "text": {"a": 1}},
        "entities not a list": {**good, "entities": {"type": "mention"}},
        "entity without type": {**good, "entities": [{"type": None}]},
        "mention without text": {**good, "entities": [{"type": "mention", "mentioned": {"id": "28:x"}}]},
        "mention of text": {
            **good,
            "entities": [{"type": "mention", "text": "<at>x</at>", "mentioned": "x"}],
        },
        "isGroup is text": {**good, "conversation": {"id": "a:1", "isGroup": "yes"}},
        "bad timestamp": {**good, "timestamp": "yesterday"},
        "serviceUrl not a URL": {**good, "serviceUrl": "file:///etc/passwd"},
        "array body": [good],
        "string body": "message",
    }


def test_malformed_bodies_get_4xx_and_leave_no_traceback(tmp_path: Path) -> None:
    raw_cases = {
        "deep": b'{"type":"message","value":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        "not json": b'{"type": "message", ',
        "not utf-8": b'{"type": "message", "text": "\xff\xfe"}',
        "nan": b'{"type": "message", "value": NaN}',
        "too large": b'{"type":"message","text":"' + b"a" * (MAX_BODY_BYTES + 10) + b'"}',
    }

    async def scenario() -> None:
        async with FakeBotConnector() as connector, aiohttp.ClientSession() as session:
            with every_logger_at_debug() as records, BotServer(tmp_path) as server:
                cases: dict[str, Any] = {**_malformed(connector.url), **raw_cases}
                statuses = {
                    name: (await _post(session, server.endpoint, body))[0] for name, body in cases.items()
                }
                async with session.post(
                    server.endpoint, data=b"{}", headers={"Content-Type": "text/plain"}
                ) as r:
                    statuses["not json content type"] = r.status
        expected = {name: 400 for name in cases} | {"too large": 413, "not json content type": 415}
        assert statuses == expected
        assert connector.requests == []  # none of them reached the bot's turn
        assert "Traceback" not in "\n".join(records.lines)

    _run(scenario)


def _card_heading(body: Any) -> str:
    assert isinstance(body, dict) and body["type"] == "application/vnd.microsoft.card.adaptive", body
    return str(body["value"]["body"][0]["text"])


def test_well_formed_card_actions_with_bad_data_get_an_error_card(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with FakeBotConnector() as connector, aiohttp.ClientSession() as session:
            with BotServer(tmp_path) as server:
                store = server.store
                url = connector.url
                sender = {"user_id": PAT.id, "aad_object_id": PAT.aad_object_id}
                presses = {
                    "month 0000-01": card_action(
                        url, "rsvp.answer", {"group": G1, "month": "0000-01", "answer": "attending"}, **sender
                    ),
                    "month 9999-12": card_action(
                        url, "rsvp.answer", {"group": G1, "month": "9999-12", "answer": "attending"}, **sender
                    ),
                    "month 2030-06": card_action(
                        url, "rsvp.answer", {"group": G1, "month": "2030-06", "answer": "attending"}, **sender
                    ),
                    "quarter 0000-Q1": card_action(url, "goals.submit", {"quarter": "0000-Q1"}, **sender),
                    "unknown verb": card_action(url, "rm -rf", {"group": G1}, **sender),
                    "value is text": {**card_action(url, "rsvp.answer", {}, **sender), "value": "x"},
                    "data is a list": card_action(url, "rsvp.answer", [1, 2], **sender),  # type: ignore[arg-type]
                }
                answers = {}
                for name, press in presses.items():
                    status, body = await _post(session, server.endpoint, press)
                    answers[name] = (status, _card_heading(body))
                other = {**card_action(url, "rsvp.answer", {}, **sender), "name": "composeExtension/query"}
                unsupported, _ = await _post(session, server.endpoint, other)
                # A legitimate answer still works.
                fine = card_action(
                    url, "rsvp.answer", {"group": G1, "month": MONTH, "answer": "attending"}, **sender
                )
                status, body = await _post(session, server.endpoint, fine)
                periods = RsvpsRepository(store).periods()
        assert answers == {name: (200, "That didn't work") for name in presses}
        assert unsupported == 400
        assert status == 200 and _card_heading(body) != "That didn't work"
        assert periods == [MONTH]

    _run(scenario)


def test_a_failing_turn_whose_apology_fails_too_is_not_a_5xx(tmp_path: Path) -> None:
    """The serviceUrl does not answer: the reply fails, and so does the error handler's apology."""
    closed = f"http://127.0.0.1:{free_port()}/"
    marker = "stressed,overworked zq71"

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            with every_logger_at_debug() as records, BotServer(tmp_path) as server:
                hello = activity(closed, PAT.id, PAT.aad_object_id, text=f"help {marker}")
                status, _ = await _post(session, server.endpoint, hello)
        assert status == 201
        log = "\n".join(records.lines)
        assert "turn failed" in log
        assert "Traceback" not in log and marker not in log

    _run(scenario)


# ------------------------------------------------------------------------------- logs (item 6)
def test_the_access_log_has_no_header_query_or_body(tmp_path: Path) -> None:
    secret = "zq72-secret-token"

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            with every_logger_at_debug() as records, BotServer(tmp_path) as server:
                headers = {"Authorization": f"Bearer {secret}", "User-Agent": secret, "Referer": secret}
                url = f"{server.endpoint}?email=pat@contoso.test&note={secret}"
                await _post(session, url, {"type": "message", "text": secret}, headers)
        access = [line for line in records.lines if line.startswith("INFO aiohttp.access")]
        assert access and '"POST /api/messages" 400' in access[0]
        assert secret not in "\n".join(records.lines)
        assert "pat@contoso.test" not in "\n".join(records.lines)

    _run(scenario)


def test_the_process_log_format_writes_exceptions_by_class_only() -> None:
    formatter = ClassOnlyFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("flags stressed,overworked for pat@contoso.test")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info(), None, "stack"
        )
    line = formatter.format(record)
    assert "ValueError" in line and "failed" in line
    assert "stressed" not in line and "pat@contoso.test" not in line and "Traceback" not in line
