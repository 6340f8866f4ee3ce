"""The local `pickup` backend: one RFC 5322 `.eml` file per message in a directory (demos, local use)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailers.ical import invite_cancel, invite_request, invite_uninvite, split_address
from support.files import write_file
from support.journal import Journal, JournalPosition
from support.mail import MailError, MailFailure, MailMessage, MeetingInvite, MeetingResult

# CRLF line ends (RFC 5322) and nothing but 7-bit ASCII on disk: non-ASCII headers become RFC 2047
# words and non-ASCII bodies quoted-printable or base64, so the file is valid for any client or
# for an SMTP pickup directory that does not speak 8BITMIME.
_POLICY = policy.SMTP.clone(cte_type="7bit")
_SLUG_MAX = 60


class PickupMailer:
    """Writes each invite, cancellation and mail as an `.eml` file into `directory`."""

    def __init__(self, directory: Path, *, clock: Callable[[], datetime]) -> None:
        self._directory = Path(directory)
        self._clock = clock
        # Serialises "already written?" + write between threads; _dir_lock does it across processes.
        self._lock = threading.Lock()
        self._written = _WrittenKeys(directory)

    async def send_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> MeetingResult:
        """Write the METHOD:REQUEST email; a file cannot make a Teams link, so join_url stays None.

        People the update takes off the meeting get a cancellation of their own attendance, as
        Exchange sends them: the meeting goes on for the others, so it is not cancelled outright.
        """
        await self._write_invite(invite, "REQUEST")
        if invite.removed:
            await self._write_invite(replace(invite, attendees=invite.removed), "UNINVITE")
        return existing if existing is not None else MeetingResult(item_id=None, join_url=None)

    async def cancel_invite(self, invite: MeetingInvite, existing: MeetingResult | None) -> None:
        """Write the METHOD:CANCEL email for every attendee."""
        await self._write_invite(invite, "CANCEL")

    async def send_mail(self, message: MailMessage) -> None:
        """Write one plain-text email; the same message_id is written only once."""
        now = self._now()
        try:
            sender = _address(message.sender)
            msg = EmailMessage(policy=_POLICY)
            msg["From"] = sender
            msg["To"] = _addresses(message.to)
            msg["Subject"] = message.subject
            msg["Date"] = format_datetime(now)
            msg["Message-ID"] = _message_id(message.message_id, sender.domain)
            msg.set_content(message.body_text)
            data = msg.as_bytes()
        except (ValueError, MessageError) as exc:
            raise MailError(MailFailure.FAIL, f"cannot build mail {message.message_id!r}: {exc}") from exc
        await self._write(f"{_slug(message.message_id)}-mail", now, data)

    async def close(self) -> None:
        """Nothing to release: every write opens and closes its own files."""

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    async def _write_invite(self, invite: MeetingInvite, method: str) -> None:
        now = self._now()
        try:
            data = _invite_message(invite, method, now)
        except (ValueError, MessageError) as exc:
            raise MailError(MailFailure.FAIL, f"cannot build {method} for {invite.uid!r}: {exc}") from exc
        # (uid, sequence, method) names one iTIP message; a repeat of it is the same message.
        await self._write(f"{_slug(invite.uid)}-{invite.sequence:04d}-{method.lower()}", now, data)

    async def _write(self, key: str, now: datetime, data: bytes) -> None:
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        try:
            await asyncio.to_thread(self._write_once, key, f"{stamp}-{key}.eml", data)
        except (PermissionError, FileExistsError, NotADirectoryError) as exc:
            # A misconfigured path: retrying will not fix it.
            raise MailError(MailFailure.FAIL, f"pickup directory not writable: {exc}") from exc
        except OSError as exc:  # disk full, I/O hiccup: worth another go later
            raise MailError(MailFailure.RETRY, f"pickup write failed: {exc}") from exc

    def _write_once(self, key: str, name: str, data: bytes) -> bool:
        """Write `name` unless a file for `key` exists (at any time stamp); True when written."""
        # Owner-only: the files hold names, addresses and meeting details (write_file: 0o600).
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock, _dir_lock(self._directory):
            if self._written.has(key):
                return False
            write_file(self._directory / name, data)
            self._written.add(key)
            return True


@dataclass(frozen=True)
class PickupPurge:
    """Mail files in a pickup directory that name a person: removed, or found when not applying."""

    files: int  # every .eml that names the person (addressed to them, or about them in its text)
    shared: int  # of those, files addressed to other people too (a group's meeting request, a pair's mail)


def purge_pickup(directory: Path, names_person: Callable[[str], bool], *, apply: bool) -> PickupPurge:
    """Remove the `.eml` files whose headers or decoded text `names_person` recognises.

    The files are 7-bit (RFC 2047 headers, quoted-printable or base64 bodies), so each is parsed
    and its decoded headers and parts are searched, not its raw bytes. A file also addressed to
    others goes too: it carries the person's address or name, and the programme sends a group's
    meeting request again without them at the next invites sync.
    """
    if not directory.is_dir():
        return PickupPurge(0, 0)
    found = shared = 0
    with _dir_lock(directory):
        for path in sorted(directory.glob("*.eml")):
            try:
                raw = path.read_bytes()
            except OSError:
                continue
            texts, recipients = _decoded(raw)
            if not any(names_person(text) for text in texts):
                continue
            found += 1
            if any(not names_person(address) for address in recipients):
                shared += 1
            if apply:
                path.unlink(missing_ok=True)
    return PickupPurge(found, shared)


def _decoded(raw: bytes) -> tuple[list[str], list[str]]:
    """The decoded header values and text parts of a mail file, and its To addresses.

    A file that does not parse (not one of ours, damaged) is searched as raw text, so it still
    goes if it names the person.
    """
    texts = [raw.decode("utf-8", errors="replace")]
    try:
        message = message_from_bytes(raw, policy=policy.default)
        texts.extend(str(value) for value in message.values())
        for part in message.walk():
            if not part.is_multipart():
                try:
                    texts.append(str(part.get_content()))
                except (LookupError, ValueError):  # unknown charset, undecodable payload
                    texts.append(str(part.get_payload()))
        recipients = [address.addr_spec for address in getattr(message["To"], "addresses", ())]
    except (MessageError, ValueError, LookupError, TypeError):
        return texts, []
    return texts, recipients


def _invite_message(invite: MeetingInvite, method: str, now: datetime) -> bytes:
    """`method` is REQUEST, CANCEL (the whole meeting) or UNINVITE (a CANCEL for `attendees` only)."""
    organizer = _address(invite.organizer)
    cancel = method in ("CANCEL", "UNINVITE")
    if method == "UNINVITE":
        ics = invite_uninvite(invite, invite.attendees, now=now)
        text = _uninvite_text(invite)
    elif cancel:
        ics, text = invite_cancel(invite, now=now), _cancel_text(invite)
    else:
        ics, text = invite_request(invite, now=now), invite.body_text
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = organizer  # iMIP (RFC 6047): the organizer sends REQUEST and CANCEL
    msg["To"] = _addresses(invite.attendees)
    msg["Subject"] = f"Cancelled: {invite.subject}" if cancel else invite.subject
    msg["Date"] = format_datetime(now)
    # One Message-ID per iTIP message: each update and the cancellation are emails of their own.
    msg["Message-ID"] = _message_id(f"{method.lower()}.{invite.sequence}.{invite.uid}", organizer.domain)
    msg.set_content(text)
    method = "CANCEL" if cancel else method
    # multipart/alternative of text/plain + text/calendar;method=... and no separate .ics
    # attachment: this is the shape Exchange itself writes for a meeting message ([MS-OXCMAIL]
    # 2.2.3.1.5), Outlook turns it into a meeting request with Accept/Decline, and Thunderbird
    # shows its invitation bar for the text/calendar part. A second copy as an attachment adds
    # nothing for either and makes Outlook on the web list a stray ATT00001.ics.
    msg.add_alternative(
        ics.decode("utf-8"),
        subtype="calendar",
        charset="utf-8",
        params={"method": method},
    )
    for part in msg.iter_parts():  # set_content stamps each part; only the top level needs it
        del part["MIME-Version"]
    return msg.as_bytes()


def _uninvite_text(invite: MeetingInvite) -> str:
    start = invite.start.astimezone(ZoneInfo(invite.timezone))
    when = f"{start:%A %d %B %Y, %H:%M} ({invite.timezone})"
    return (
        f"You are no longer invited to this meeting; it is removed from your calendar.\n\n"
        f"{invite.subject}\n{when}\n"
    )


def _cancel_text(invite: MeetingInvite) -> str:
    # The invite's own body tells people how to RSVP, which is wrong for a cancellation.
    start = invite.start.astimezone(ZoneInfo(invite.timezone))
    when = f"{start:%A %d %B %Y, %H:%M} ({invite.timezone})"
    return f"This meeting has been cancelled.\n\n{invite.subject}\n{when}\n"


def _address(value: str) -> Address:
    name, addr = split_address(value)
    username, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=username, domain=domain)


def _addresses(values: tuple[str, ...]) -> list[Address]:
    if not values:
        raise ValueError("no recipients")
    return [_address(value) for value in values]


def _message_id(value: str, fallback_domain: str) -> str:
    """A valid `<left@right>` msg-id from a stable identifier, so a repeat carries the same id."""
    left, _, right = value.strip().strip("<>").rpartition("@")
    if not left:  # no "@" at all: the whole value is the left part
        left, right = right, fallback_domain
    left = re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+", "-", left).strip(".") or "message"
    left = re.sub(r"\.{2,}", ".", left)  # dot-atom: no empty atoms
    right = re.sub(r"[^A-Za-z0-9.-]+", "-", right).strip(".") or "pickup.invalid"
    return f"<{left}@{right}>"


def _slug(value: str) -> str:
    """File-name-safe, readable and unique: lower-case words, then a hash of the exact value."""
    words = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:_SLUG_MAX].strip("-")
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]
    return f"{words}-{digest}" if words else digest


_INDEX = ".written"  # journal of the hashes of the keys written here (no names or addresses)


class _WrittenKeys:
    """Which keys have a file in the pickup directory, without scanning it on every send.

    Writers append a hash of each key they write to the directory's `.written.jsonl` journal; a
    reader reads only what was appended since it last looked. The first look of each process also
    scans the directory once, for files written before the index existed or by a writer killed
    before it appended. Callers hold the directory lock.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._journal = Journal(str(directory))
        self._known: set[str] = set()
        self._position: JournalPosition | None = None
        self._scanned = False

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def has(self, key: str) -> bool:
        if not self._scanned:
            with os.scandir(self._directory) as entries:
                for entry in entries:
                    match = _FILE_KEY.fullmatch(entry.name)
                    if match:
                        self._known.add(self._hash(match.group(1)))
            self._scanned = True
        records, self._position = self._journal.read(_INDEX, self._position)
        self._known.update(str(record["key"]) for record in records if "key" in record)
        return self._hash(key) in self._known

    def add(self, key: str) -> None:
        digest = self._hash(key)
        self._journal.append(_INDEX, [{"key": digest}])
        self._known.add(digest)


_FILE_KEY = re.compile(r"\d{8}T\d{6}Z-(.+)\.eml")


@contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock on the directory across processes (POSIX flock; released on close)."""
    if sys.platform == "win32":  # no flock there; the thread lock still holds within the process
        yield
        return
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        # Another process (`reflect run-due` beside `reflect serve`) may write the same key.
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
