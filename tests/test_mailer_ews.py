"""The `ews` mailer: the real exchangelib client over HTTP against the local fake EWS server."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msal
import pytest
import pytest_asyncio

from mailers.ews import EwsMailer
from support.mail import MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult
from tests.fakes.ews_server import FakeEws

MAILBOX = "reflect@example.org"
PASSWORD = "correct horse battery staple"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def fake() -> Iterator[FakeEws]:
    with FakeEws(MAILBOX, username="svc-reflect", password=PASSWORD) as server:
        yield server


def make_mailer(fake: FakeEws, **overrides: object) -> EwsMailer:
    settings: dict[str, object] = {
        "service_endpoint": fake.url,
        "mailbox": MAILBOX,
        "auth": "basic",
        "username": "svc-reflect",
        "password": PASSWORD,
        "default_timezone": "Europe/London",
        "retry_delay": 0.05,
    }
    settings.update(overrides)
    return EwsMailer(**settings)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def mailer(fake: FakeEws) -> AsyncIterator[EwsMailer]:
    m = make_mailer(fake)
    yield m
    await m.close()


def invite(**changes: object) -> MeetingInvite:
    base = MeetingInvite(
        uid="reflect-thu-coach-1-2026-07@reflect.local",
        sequence=0,
        organizer=MAILBOX,
        subject="Peer reflection: Health Coaches (July)",
        body_text="Monthly reflective practice session. Please accept or decline.",
        start=datetime(2026, 7, 9, 10, 0, tzinfo=LONDON),
        end=datetime(2026, 7, 9, 11, 30, tzinfo=LONDON),
        timezone="Europe/London",
        attendees=("fac@example.org", "ann@example.org", "bob@example.org"),
        location="Room 2",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def mail(
    message_id: str = "reminder-2026-07-ann@reflect.local", to: tuple[str, ...] = ("ann@example.org",)
) -> MailMessage:
    return MailMessage(
        to=to,
        subject="Reminder: peer reflection on Thursday",
        body_text="Your group meets on Thursday at 10:00.",
        sender=MAILBOX,
        message_id=message_id,
    )


def kinds(fake: FakeEws, address: str) -> list[str]:
    return [r.kind for r in fake.inbox(address)]


# ---- meetings --------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_invite_creates_one_meeting_request_per_attendee(fake: FakeEws, mailer: EwsMailer) -> None:
    result = await mailer.send_invite(invite(), None)

    [meeting] = fake.folder("calendar")
    assert result.item_id == meeting.id
    assert result.join_url is None  # EWS cannot ask for a Teams link (is_online_meeting is read-only)
    assert meeting.uid == invite().uid
    assert meeting.start_timezone == "GMT Standard Time"  # Windows id of Europe/London
    assert datetime.fromisoformat(meeting.start or "") == datetime(2026, 7, 9, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert datetime.fromisoformat(meeting.end or "") == invite().end
    for person in invite().attendees:
        [request] = fake.inbox(person)
        assert request.kind == "meeting_request"
        assert (request.subject, request.location, request.uid) == (invite().subject, "Room 2", invite().uid)
        assert set(request.attendees) == set(invite().attendees)
        assert request.sender == MAILBOX


@pytest.mark.asyncio
async def test_sending_the_same_invite_again_sends_nothing(fake: FakeEws, mailer: EwsMailer) -> None:
    first = await mailer.send_invite(invite(), None)
    again = await mailer.send_invite(invite(), first)
    lost_id = await mailer.send_invite(invite(), None)  # the caller lost the item id: found by UID

    assert again == first == lost_id
    assert len(fake.folder("calendar")) == 1
    assert kinds(fake, "ann@example.org") == ["meeting_request"]
    assert "UpdateItem" not in fake.operations()


@pytest.mark.asyncio
async def test_update_moves_the_meeting_invites_joiner_and_removes_leaver(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    created = await mailer.send_invite(invite(), None)
    moved = invite(
        sequence=1,
        start=datetime(2026, 7, 16, 14, 0, tzinfo=LONDON),
        end=datetime(2026, 7, 16, 15, 30, tzinfo=LONDON),
        attendees=("fac@example.org", "ann@example.org", "cat@example.org"),  # bob left, cat joined
    )
    updated = await mailer.send_invite(moved, created)

    assert updated.item_id == created.item_id
    [meeting] = fake.folder("calendar")
    assert set(meeting.recipients) == {"fac@example.org", "ann@example.org", "cat@example.org"}
    assert datetime.fromisoformat(meeting.start or "") == moved.start
    assert meeting.start_timezone == "GMT Standard Time"
    assert kinds(fake, "ann@example.org") == ["meeting_request", "meeting_update"]
    assert fake.inbox("ann@example.org")[-1].start is not None
    assert datetime.fromisoformat(fake.inbox("ann@example.org")[-1].start or "") == moved.start
    assert kinds(fake, "cat@example.org") == ["meeting_update"]
    assert kinds(fake, "bob@example.org") == ["meeting_request", "meeting_cancellation"]


@pytest.mark.asyncio
async def test_stale_item_id_falls_back_to_the_uid(fake: FakeEws, mailer: EwsMailer) -> None:
    first = await mailer.send_invite(invite(), None)
    again = await mailer.send_invite(invite(), MeetingResult(item_id="AAMk-deleted-or-foreign="))

    assert again == first
    assert len(fake.folder("calendar")) == 1 and kinds(fake, "ann@example.org") == ["meeting_request"]


@pytest.mark.asyncio
async def test_cancel_reaches_every_attendee_once(fake: FakeEws, mailer: EwsMailer) -> None:
    created = await mailer.send_invite(invite(), None)
    await mailer.cancel_invite(invite(), created)
    await mailer.cancel_invite(invite(), created)  # already cancelled: nothing more is sent
    await mailer.cancel_invite(invite(uid="never-created@reflect.local"), None)

    assert fake.folder("calendar") == []
    for person in invite().attendees:
        assert kinds(fake, person) == ["meeting_request", "meeting_cancellation"]
    assert fake.operations().count("CreateItem") == 2  # the meeting, one CancelCalendarItem


# ---- mail ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_send_mail_delivers_and_keeps_a_marked_sent_copy(fake: FakeEws, mailer: EwsMailer) -> None:
    await mailer.send_mail(mail(to=("ann@example.org", "bob@example.org")))
    await mailer.send_mail(mail(message_id="second@reflect.local"))

    [received] = fake.inbox("bob@example.org")
    assert (received.kind, received.sender, received.subject) == ("message", MAILBOX, mail().subject)
    assert received.body == mail().body_text
    assert len(fake.inbox("ann@example.org")) == 2
    keys = sorted(i.extended["ReflectIdempotencyKey"] for i in fake.folder("sentitems"))
    assert keys == ["reminder-2026-07-ann@reflect.local", "second@reflect.local"]
    # The account is built once: the root and Sent Items folders are looked up once, not per mail.
    assert fake.operations() == ["GetFolder", "GetFolder", "CreateItem", "CreateItem"]


@pytest.mark.asyncio
async def test_mail_from_another_sender_goes_out_as_that_sender(fake: FakeEws, mailer: EwsMailer) -> None:
    await mailer.send_mail(dataclasses.replace(mail(), sender="coordinators@example.org"))

    [received] = fake.inbox("ann@example.org")
    assert received.sender == "coordinators@example.org"


@pytest.mark.asyncio
async def test_exchangelib_runs_off_the_event_loop(fake: FakeEws, mailer: EwsMailer) -> None:
    fake.hold_next("CreateItem")
    task = asyncio.create_task(mailer.send_mail(mail()))
    # Were exchangelib run on the loop, the send would block it until the fake gave up holding (10 s),
    # and by the time this line ran the task would be done.
    assert await asyncio.to_thread(fake.held.wait, 10)
    assert not task.done()
    fake.release()
    await task
    assert len(fake.inbox("ann@example.org")) == 1


# ---- retries and idempotency -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_server_busy_back_off_is_honoured_and_one_mail_results(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    await mailer.send_mail(mail(message_id="warm-up@reflect.local", to=("fac@example.org",)))
    fake.busy(times=2, backoff_ms=200)

    await mailer.send_mail(mail())

    assert len(fake.inbox("ann@example.org")) == 1
    codes = [r.code for r in fake.requests if r.operation == "CreateItem"][1:]
    assert codes == ["ErrorServerBusy", "ErrorServerBusy", "NoError"]
    assert fake.early_retries == 0  # never came back before BackOffMilliseconds was over


@pytest.mark.asyncio
async def test_back_off_longer_than_max_wait_is_handed_back_to_the_caller(fake: FakeEws) -> None:
    mailer = make_mailer(fake, max_wait=5.0)
    fake.busy(times=1, backoff_ms=60_000)
    with pytest.raises(MailError) as caught:
        await mailer.send_mail(mail())
    await mailer.close()

    assert caught.value.kind is MailFailure.RETRY
    assert caught.value.retry_after == 60.0
    assert len(fake.requests) == 1
    assert fake.inbox("ann@example.org") == []


@pytest.mark.asyncio
async def test_503_after_exchange_sent_the_mail_does_not_send_it_twice(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    fake.fail_after_create(times=1)

    await mailer.send_mail(mail())

    assert len(fake.inbox("ann@example.org")) == 1
    ops = fake.operations()
    assert ops.count("CreateItem") == 1  # the one Exchange processed; we looked it up instead of resending
    assert ops.index("FindItem") > ops.index("CreateItem")
    assert [r.status for r in fake.requests if r.operation == "CreateItem"] == [503]


@pytest.mark.asyncio
async def test_503_before_exchange_processed_the_mail_is_resent_once(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    fake.fail_before("CreateItem", times=1)

    await mailer.send_mail(mail())

    assert len(fake.inbox("ann@example.org")) == 1
    ops = fake.operations()
    assert ops.count("CreateItem") == 2 and "FindItem" in ops  # looked, found nothing, sent


@pytest.mark.asyncio
async def test_doubt_survives_a_failed_call_so_the_next_call_looks_first(fake: FakeEws) -> None:
    mailer = make_mailer(fake, max_attempts=1)
    fake.fail_after_create(times=1)
    with pytest.raises(MailError) as caught:
        await mailer.send_mail(mail())
    assert caught.value.kind is MailFailure.RETRY

    await mailer.send_mail(mail())  # the outbox retries later
    await mailer.close()

    assert len(fake.inbox("ann@example.org")) == 1
    assert fake.operations()[-1] == "FindItem"


@pytest.mark.asyncio
async def test_503_after_creating_a_meeting_does_not_create_a_second(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    fake.fail_after_create(times=1)

    result = await mailer.send_invite(invite(), None)

    [meeting] = fake.folder("calendar")
    assert result.item_id == meeting.id
    assert kinds(fake, "ann@example.org") == ["meeting_request"]


def test_control_exchangelib_fault_tolerance_alone_duplicates_the_mail(fake: FakeEws) -> None:
    """The trap our idempotency closes: FaultTolerance resends a CreateItem that already succeeded."""
    from exchangelib import (
        BASIC,
        Account,
        Build,
        Configuration,
        Credentials,
        FaultTolerance,
        Message,
        Version,
    )

    config = Configuration(
        service_endpoint=fake.url,
        credentials=Credentials("svc-reflect", PASSWORD),
        auth_type=BASIC,
        version=Version(build=Build(15, 1, 2507, 6)),
        retry_policy=FaultTolerance(max_wait=5),
    )
    account = Account(MAILBOX, config=config, autodiscover=False, default_timezone=LONDON)
    fake.fail_after_create(times=1, retry_after=1)

    Message(account=account, subject="s", body="b", to_recipients=["ann@example.org"]).send()
    account.protocol.close()

    assert len(fake.inbox("ann@example.org")) == 2


# ---- invalid recipients ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_invalid_recipients_are_reported_and_the_others_still_get_the_mail(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    fake.reject_recipients("gone@example.org", "typo@exmaple.org")
    to = ("ann@example.org", "gone@example.org", "bob@example.org", "typo@exmaple.org", "not an address")

    with pytest.raises(MailError) as caught:
        await mailer.send_mail(mail(to=to))

    assert caught.value.kind is MailFailure.FAIL
    assert set(caught.value.invalid_recipients) == {"gone@example.org", "typo@exmaple.org", "not an address"}
    assert len(fake.inbox("ann@example.org")) == 1 and len(fake.inbox("bob@example.org")) == 1
    assert fake.inbox("gone@example.org") == []
    assert len(fake.folder("sentitems")) == 1


@pytest.mark.asyncio
async def test_invalid_attendee_is_reported_and_the_others_get_the_meeting(
    fake: FakeEws, mailer: EwsMailer
) -> None:
    fake.reject_recipients("bob@example.org")
    with pytest.raises(MailError) as caught:
        await mailer.send_invite(invite(), None)
    assert caught.value.invalid_recipients == ("bob@example.org",)
    assert kinds(fake, "ann@example.org") == ["meeting_request"]

    # The caller drops bob and sends again without an item id: the same meeting, no second one.
    fixed = invite(attendees=("fac@example.org", "ann@example.org"))
    result = await mailer.send_invite(fixed, None)
    [meeting] = fake.folder("calendar")
    assert result.item_id == meeting.id
    assert kinds(fake, "ann@example.org") == ["meeting_request"]


# ---- authentication --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wrong_password_fails_fast_with_a_clear_message(fake: FakeEws) -> None:
    mailer = make_mailer(fake, password="wrong password 123")
    with pytest.raises(MailError) as caught:
        await mailer.send_mail(mail())
    await mailer.close()

    assert caught.value.kind is MailFailure.AUTH
    assert str(caught.value) == f"auth: Exchange rejected the credentials for {MAILBOX}"
    assert "wrong password 123" not in repr(caught.value) and PASSWORD not in repr(caught.value)
    assert len(fake.requests) <= 3
    assert fake.inbox("ann@example.org") == []


APP_ID, APP_SECRET = "reflect-app-id", "s3cret-value~not-the-id"


@pytest.fixture
def oauth_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEws]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake EWS endpoint is plain http
    with FakeEws(MAILBOX, client_id=APP_ID, client_secret=APP_SECRET) as server:
        yield server


def oauth_mailer(fake: FakeEws, **overrides: object) -> EwsMailer:
    settings: dict[str, object] = {
        "auth": "oauth",
        "username": None,
        "password": None,
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "tenant_id": fake.tenant,
        "http_client": fake.msal_http_client(),
    }
    return make_mailer(fake, **(settings | overrides))


class MsalTime:
    """msal's `time` module with a settable time(): msal's own expiry logic runs unchanged."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.mark.asyncio
