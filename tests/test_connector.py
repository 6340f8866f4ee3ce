"""The Bot Connector client and the Teams deliverer, against the local fake Bot Connector.

The client reports what the service answered (ConnectorError: status, Retry-After, error code);
the deliverer (service/delivery.py) decides what that means for the outbox entry.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from service.deliverer import DeliveryError, DeliveryKind
from service.delivery import ADAPTIVE_CARD, TeamsDeliverer, delivery_kind, message_activity
from service.outbox import OutboundMessage, OutboxEntry, Status
from support.rate_limit import RateLimiter
from teams_bot.connector import (
    BotConnectorClient,
    ClientCredentialsToken,
    ConnectorError,
    NoAuth,
    default_token_url,
)
from tests.fakes.bot_connector import FakeBotConnector

CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Hi"}],
}
# Real Teams ids carry ':', ';' and '@': they must survive the URL path.
CONVERSATION = "a:1Xyz;messageid=42@thread.v2"


class MonotonicClock:
    """A settable stand-in for time.monotonic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry_for(recipient: str, channel: str = "teams", card: dict[str, Any] | None = None) -> OutboxEntry:
    message = OutboundMessage(
        key=f"announcement:2026-11:b:{recipient}",
        period="2026-11",
        recipient=recipient,
        kind="announcement",
        channel=channel,
        card=card,
        text="Programme news",
    )
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    return OutboxEntry(message, Status.PENDING, 0, now, now)


@pytest.mark.asyncio
async def test_send_posts_the_activity_and_returns_its_id() -> None:
    async with FakeBotConnector() as fake, aiohttp.ClientSession() as session:
        client = BotConnectorClient(session, NoAuth())
        activity_id = await client.send_to_conversation(
            fake.url + "/", CONVERSATION, message_activity(CARD, "Hello")
        )
    assert activity_id == "activity-1"
    [request] = fake.requests
    assert (request.method, request.conversation_id, request.authorization) == ("POST", CONVERSATION, None)
    assert request.body == {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": CARD}],
        "summary": "Hello",
    }


def test_plain_text_message_activity() -> None:
    assert message_activity(None, "Hello") == {"type": "message", "text": "Hello", "textFormat": "plain"}


@pytest.mark.asyncio
async def test_update_replaces_a_sent_activity() -> None:
    async with FakeBotConnector() as fake, aiohttp.ClientSession() as session:
        client = BotConnectorClient(session, NoAuth())
        activity_id = await client.send_to_conversation(fake.url, CONVERSATION, message_activity(CARD, ""))
        await client.update_activity(fake.url, CONVERSATION, activity_id, message_activity(CARD, "Updated"))
    [(conversation, updated_id, body)] = fake.updates
    assert (conversation, updated_id) == (CONVERSATION, activity_id)
    assert body["id"] == activity_id and body["summary"] == "Updated"
    assert fake.requests[-1].method == "PUT"


@pytest.mark.asyncio
async def test_create_personal_conversation_names_bot_member_and_tenant() -> None:
    async with FakeBotConnector() as fake, aiohttp.ClientSession() as session:
        client = BotConnectorClient(session, NoAuth())
        conversation_id = await client.create_personal_conversation(fake.url, "tenant-1", "28:bot", "29:user")
    assert conversation_id == "a:29:user"
    [request] = fake.requests
    assert request.path == "/v3/conversations"
    assert request.body["members"] == [{"id": "29:user"}]
    assert request.body["bot"] == {"id": "28:bot"}
    assert request.body["channelData"] == {"tenant": {"id": "tenant-1"}}


def block(fake: FakeBotConnector) -> None:
    fake.block(CONVERSATION)


def remove(fake: FakeBotConnector) -> None:
    fake.remove(CONVERSATION)


def fault(status: int, **kwargs: object) -> Callable[[FakeBotConnector], None]:
    def inject(fake: FakeBotConnector) -> None:
        fake.fail_next(status, **kwargs)  # type: ignore[arg-type]

    return inject


