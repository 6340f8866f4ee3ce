"""The graph mail backend against the local fake Graph and sign-in service, with the real msal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import msal
import pytest

from mailers.graph import GraphMailer, GraphTokens, transaction_id
from support.mail import MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult
from support.retry import RetryPolicy
from tests.fakes.graph_server import FakeGraph

MAILBOX = "reflect@contoso.example"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=30.0)
NEW_YORK = ZoneInfo("America/New_York")


class RecordingSleep:
    """Stands in for asyncio.sleep: records the delays asked for, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class WallClock:
    """A settable wall clock shared by msal and the fake sign-in service."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class MsalTime:
    """msal's `time` module with our clock's time(): msal's own expiry logic runs unchanged."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def time(self) -> float:
        return self._clock()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def invite(**changes: Any) -> MeetingInvite:
    base = MeetingInvite(
        uid="reflect-thu-coach-1-2026-12@reflect.local",
        sequence=0,
        organizer=MAILBOX,
        subject="Peer reflection: Thursday group",
        body_text="Your monthly reflection session. Accept or decline in your calendar.",
        start=datetime(2026, 12, 3, 10, 0, tzinfo=NEW_YORK),
        end=datetime(2026, 12, 3, 11, 0, tzinfo=NEW_YORK),
        timezone="America/New_York",
        attendees=("facilitator@contoso.example", "ana@contoso.example", "ben@contoso.example"),
        location="Room 4",
    )
    return dataclasses.replace(base, **changes)


def mail(
    to: tuple[str, ...] = ("ana@contoso.example",), message_id: str = "reminder:2026-12:ana"
) -> MailMessage:
    return MailMessage(
        to=to,
        subject="Reflection reminder",
        body_text="Your session is on Thursday.",
        sender=MAILBOX,
        message_id=message_id,
    )


@asynccontextmanager
async def graph_mailer(
    fake: FakeGraph,
    *,
    secret: str | None = None,
    retry: RetryPolicy = FAST_RETRY,
    sleep: Callable[[float], Any] | None = None,
) -> AsyncIterator[GraphMailer]:
    tokens = GraphTokens(
        fake.client_id,
        fake.client_secret if secret is None else secret,
        fake.authority,
        http_client=fake.msal_http_client(),
    )
    async with aiohttp.ClientSession() as session:
        mailer = GraphMailer(
            session, MAILBOX, tokens, base_url=fake.graph_url, retry=retry, sleep=sleep or RecordingSleep()
        )
        try:
            yield mailer
        finally:
            await mailer.close()


@pytest.mark.asyncio
async def test_one_token_serves_concurrent_calls_and_never_reaches_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        loopback = mailer._tokens._http_client
        await asyncio.gather(
            mailer.send_mail(mail(message_id="m1")),
            mailer.send_mail(mail(message_id="m2")),
            mailer.send_invite(invite(), None),
        )
        await mailer.send_mail(mail(message_id="m3"))

    assert len(fake.token_requests) == 1
    (form,) = fake.token_requests  # the secret was sent, but the fake does not keep it
    assert (form["grant_type"], form["client_id"], form["scope"]) == (
        "client_credentials",
        fake.client_id,
        "https://graph.microsoft.com/.default",
    )
    assert [r.authorization for r in fake.requests] == ["Bearer fake-graph-token-1"] * 4
    # msal did tenant discovery and one token request, both routed to the fake, nothing else.
    assert loopback.urls == [
        f"https://login.microsoftonline.com/{fake.tenant}/v2.0/.well-known/openid-configuration",
        f"https://login.microsoftonline.com/{fake.tenant}/oauth2/v2.0/token",
    ]
    assert "fake-graph-token-1" not in caplog.text
    assert fake.client_secret not in caplog.text


@pytest.mark.asyncio
async def test_token_is_refreshed_by_msal_when_it_nears_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = WallClock()
    monkeypatch.setattr(msal.application, "time", MsalTime(clock))
    monkeypatch.setattr(msal.token_cache, "time", MsalTime(clock))
    async with FakeGraph(clock=clock, token_lifetime=3600) as fake, graph_mailer(fake) as mailer:
        await mailer.send_mail(mail(message_id="m1"))
        clock.now += 3000  # 10 minutes left: msal still uses it
        await mailer.send_mail(mail(message_id="m2"))
        assert len(fake.token_requests) == 1
        clock.now += 400  # 200 s left: inside msal's 5-minute margin, so msal fetches a new one
        await mailer.send_mail(mail(message_id="m3"))
        clock.now += 3600  # the first token is long dead at the fake; the second one too by now
        await mailer.send_mail(mail(message_id="m4"))

    assert len(fake.token_requests) == 3
    assert [r.authorization for r in fake.requests] == [
        "Bearer fake-graph-token-1",
        "Bearer fake-graph-token-1",
        "Bearer fake-graph-token-2",
        "Bearer fake-graph-token-3",
    ]
    assert all(r.status == 202 for r in fake.requests)