async def test_oauth_token_comes_from_msal_once_and_serves_every_send(oauth_fake: FakeEws) -> None:
    mailer = oauth_mailer(oauth_fake)
    loopback = mailer._tokens._http_client  # type: ignore[union-attr]
    await mailer.send_mail(mail())
    await mailer.send_mail(mail(message_id="second@reflect.local"))
    created = await mailer.send_invite(invite(), None)
    await mailer.cancel_invite(invite(), created)
    await mailer.close()

    assert len(oauth_fake.inbox("ann@example.org")) == 4  # two mails, the request, the cancellation
    assert oauth_fake.operations().count("token") == 1  # one token from msal, reused
    (form,) = oauth_fake.token_forms  # the secret was sent, but the fake does not keep it
    assert (form["grant_type"], form["client_id"], form["scope"]) == (
        "client_credentials",
        APP_ID,
        "https://outlook.office365.com/.default",
    )
    # msal did tenant discovery and one token request, both routed to the fake, nothing else.
    assert loopback.urls == [
        f"https://login.microsoftonline.com/{oauth_fake.tenant}/v2.0/.well-known/openid-configuration",
        f"https://login.microsoftonline.com/{oauth_fake.tenant}/oauth2/v2.0/token",
    ]
    ews = [r for r in oauth_fake.requests if r.operation != "token"]
    assert {(r.status, r.impersonated) for r in ews} == {(200, MAILBOX)}  # app-only: impersonation


