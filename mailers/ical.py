"""iCalendar (RFC 5545) meeting requests and cancellations (iTIP, RFC 5546) for a MeetingInvite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, vCalAddress
from icalendar.enums import PARTSTAT, ROLE, STATUS

from support.mail import MeetingInvite

PRODID = "-//peer-reflection//reflect mailers//EN"


def invite_request(invite: MeetingInvite, *, now: datetime | None = None) -> bytes:
    """The METHOD:REQUEST calendar that creates or updates the meeting; `now` is the DTSTAMP."""
    return _calendar(invite, "REQUEST", now)


def invite_cancel(invite: MeetingInvite, *, now: datetime | None = None) -> bytes:
    """The METHOD:CANCEL calendar that removes the meeting for every attendee; `now` is the DTSTAMP."""
    return _calendar(invite, "CANCEL", now)


def invite_uninvite(invite: MeetingInvite, removed: tuple[str, ...], *, now: datetime | None = None) -> bytes:
    """The METHOD:CANCEL calendar that takes `removed` off a meeting that goes on for the others.

    RFC 5546 3.2.5: it names only the attendees being removed and has no STATUS:CANCELLED (which
    would cancel the whole meeting), at the update's SEQUENCE.
    """
    return _calendar(replace(invite, attendees=removed), "CANCEL", now, whole=False)


def split_address(value: str) -> tuple[str, str]:
    """(display name, address) of "Name <a@b>" or a bare "a@b"; ValueError when there is no address."""
    name, addr = parseaddr(value)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        raise ValueError(f"not an email address: {value!r}")
    return name, addr


def _calendar(invite: MeetingInvite, method: str, now: datetime | None, *, whole: bool = True) -> bytes:
    if invite.start.tzinfo is None or invite.end.tzinfo is None:
        raise ValueError("invite start and end must be timezone-aware")
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        zone = ZoneInfo(invite.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {invite.timezone!r}") from exc
    # Shown in the programme's zone: DTSTART;TZID=Europe/London:... keeps the wall-clock time the
    # programme chose, and the VTIMEZONE below tells the client what that zone's offsets are.
    start = invite.start.astimezone(zone)
    end = invite.end.astimezone(zone)
    stamp = (now or datetime.now(UTC)).astimezone(UTC)  # DTSTAMP is UTC by definition

    cancel = method == "CANCEL"
    event = Event.new(
        uid=invite.uid,
        sequence=invite.sequence,
        stamp=stamp,
        start=start,
        end=end,
        summary=invite.subject,
        description=invite.body_text,
        location=invite.location or None,
        organizer=_organizer(invite.organizer),
        attendees=_attendees(invite.attendees, cancel=cancel),
        status=(STATUS.CANCELLED if whole else None) if cancel else STATUS.CONFIRMED,
    )
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    # Only the years the meeting touches: one STANDARD and one DAYLIGHT per year (where the zone
    # has DST) instead of decades of RDATEs; a meeting request needs no other years' offsets.
    calendar.add_component(
        Timezone.from_tzinfo(
            zone,
            tzid=invite.timezone,
            first_date=date(start.year, 1, 1),
            last_date=date(end.year + 1, 1, 1),
        )
    )
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def _organizer(value: str) -> vCalAddress:
    name, addr = split_address(value)
    return vCalAddress.new(addr, cn=name or None)


def _attendees(values: tuple[str, ...], *, cancel: bool) -> list[vCalAddress]:
    seen: set[str] = set()
    out: list[vCalAddress] = []
    for value in values:
        name, addr = split_address(value)
        if addr.lower() in seen:  # one ATTENDEE per person, however often the caller lists them
            continue
        seen.add(addr.lower())
        if cancel:
            # A CANCEL expects no reply, so no PARTSTAT/RSVP; the ATTENDEEs say whom it cancels for.
            out.append(vCalAddress.new(addr, cn=name or None, role=ROLE.REQ_PARTICIPANT))
        else:
            out.append(
                vCalAddress.new(
                    addr,
                    cn=name or None,
                    role=ROLE.REQ_PARTICIPANT,
                    partstat=PARTSTAT.NEEDS_ACTION,
                    rsvp=True,
                )
            )
    if not out:
        raise ValueError("a meeting request needs at least one attendee")
    return out