@pytest.mark.asyncio
async def test_a_token_graph_refuses_is_dropped_and_replaced_once() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        await mailer.send_mail(mail(message_id="m1"))
        fake.revoke_tokens()
        await mailer.send_mail(mail(message_id="m2"))

    assert [(r.status, r.authorization) for r in fake.requests] == [
        (202, "Bearer fake-graph-token-1"),
        (401, "Bearer fake-graph-token-1"),
        (202, "Bearer fake-graph-token-2"),
    ]
    assert len(fake.sent_mail) == 2


@pytest.mark.asyncio
async def test_create_makes_a_teams_meeting_for_every_attendee() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        result = await mailer.send_invite(invite(), None)

    (post,) = fake.graph_calls("POST", "/events")
    assert post.path == f"/v1.0/users/{MAILBOX}/events"
    assert post.prefer == 'outlook.timezone="UTC"'
    body = post.body
    assert body["subject"] == "Peer reflection: Thursday group"
    assert body["body"] == {"contentType": "text", "content": invite().body_text}
    # 10:00 in New York in December is 15:00 UTC.
    assert body["start"] == {"dateTime": "2026-12-03T15:00:00", "timeZone": "UTC"}
    assert body["end"] == {"dateTime": "2026-12-03T16:00:00", "timeZone": "UTC"}
    assert body["location"] == {"displayName": "Room 4"}
    assert body["attendees"] == [
        {"emailAddress": {"address": a}, "type": "required"} for a in invite().attendees
    ]
    assert body["isOnlineMeeting"] is True
    assert body["onlineMeetingProvider"] == "teamsForBusiness"
    assert body["transactionId"] == transaction_id(invite().uid)
    (event,) = fake.events.values()
    assert result == MeetingResult(item_id=event["id"], join_url=event["onlineMeeting"]["joinUrl"])
    assert result.join_url is not None and result.join_url.startswith(
        "https://teams.microsoft.com/l/meetup-join/"
    )


@pytest.mark.asyncio
async def test_an_in_person_meeting_asks_for_no_teams_link() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        result = await mailer.send_invite(invite(online=False), None)

    (post,) = fake.graph_calls("POST", "/events")
    assert "isOnlineMeeting" not in post.body and "onlineMeetingProvider" not in post.body
    assert result.item_id in fake.events and result.join_url is None


@pytest.mark.asyncio
async def test_an_update_patches_the_same_event() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        first = await mailer.send_invite(invite(), None)
        changed = invite(
            sequence=1,
            attendees=("facilitator@contoso.example", "ana@contoso.example", "cleo@contoso.example"),
            start=invite().start + timedelta(hours=1),
            end=invite().end + timedelta(hours=1),
        )
        second = await mailer.send_invite(changed, first)

    assert second == first  # same event, same Teams link
    assert len(fake.graph_calls("POST", "/events")) == 1
    (patch,) = fake.graph_calls("PATCH")
    assert first.item_id is not None
    assert patch.path == f"/v1.0/users/{MAILBOX}/events/{first.item_id}"
    assert "transactionId" not in patch.body and "isOnlineMeeting" not in patch.body
    (event,) = fake.events.values()
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == list(changed.attendees)
    assert event["start"] == {"dateTime": "2026-12-03T16:00:00", "timeZone": "UTC"}


@pytest.mark.asyncio
async def test_cancel_sends_the_cancellation_and_a_second_cancel_is_harmless() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        created = await mailer.send_invite(invite(), None)
        await mailer.cancel_invite(invite(), created)
        await mailer.cancel_invite(invite(), created)  # already gone: 404, nothing to do
        with pytest.raises(MailError) as no_id:
            await mailer.cancel_invite(invite(), None)

    assert created.item_id is not None
    assert fake.events == {}
    assert "Peer reflection: Thursday group" in fake.cancelled[created.item_id]
    cancels = fake.graph_calls("POST", "/cancel")
    assert [c.status for c in cancels] == [202, 404]
    assert cancels[0].path == f"/v1.0/users/{MAILBOX}/events/{created.item_id}/cancel"
    assert no_id.value.kind is MailFailure.FAIL


