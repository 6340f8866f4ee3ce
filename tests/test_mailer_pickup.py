"""The pickup backend: every file it writes parses back as RFC 5322 mail and as an iTIP calendar."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from mailers.ical import invite_cancel, invite_request
from mailers.pickup import PickupMailer
from support.mail import MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult

LONDON = ZoneInfo("Europe/London")
UID = "reflect-thu-coach-1-2027-03@reflect.local"
ORGANIZER = "reflect@example.org"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves one minute per reading, so every file gets a later time stamp."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(minutes=1)
        return now


def make_invite(**changes: object) -> MeetingInvite:
    base = MeetingInvite(
        uid=UID,
        sequence=0,
        organizer=ORGANIZER,
        subject="Reflection group: March",
        body_text="Your monthly reflection session. Please accept or decline.",
        start=datetime(2027, 3, 25, 10, 0, tzinfo=LONDON),
        end=datetime(2027, 3, 25, 11, 30, tzinfo=LONDON),
        timezone="Europe/London",
        attendees=("ann@example.org", "bob@example.org"),
        location="Room 2",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def eml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix == ".eml")


def read_eml(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def calendar_part(msg: EmailMessage) -> tuple[EmailMessage, Calendar]:
    """The text/calendar part of a meeting email and the calendar it parses to."""
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/calendar"]
    part = parts[1]
    assert isinstance(part, EmailMessage)
    return part, Calendar.from_ical(part.get_content())


def only_event(cal: Calendar) -> Event:
    assert len(cal.events) == 1
    return cal.events[0]


def attendee_emails(event: Event) -> list[str]:
    return [str(a).removeprefix("mailto:") for a in event.attendees]


def utc_start(event: Event) -> datetime:
    start = event.start
    assert isinstance(start, datetime)
    return start.astimezone(UTC)


def mailer(tmp_path: Path, clock: Callable[[], datetime] | None = None) -> PickupMailer:
    return PickupMailer(tmp_path / "pickup", clock=clock or StepClock())


@pytest.mark.asyncio
async def test_request_is_a_valid_meeting_request(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    result = await m.send_invite(make_invite(), None)

    assert result == MeetingResult(item_id=None, join_url=None)
    [path] = eml_files(tmp_path / "pickup")
    assert path.name.startswith("20261201T090000Z-reflect-thu-coach-1-2027-03-reflect-local-")
    assert path.name.endswith("-0000-request.eml")
    msg = read_eml(path)
    assert msg["From"].addresses[0].addr_spec == ORGANIZER
    assert [a.addr_spec for a in msg["To"].addresses] == ["ann@example.org", "bob@example.org"]
    assert msg["Subject"] == "Reflection group: March"
    assert msg["Date"].datetime == T0
    assert msg["Message-ID"] == f"<request.0.{UID}>"
    assert msg.get_body(("plain",)).get_content().strip() == make_invite().body_text  # type: ignore[union-attr]

    part, cal = calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"
    assert cal["METHOD"] == "REQUEST"
    assert cal["VERSION"] == "2.0"
    assert cal.get("PRODID")
    event = only_event(cal)
    assert event.uid == UID
    assert event.sequence == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event.DTSTAMP == T0
    assert event["SUMMARY"] == "Reflection group: March"
    assert event["DESCRIPTION"] == make_invite().body_text
    assert event["LOCATION"] == "Room 2"
    assert str(event["ORGANIZER"]) == f"mailto:{ORGANIZER}"
    assert attendee_emails(event) == ["ann@example.org", "bob@example.org"]
    for attendee in event.attendees:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    assert event.end - event.start == timedelta(minutes=90)


@pytest.mark.asyncio
async def test_send_invite_keeps_an_existing_result(tmp_path: Path) -> None:
    existing = MeetingResult(item_id="AAMk-1", join_url="https://teams.example/join/1")
    assert await mailer(tmp_path).send_invite(make_invite(), existing) is existing


@pytest.mark.asyncio
async def test_update_carries_new_sequence_time_and_attendees(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    first = make_invite()
    update = make_invite(
        sequence=1,
        start=datetime(2027, 3, 30, 14, 0, tzinfo=LONDON),
        end=datetime(2027, 3, 30, 15, 30, tzinfo=LONDON),
        attendees=("ann@example.org", "cat@example.org", "dev@example.org"),
    )
    await m.send_invite(first, None)
    await m.send_invite(update, MeetingResult())

    old, new = eml_files(tmp_path / "pickup")  # names sort by the time they were written
    assert old.name.endswith("-0000-request.eml") and new.name.endswith("-0001-request.eml")
    assert old.name < new.name
    assert only_event(calendar_part(read_eml(old))[1]).sequence == 0  # the first file is untouched

    msg = read_eml(new)
    assert [a.addr_spec for a in msg["To"].addresses] == list(update.attendees)
    assert msg["Message-ID"] == f"<request.1.{UID}>"
    event = only_event(calendar_part(msg)[1])
    assert event.uid == UID
    assert event.sequence == 1
    assert attendee_emails(event) == ["ann@example.org", "cat@example.org", "dev@example.org"]
    assert event.start == datetime(2027, 3, 30, 14, 0, tzinfo=LONDON)
    # 30 March is after the clocks go forward: 14:00 BST is 13:00 UTC.
    assert utc_start(event) == datetime(2027, 3, 30, 13, 0, tzinfo=UTC)


@pytest.mark.asyncio
async def test_an_update_that_removes_attendees_cancels_only_their_attendance(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    await m.send_invite(make_invite(), None)
    await m.send_invite(
        make_invite(sequence=1, attendees=("ann@example.org",), removed=("bob@example.org",)), None
    )

    [removal] = [p for p in eml_files(tmp_path / "pickup") if p.name.endswith("-0001-uninvite.eml")]
    msg = read_eml(removal)
    assert [a.addr_spec for a in msg["To"].addresses] == ["bob@example.org"]  # nobody else
    assert "no longer invited" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    part, cal = calendar_part(msg)
    assert part.get_param("method") == "CANCEL" and cal["METHOD"] == "CANCEL"
    event = only_event(cal)
    assert event.uid == UID and event.sequence == 1
    assert attendee_emails(event) == ["bob@example.org"]
    assert "STATUS" not in event  # RFC 5546 3.2.5: STATUS:CANCELLED would cancel it for everyone
    [request] = [p for p in eml_files(tmp_path / "pickup") if p.name.endswith("-0001-request.eml")]
    assert attendee_emails(only_event(calendar_part(read_eml(request))[1])) == ["ann@example.org"]


@pytest.mark.asyncio
async def test_cancel_is_method_cancel_with_status_cancelled(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    await m.send_invite(make_invite(), None)
    await m.cancel_invite(make_invite(sequence=1), MeetingResult())

    [cancel_path] = [p for p in eml_files(tmp_path / "pickup") if p.name.endswith("-0001-cancel.eml")]
    msg = read_eml(cancel_path)
    assert msg["Subject"] == "Cancelled: Reflection group: March"
    assert msg["Message-ID"] == f"<cancel.1.{UID}>"
    assert "cancelled" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    part, cal = calendar_part(msg)
    assert part.get_param("method") == "CANCEL"
    assert cal["METHOD"] == "CANCEL"
    event = only_event(cal)
    assert event.uid == UID
    assert event.sequence == 1
    assert event["STATUS"] == "CANCELLED"
    assert attendee_emails(event) == ["ann@example.org", "bob@example.org"]
    assert "RSVP" not in event.attendees[0].params  # nobody replies to a cancellation


@pytest.mark.asyncio
async def test_times_are_in_the_programme_timezone_across_dst(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    before = make_invite(uid="before@reflect.local")  # 25 March 2027: still GMT
    after = make_invite(
        uid="after@reflect.local",  # 22 April 2027: BST
        # Given in UTC on purpose: the file must still show the programme's wall-clock time.
        start=datetime(2027, 4, 22, 9, 0, tzinfo=UTC),
        end=datetime(2027, 4, 22, 10, 30, tzinfo=UTC),
    )
    await m.send_invite(before, None)
    await m.send_invite(after, None)

    by_uid = {}
    for path in eml_files(tmp_path / "pickup"):
        part, cal = calendar_part(read_eml(path))
        by_uid[only_event(cal).uid] = (part.get_content(), cal)

    raw, cal = by_uid["before@reflect.local"]
    assert "DTSTART;TZID=Europe/London:20270325T100000" in raw
    assert "DTEND;TZID=Europe/London:20270325T113000" in raw
    assert utc_start(only_event(cal)) == datetime(2027, 3, 25, 10, 0, tzinfo=UTC)

    raw, cal = by_uid["after@reflect.local"]
    assert "DTSTART;TZID=Europe/London:20270422T100000" in raw
    assert utc_start(only_event(cal)) == datetime(2027, 4, 22, 9, 0, tzinfo=UTC)

    for _, cal in by_uid.values():
        [vtimezone] = cal.timezones
        assert vtimezone["TZID"] == "Europe/London"
        kinds = {sub.name for sub in vtimezone.subcomponents}
        assert kinds == {"STANDARD", "DAYLIGHT"}
        # What a client that does not know IANA names (Outlook) goes by: BST from 28 March 02:00.
        daylight = next(sub for sub in vtimezone.subcomponents if sub.name == "DAYLIGHT")
        assert daylight.decoded("TZOFFSETTO") == timedelta(hours=1)
        assert daylight.decoded("DTSTART") == datetime(2027, 3, 28, 2, 0)


@pytest.mark.asyncio
async def test_non_ascii_names_and_subjects_survive(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    invite = make_invite(
        organizer="Clár Machnaimh <reflect@example.org>",
        subject="Machnamh le Zoë Ó Briain",
        body_text="Fáilte, Zoë! Seisiún machnaimh.",
        location="Seomra Ó Dálaigh",
        attendees=("Zoë Ó Briain <zoe@example.org>", "bob@example.org"),
    )
    await m.send_invite(invite, None)
    await m.send_mail(
        MailMessage(
            to=("Zoë Ó Briain <zoe@example.org>",),
            subject="Réunion — Zoë Ó Briain",
            body_text="Bonjour Zoë, à bientôt.",
            sender="Clár Machnaimh <reflect@example.org>",
            message_id="reminder-2027-03-zoe",
        )
    )

    invite_path, mail_path = sorted(eml_files(tmp_path / "pickup"), key=lambda p: "mail" in p.name)
    for path in (invite_path, mail_path):
        data = path.read_bytes()
        data.decode("ascii")  # 7-bit on disk: RFC 2047 headers, encoded bodies
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only

    msg = read_eml(invite_path)
    assert msg["Subject"] == "Machnamh le Zoë Ó Briain"
    assert msg["From"].addresses[0].display_name == "Clár Machnaimh"
    assert msg["To"].addresses[0].display_name == "Zoë Ó Briain"
    assert msg.get_body(("plain",)).get_content().strip() == "Fáilte, Zoë! Seisiún machnaimh."  # type: ignore[union-attr]
    event = only_event(calendar_part(msg)[1])
    assert event["SUMMARY"] == "Machnamh le Zoë Ó Briain"
    assert event["LOCATION"] == "Seomra Ó Dálaigh"
    assert event["ORGANIZER"].params["CN"] == "Clár Machnaimh"
    assert event.attendees[0].params["CN"] == "Zoë Ó Briain"
    assert str(event.attendees[0]) == "mailto:zoe@example.org"

    mail = read_eml(mail_path)
    assert mail["Subject"] == "Réunion — Zoë Ó Briain"
    assert mail["To"].addresses[0].display_name == "Zoë Ó Briain"
    assert mail.get_content().strip() == "Bonjour Zoë, à bientôt."


@pytest.mark.asyncio
async def test_send_mail_writes_plain_text(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    message = MailMessage(
        to=("ann@example.org", "bob@example.org"),
        subject="Your peer meeting this month",
        body_text="Have you met your peer yet?\nRecord it in Teams.",
        sender=ORGANIZER,
        message_id="nudge-2027-03-ann",
    )
    await m.send_mail(message)

    [path] = eml_files(tmp_path / "pickup")
    # Addresses and names: readable by the service's account only, like the data file.
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "pickup").stat().st_mode & 0o777 == 0o700
    assert path.name.startswith("20261201T090000Z-nudge-2027-03-ann-")
    assert path.name.endswith("-mail.eml")
    msg = read_eml(path)
    assert msg.get_content_type() == "text/plain"
    assert not msg.is_multipart()
    assert [a.addr_spec for a in msg["To"].addresses] == ["ann@example.org", "bob@example.org"]
    assert msg["From"].addresses[0].addr_spec == ORGANIZER
    assert msg["Message-ID"] == "<nudge-2027-03-ann@example.org>"  # sender's domain completes the id
    assert msg["Date"].datetime == T0
    # The file has CRLF line ends (RFC 5322); the stdlib parser hands them back as they are.
    assert msg.get_content().splitlines() == ["Have you met your peer yet?", "Record it in Teams."]


@pytest.mark.asyncio
async def test_resending_writes_nothing_new(tmp_path: Path) -> None:
    m = mailer(tmp_path)  # the clock moves on between sends: a later resend must still be spotted
    message = MailMessage(("ann@example.org",), "Hello", "Hi", ORGANIZER, "<hello-1@example.org>")
    for _ in range(2):
        await m.send_invite(make_invite(), None)
        await m.cancel_invite(make_invite(sequence=1), None)
        await m.send_mail(message)
    assert len(eml_files(tmp_path / "pickup")) == 3

    # A new mailer over the same directory (a restarted process) sees the files too.
    again = mailer(tmp_path, StepClock(T0 + timedelta(days=1)))
    await again.send_invite(make_invite(), None)
    await again.send_mail(message)
    assert len(eml_files(tmp_path / "pickup")) == 3

    await again.send_invite(make_invite(sequence=2), None)  # a real update is written
    assert len(eml_files(tmp_path / "pickup")) == 4


@pytest.mark.asyncio
async def test_concurrent_identical_sends_write_one_file(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    await asyncio.gather(*(m.send_invite(make_invite(), None) for _ in range(8)))
    assert len(eml_files(tmp_path / "pickup")) == 1


@pytest.mark.asyncio
async def test_uids_that_slug_alike_stay_distinct(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    await m.send_invite(make_invite(uid="group.1@reflect.local"), None)
    await m.send_invite(make_invite(uid="group-1@reflect.local"), None)
    assert len(eml_files(tmp_path / "pickup")) == 2


@pytest.mark.asyncio
async def test_no_temp_files_left_behind(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    await m.send_invite(make_invite(), None)
    await m.send_invite(make_invite(sequence=1), None)
    await m.cancel_invite(make_invite(sequence=2), None)
    await m.send_mail(MailMessage(("ann@example.org",), "Hello", "Hi", ORGANIZER, "m-1"))
    await m.close()
    names = sorted(n for n in os.listdir(tmp_path / "pickup") if n != ".written.jsonl")  # the key index
    assert len(names) == 4
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)


@pytest.mark.asyncio
async def test_a_message_is_written_once_across_mailers_without_rescanning(tmp_path: Path) -> None:
    first, second = mailer(tmp_path), mailer(tmp_path)  # as the bot and `reflect run-due` would
    await second.send_mail(MailMessage(("bo@example.org",), "Hello", "Hi", ORGANIZER, "m-0"))  # scans once
    await first.send_mail(MailMessage(("ann@example.org",), "Hello", "Hi", ORGANIZER, "m-1"))
    await second.send_mail(MailMessage(("ann@example.org",), "Hello", "Hi", ORGANIZER, "m-1"))
    assert len(eml_files(tmp_path / "pickup")) == 2
    index = (tmp_path / "pickup" / ".written.jsonl").read_text()
    assert "ann" not in index and len(index.splitlines()) == 2  # hashes, never addresses
    assert oct((tmp_path / "pickup" / ".written.jsonl").stat().st_mode & 0o777) == "0o600"


@pytest.mark.asyncio
async def test_failed_write_leaves_no_file_and_asks_for_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mailers.pickup.os.replace", broken_replace)
    with pytest.raises(MailError) as err:
        await mailer(tmp_path).send_invite(make_invite(), None)
    assert err.value.kind is MailFailure.RETRY
    assert os.listdir(tmp_path / "pickup") == []

    monkeypatch.undo()
    await mailer(tmp_path).send_invite(make_invite(), None)  # the retry goes through
    assert len(eml_files(tmp_path / "pickup")) == 1


@pytest.mark.asyncio
async def test_a_file_in_place_of_the_directory_is_a_permanent_failure(tmp_path: Path) -> None:
    (tmp_path / "pickup").write_text("not a directory")
    with pytest.raises(MailError) as err:
        await mailer(tmp_path).send_mail(MailMessage(("ann@example.org",), "Hi", "Hi", ORGANIZER, "m-1"))
    assert err.value.kind is MailFailure.FAIL


@pytest.mark.asyncio
async def test_bad_addresses_fail_without_writing(tmp_path: Path) -> None:
    m = mailer(tmp_path)
    with pytest.raises(MailError) as err:
        await m.send_invite(make_invite(attendees=("not an address",)), None)
    assert err.value.kind is MailFailure.FAIL
    with pytest.raises(MailError) as err:
        await m.send_mail(MailMessage((), "Hi", "Hi", ORGANIZER, "m-1"))
    assert err.value.kind is MailFailure.FAIL
    assert not (tmp_path / "pickup").exists() or eml_files(tmp_path / "pickup") == []


def test_ical_is_deterministic_given_now() -> None:
    invite = make_invite()
    assert invite_request(invite, now=T0) == invite_request(invite, now=T0)
    assert invite_cancel(invite, now=T0) == invite_cancel(invite, now=T0)
    later = invite_request(invite, now=T0 + timedelta(hours=1))
    assert Calendar.from_ical(later).events[0].DTSTAMP == T0 + timedelta(hours=1)


def test_ical_lists_each_attendee_once() -> None:
    invite = make_invite(attendees=("ann@example.org", "Ann <ANN@example.org>", "bob@example.org"))
    event = Calendar.from_ical(invite_request(invite, now=T0)).events[0]
    assert attendee_emails(event) == ["ann@example.org", "bob@example.org"]


@pytest.mark.parametrize(
    "changes",
    [
        {"start": datetime(2027, 3, 25, 10, 0)},  # naive
        {"timezone": "Europe/Atlantis"},
        {"attendees": ()},
    ],
)
def test_ical_rejects_what_it_cannot_express(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        invite_request(make_invite(**changes), now=T0)