@pytest.mark.asyncio
async def test_oauth_wrong_secret_fails_fast_without_the_secret(
    oauth_fake: FakeEws, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-secret-0123"
    mailer = oauth_mailer(oauth_fake, client_secret=wrong)
    with pytest.raises(MailError) as caught:
        await mailer.send_mail(mail())
    await mailer.close()

    assert caught.value.kind is MailFailure.AUTH
    assert "AADSTS7000215" in caught.value.reason and "invalid_client" in caught.value.reason
    for text in (str(caught.value), repr(caught.value), caught.value.reason, caplog.text):
        assert wrong not in text and APP_SECRET not in text
    assert [(r.operation, r.status) for r in oauth_fake.requests] == [("token", 401)]  # nothing reached EWS
    assert oauth_fake.inbox("ann@example.org") == []


@pytest.mark.asyncio
async def test_oauth_revoked_token_is_replaced_once(oauth_fake: FakeEws) -> None:
    mailer = oauth_mailer(oauth_fake)
    await mailer.send_mail(mail())
    oauth_fake.revoke_tokens()
    await mailer.send_mail(mail(message_id="second@reflect.local"))
    await mailer.close()

    assert len(oauth_fake.inbox("ann@example.org")) == 2
    assert len(oauth_fake.issued_tokens) == 2
    creates = [(r.status, r.code) for r in oauth_fake.requests if r.operation == "CreateItem"]
    assert creates == [(200, "NoError"), (401, "Unauthorized"), (200, "NoError")]


@pytest.mark.asyncio
async def test_oauth_token_is_renewed_by_msal_near_expiry(
    oauth_fake: FakeEws, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = MsalTime()
    monkeypatch.setattr(msal.application, "time", clock)
    monkeypatch.setattr(msal.token_cache, "time", clock)
    mailer = oauth_mailer(oauth_fake)
    await mailer.send_mail(mail())
    clock.now += 3000  # 10 minutes left: msal still uses it
    await mailer.send_mail(mail(message_id="second@reflect.local"))
    clock.now += 400  # inside msal's 5-minute margin: msal fetches a new one before the next send
    await mailer.send_mail(mail(message_id="third@reflect.local"))
    await mailer.close()

    assert len(oauth_fake.issued_tokens) == 2
    assert [r.status for r in oauth_fake.requests if r.operation == "CreateItem"] == [200, 200, 200]


def test_constructor_refuses_incomplete_settings() -> None:
    def build(**settings: str) -> EwsMailer:
        defaults = {"service_endpoint": "http://127.0.0.1:1/EWS/Exchange.asmx", "mailbox": MAILBOX}
        return EwsMailer(default_timezone="UTC", **(defaults | settings))  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="username and password"):
        build(auth="basic", username="svc")
    with pytest.raises(ValueError, match="access_type"):
        build(auth="basic", username="svc", password="p", access_type="owner")
    with pytest.raises(ValueError, match="client_id, client_secret and tenant_id"):
        build(auth="oauth", client_id="app")
    with pytest.raises(ValueError, match="primary SMTP address"):
        build(auth="basic", username="svc", password="p", mailbox="reflect")
    with pytest.raises(ValueError, match="unknown auth"):
        build(auth="kerberos")