# The fake answers every fault with an error code (its own "FaultNNN" unless told one).
FAULTS = [
    (block, DeliveryKind.UNREACHABLE, 403, None, "MessageWritesBlocked"),
    (remove, DeliveryKind.UNREACHABLE, 404, None, "ConversationNotFound"),
    (fault(429, retry_after=3, code="TooManyRequests"), DeliveryKind.RETRY, 429, 3.0, "TooManyRequests"),
    (fault(412), DeliveryKind.RETRY, 412, None, "Fault412"),
    (fault(500), DeliveryKind.RETRY, 500, None, "Fault500"),
    (fault(502), DeliveryKind.RETRY, 502, None, "Fault502"),
    (fault(503, retry_after=2), DeliveryKind.RETRY, 503, 2.0, "Fault503"),
    (fault(504), DeliveryKind.RETRY, 504, None, "Fault504"),
    (fault(400, code="BadArgument"), DeliveryKind.FAIL, 400, None, "BadArgument"),
    (fault(413), DeliveryKind.FAIL, 413, None, "Fault413"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("arrange", "kind", "status", "retry_after", "code"), FAULTS)
async def test_http_errors_carry_status_retry_after_and_code(
    arrange: Callable[[FakeBotConnector], None],
    kind: DeliveryKind,
    status: int,
    retry_after: float | None,
    code: str,
) -> None:
    async with FakeBotConnector() as fake, aiohttp.ClientSession() as session:
        arrange(fake)
        client = BotConnectorClient(session, NoAuth())
        with pytest.raises(ConnectorError) as raised:
            await client.send_to_conversation(fake.url, CONVERSATION, message_activity(None, "secret words"))
    error = raised.value
    assert (error.status, error.retry_after, error.code) == (status, retry_after, code)
    assert error.reason == f"http {status} {code}"
    assert "secret words" not in str(error)


@pytest.mark.asyncio
@pytest.mark.parametrize(("arrange", "kind", "status", "retry_after", "code"), FAULTS)
async def test_teams_deliverer_maps_http_errors_to_delivery_kinds(
    arrange: Callable[[FakeBotConnector], None],
    kind: DeliveryKind,
    status: int,
    retry_after: float | None,
    code: str,
) -> None:
    async with FakeBotConnector() as fake, aiohttp.ClientSession() as session:
        arrange(fake)
        reference = {"service_url": fake.url, "conversation_id": CONVERSATION}
        deliverer = TeamsDeliverer(
            BotConnectorClient(session, NoAuth()), {"ann@x.org": reference}.get, RateLimiter()
        )
        with pytest.raises(DeliveryError) as raised:
            await deliverer.deliver(entry_for("ann@x.org"))
    error = raised.value
    assert (error.kind, error.status, error.retry_after) == (kind, status, retry_after)
    assert error.reason == f"http {status} {code}"
    assert "Programme news" not in error.reason


def test_no_answer_is_retried_and_unknown_statuses_fail() -> None:
    assert delivery_kind(None) is DeliveryKind.RETRY
    assert delivery_kind(401) is DeliveryKind.RETRY  # the client fetches a new token next time
    assert delivery_kind(409) is DeliveryKind.FAIL


@pytest.mark.asyncio
async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        client = BotConnectorClient(session, NoAuth())
        reference = {"service_url": f"http://127.0.0.1:{port}", "conversation_id": CONVERSATION}
        deliverer = TeamsDeliverer(client, {"ann@x.org": reference}.get, RateLimiter())
        with pytest.raises(ConnectorError) as raised:
            await client.send_to_conversation(
                f"http://127.0.0.1:{port}", CONVERSATION, message_activity(None, "x")
            )
        with pytest.raises(DeliveryError) as delivered:
            await deliverer.deliver(entry_for("ann@x.org"))
    assert (raised.value.status, raised.value.reason) == (None, "connection error")
    assert (delivered.value.kind, delivered.value.status, delivered.value.reason) == (
        DeliveryKind.RETRY,
        None,
        "connection error",
    )


def test_default_token_url() -> None:
    assert default_token_url("tenant-1") == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    assert default_token_url(None) == "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"


@pytest.mark.asyncio
async def test_token_fetched_once_cached_and_refreshed_before_expiry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = MonotonicClock()
    async with (
        FakeBotConnector(app_id="app-1", password="pa55-w0rd", token_lifetime=3600) as fake,
        aiohttp.ClientSession() as session,
    ):
        tokens = ClientCredentialsToken("app-1", "pa55-w0rd", None, session, fake.token_url, clock=clock)
        client = BotConnectorClient(session, tokens)
        activity = message_activity(None, "x")
        # A burst of concurrent sends waits for one token.
        await asyncio.gather(*(client.send_to_conversation(fake.url, f"a:{i}", activity) for i in range(5)))
        clock.now += 3600 - 301  # still more than 5 minutes left: cached
        await client.send_to_conversation(fake.url, "a:5", activity)
        clock.now += 1  # 5 minutes before expiry: renewed
        await client.send_to_conversation(fake.url, "a:6", activity)
    assert fake.issued_tokens == ["fake-token-1", "fake-token-2"]
    assert [r.authorization for r in fake.requests] == ["Bearer fake-token-1"] * 6 + ["Bearer fake-token-2"]
    assert fake.token_requests[0] == {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "scope": "https://api.botframework.com/.default",
    }
    assert caplog.records, "the token fetch is logged (without the token)"
    for record in caplog.records:
        line = record.getMessage()
        assert "fake-token" not in line and "pa55-w0rd" not in line


@pytest.mark.asyncio
async def test_rejected_token_is_dropped_and_fetched_again() -> None:
    async with (
        FakeBotConnector(app_id="app-1", password="pw") as fake,
        aiohttp.ClientSession() as session,
    ):
        tokens = ClientCredentialsToken("app-1", "pw", "tenant-1", session, fake.token_url)
        client = BotConnectorClient(session, tokens)
        fake.fail_next(401)
        with pytest.raises(ConnectorError) as raised:
            await client.send_to_conversation(fake.url, CONVERSATION, message_activity(None, "x"))
        await client.send_to_conversation(fake.url, CONVERSATION, message_activity(None, "x"))
    assert raised.value.status == 401
    assert fake.issued_tokens == ["fake-token-1", "fake-token-2"]
    assert fake.requests[-1].authorization == "Bearer fake-token-2"


@pytest.mark.asyncio
async def test_wrong_password_fails_without_revealing_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        FakeBotConnector(app_id="app-1", password="right") as fake,
        aiohttp.ClientSession() as session,
    ):
        tokens = ClientCredentialsToken("app-1", "wrong-pw", None, session, fake.token_url)
        with pytest.raises(ConnectorError) as raised:
            await BotConnectorClient(session, tokens).send_to_conversation(
                fake.url, CONVERSATION, message_activity(None, "x")
            )
    assert (raised.value.status, raised.value.reason) == (401, "token http 401")
    assert not fake.requests, "nothing is sent without a token"
    assert all("wrong-pw" not in r.getMessage() for r in caplog.records)
    assert "wrong-pw" not in repr(tokens)