@pytest.mark.asyncio
async def test_send_mail_posts_the_message_and_keeps_a_sent_copy() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        await mailer.send_mail(mail(to=("ana@contoso.example", "ben@contoso.example")))

    (call,) = fake.graph_calls("POST", "/sendMail")
    assert call.path == f"/v1.0/users/{MAILBOX}/sendMail"
    assert fake.sent_mail == [
        {
            "message": {
                "subject": "Reflection reminder",
                "body": {"contentType": "text", "content": "Your session is on Thursday."},
                "toRecipients": [
                    {"emailAddress": {"address": "ana@contoso.example"}},
                    {"emailAddress": {"address": "ben@contoso.example"}},
                ],
                "internetMessageHeaders": [{"name": "X-Reflect-Message-Id", "value": "reminder:2026-12:ana"}],
            },
            "saveToSentItems": True,
        }
    ]


@pytest.mark.asyncio
async def test_429_waits_as_long_as_retry_after_says_then_succeeds() -> None:
    sleep = RecordingSleep()
    async with FakeGraph() as fake, graph_mailer(fake, sleep=sleep) as mailer:
        fake.fail_next(429, times=2, retry_after=7)
        await mailer.send_mail(mail())

    assert len(sleep.delays) == 2 and all(delay >= 7 for delay in sleep.delays)
    assert [r.status for r in fake.requests] == [429, 429, 202]
    assert len(fake.sent_mail) == 1


@pytest.mark.asyncio
async def test_429_retry_really_comes_no_earlier_than_retry_after() -> None:
    async with FakeGraph() as fake, graph_mailer(fake, sleep=asyncio.sleep) as mailer:
        fake.fail_next(429, retry_after=1)
        await mailer.send_mail(mail())

    throttled, accepted = fake.requests
    assert (throttled.status, accepted.status) == (429, 202)
    assert accepted.time - throttled.time >= 1.0


@pytest.mark.asyncio
async def test_a_create_retried_after_a_lost_503_makes_no_second_event() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        # Graph made the event, but the answer was a 503: the mailer must retry, and must not duplicate.
        fake.fail_next(503, after_processing=True, method="POST", path_suffix="/events")
        result = await mailer.send_invite(invite(), None)

    posts = fake.graph_calls("POST", "/events")
    assert [p.status for p in posts] == [503, 201]
    assert posts[0].body["transactionId"] == posts[1].body["transactionId"] == transaction_id(invite().uid)
    (event,) = fake.events.values()
    assert result.item_id == event["id"]
    assert result.join_url == event["onlineMeeting"]["joinUrl"]


@pytest.mark.asyncio
async def test_503_until_the_policy_gives_up_is_a_retry_error() -> None:
    sleep = RecordingSleep()
    async with FakeGraph() as fake, graph_mailer(fake, sleep=sleep) as mailer:
        fake.fail_next(503, times=10, retry_after=2)
        with pytest.raises(MailError) as error:
            await mailer.send_mail(mail())

    assert error.value.kind is MailFailure.RETRY
    assert error.value.retry_after == 2
    assert len(fake.requests) == FAST_RETRY.max_attempts
    assert len(sleep.delays) == FAST_RETRY.max_attempts - 1
    assert fake.sent_mail == []


@pytest.mark.asyncio
async def test_a_retry_after_beyond_the_policy_is_handed_back_not_slept() -> None:
    sleep = RecordingSleep()
    async with FakeGraph() as fake, graph_mailer(fake, sleep=sleep) as mailer:
        fake.fail_next(429, retry_after=600)
        with pytest.raises(MailError) as error:
            await mailer.send_mail(mail())

    assert (error.value.kind, error.value.retry_after) == (MailFailure.RETRY, 600)
    assert sleep.delays == [] and len(fake.requests) == 1