@pytest.mark.asyncio
async def test_teams_deliverer_sends_to_the_stored_conversation_within_limits() -> None:
    async with FakeBotConnector() as fake, aiohttp.ClientSession() as session:
        references = {
            "ann@x.org": {
                "service_url": fake.url,
                "conversation_id": CONVERSATION,
                "tenant_id": "t",
                "bot_id": "28:bot",
                "user_id": "29:ann",
            }
        }
        deliverer = TeamsDeliverer(BotConnectorClient(session, NoAuth()), references.get, RateLimiter())
        activity_id = await deliverer.deliver(entry_for("ann@x.org", card=CARD))
        with pytest.raises(DeliveryError) as missing:
            await deliverer.deliver(entry_for("bob@x.org", card=CARD))
        with pytest.raises(DeliveryError) as by_email:
            await deliverer.deliver(entry_for("ann@x.org", channel="email"))
    assert activity_id == "activity-1"
    [activity] = fake.messages_to(CONVERSATION)
    assert activity["attachments"] == [{"contentType": ADAPTIVE_CARD, "content": CARD}]
    assert activity["summary"] == "Programme news"
    assert (missing.value.kind, missing.value.reason) == (DeliveryKind.UNREACHABLE, "no conversation")
    assert by_email.value.kind is DeliveryKind.FAIL
    assert len(fake.requests) == 1