@pytest.mark.asyncio
async def test_wrong_secret_is_an_auth_error_that_does_not_quote_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng~secret.value-7Qx"
    async with FakeGraph() as fake, graph_mailer(fake, secret=wrong) as mailer:
        with pytest.raises(MailError) as error:
            await mailer.send_invite(invite(), None)

    assert error.value.kind is MailFailure.AUTH
    assert "AADSTS7000215" in error.value.reason and "invalid_client" in error.value.reason
    for text in (str(error.value), repr(error.value), error.value.reason, caplog.text):
        assert wrong not in text and fake.client_secret not in text
    assert fake.requests == []  # nothing reached Graph
    assert len(fake.token_requests) == 1


@pytest.mark.asyncio
async def test_an_unknown_tenant_is_an_auth_error() -> None:
    async with FakeGraph() as fake:
        tokens = GraphTokens(
            fake.client_id,
            fake.client_secret,
            f"https://login.microsoftonline.com/not-{fake.tenant}",
            http_client=fake.msal_http_client(),
        )
        with pytest.raises(MailError) as error:
            await tokens.token()

    assert error.value.kind is MailFailure.AUTH
    assert "tenant" in error.value.reason and fake.client_secret not in str(error.value)
    assert fake.token_requests == []


@pytest.mark.asyncio
async def test_403_names_the_permissions_to_check() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        fake.denied_mailboxes.add(MAILBOX)
        with pytest.raises(MailError) as error:
            await mailer.send_mail(mail())

    assert error.value.kind is MailFailure.AUTH
    assert "Mail.Send" in error.value.reason and "Calendars.ReadWrite" in error.value.reason
    assert "fake-graph-token" not in str(error.value)
    assert len(fake.requests) == 1  # a permission problem is not retried


@pytest.mark.asyncio
async def test_other_4xx_fail_at_once() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        fake.fail_next(400, method="POST", path_suffix="/sendMail")
        with pytest.raises(MailError) as bad_request:
            await mailer.send_mail(mail())
        # An id with '/' and '+' must stay one path segment, or the PATCH would hit another URL.
        gone = MeetingResult(item_id="AAMk/deleted+by-hand=", join_url=None)
        with pytest.raises(MailError) as not_found:
            await mailer.send_invite(invite(sequence=1), gone)

    assert bad_request.value.kind is MailFailure.FAIL and bad_request.value.invalid_recipients == ()
    assert not_found.value.kind is MailFailure.FAIL and "ErrorItemNotFound" in not_found.value.reason
    assert [r.status for r in fake.requests] == [400, 404]
    # The fake's own 404 (ErrorItemNotFound, checked above) means the event route matched.
    assert fake.requests[1].path == f"/v1.0/users/{MAILBOX}/events/AAMk/deleted+by-hand="


@pytest.mark.asyncio
async def test_invalid_recipients_are_reported_and_the_others_still_get_the_mail() -> None:
    ghosts = ("ghost@contoso.example", "gone@contoso.example")
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        fake.invalid_addresses.update(ghosts)
        with pytest.raises(MailError) as error:
            await mailer.send_mail(
                mail(to=("ana@contoso.example", ghosts[0], "ben@contoso.example", ghosts[1]))
            )

    assert error.value.kind is MailFailure.FAIL
    assert error.value.invalid_recipients == ghosts
    # Exchange names one unresolved recipient per refusal; nothing is sent until all are out.
    assert [r.status for r in fake.requests] == [400, 400, 202]
    (sent,) = fake.sent_mail
    assert [r["emailAddress"]["address"] for r in sent["message"]["toRecipients"]] == [
        "ana@contoso.example",
        "ben@contoso.example",
    ]


@pytest.mark.asyncio
async def test_a_mail_whose_only_recipient_is_invalid_is_not_sent() -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        fake.invalid_addresses.add("ghost@contoso.example")
        with pytest.raises(MailError) as error:
            await mailer.send_mail(mail(to=("ghost@contoso.example",)))

    assert error.value.kind is MailFailure.FAIL
    assert error.value.invalid_recipients == ("ghost@contoso.example",)
    assert fake.sent_mail == [] and len(fake.requests) == 1


@pytest.mark.asyncio
async def test_an_invalid_attendee_is_left_out_and_the_meeting_still_made(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeGraph() as fake, graph_mailer(fake) as mailer:
        fake.invalid_addresses.add("ghost@contoso.example")
        with_ghost = invite(attendees=("facilitator@contoso.example", "ghost@contoso.example"))
        result = await mailer.send_invite(with_ghost, None)

    (event,) = fake.events.values()
    assert result.item_id == event["id"]
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == ["facilitator@contoso.example"]
    assert "1 attendee(s) rejected" in caplog.text
