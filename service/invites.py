"""Meeting requests: one per group session, updated when time or membership change.

The meeting's identity (iCalendar UID, SEQUENCE, the backend's item id and Teams link) lives in
the `meetings` collection, keyed by group and session period (`programme.sessions`: the month for
a monthly programme, the session's date every N weeks, so a weekly group has a meeting per
session, each with its own UID). A month's sync handles every session whose period falls in it.
Each version of a meeting is one outbox entry keyed by UID and SEQUENCE, so syncing the same
month twice sends nothing and a change sends exactly one update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from programme.model import Group, Person, Session, has_left, without_leavers
from programme.programmes import LEGACY_NAME, CadenceKind, ProgrammeDefinition
from programme.records import Meeting, MeetingStatus, SessionInvite
from programme.sessions import month_of_period
from repositories.meetings import invite_to_doc
from service.outbox import OutboundMessage, Outbox
from service.sessions import Sessions, when_text

INVITE = "invite"
CANCEL = "cancel"
MAIL = "mail"


@dataclass(frozen=True)
class MailSettings:
    """Who sends the programme's mail and which backend carries it."""

    mailbox: str = "reflection@example.org"
    domain: str = "reflect.local"  # right-hand side of iCalendar UIDs


def invite_body(
    group: Group,
    session: Session,
    zone: ZoneInfo,
    facilitator: str | None,
    place: str | None = None,
    heading: str = "Monthly peer reflection",
) -> str:
    """What the session is and how to answer, in plain text (nothing confidential)."""
    lead = (
        f"Facilitator: {facilitator}."
        if facilitator
        else "This group shares facilitation: one member keeps time."
    )
    where = f"In person at {place}.\n\n" if place else ""
    return (
        f"{heading}: {group.name}, {when_text(session, zone)}.\n\n{where}"
        "A protected, confidential space to reflect on your work with peers in similar roles. "
        f"{lead}\n\n"
        "Please answer in Teams: the peer reflection bot sends you a card with Attending / Can't "
        "attend / Maybe. If you can't come, choose the reason there; only the programme "
        "coordinators see it. You can change your answer until the session starts."
    )


def _heading(definition: ProgrammeDefinition) -> str:
    """What the invite calls the session: v1's words for a monthly programme, else the programme's name."""
    if definition.cadence.kind is CadenceKind.MONTHLY and definition.name == LEGACY_NAME:
        return "Monthly peer reflection"
    return definition.name


def _fingerprint(invite: SessionInvite) -> str:
    parts = [invite.start.isoformat(), invite.end.isoformat(), *sorted(invite.attendees), invite.subject]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def invite_data(invite: SessionInvite) -> dict[str, Any]:
    """The invite as the outbox entry carries it to delivery (`service.delivery.invite_from_data`):
    the same fields as the meeting keeps of the invite it sent."""
    return invite_to_doc(invite)


@dataclass(frozen=True)
class Invites:
    """Keeps every group's meeting for a month in line with the groups and the schedule."""

    sessions: Sessions  # the one Services has: where and when each group meets, and the clock
    outbox: Outbox
    mail: MailSettings

    def desired(
        self, group: Group, period: str, people: Mapping[str, Person], session: Session | None = None
    ) -> SessionInvite:
        """The invite this group's session of `period` should have now (`session`: that session, when
        known), with its first version's sequence."""
        definition: ProgrammeDefinition = self.sessions.definition(group)
        settings = definition.settings
        session = session or self.sessions.require_session(group, period)
        group = without_leavers(group, people)  # leavers are taken off the meeting at once
        place = definition.venue.place
        attendees = ([group.facilitator] if group.facilitator else []) + list(group.members)
        # An external facilitator (off the roster) is named by the facilitators list.
        facilitator = self.sessions.programme.display_name(group.facilitator) if group.facilitator else None
        return SessionInvite(
            uid=f"reflect-{group.id}-{period}@{self.mail.domain}",
            organizer=self.mail.mailbox,
            subject=f"{definition.name}: {group.name}",
            body_text=invite_body(group, session, settings.zone, facilitator, place, _heading(definition)),
            start=session.start,
            end=session.end,
            timezone=settings.timezone,
            attendees=tuple(attendees),
            # In person: the place, and no Teams meeting is asked of Graph or Exchange.
            location=place or "Microsoft Teams meeting",
            online=place is None,
            sequence=0,
        )

    def sync_month(self, month: str, programme_id: str | None = None) -> int:
        """Queue new invites, updates and cancellations for a month; returns how many were queued.

        Every session whose period falls in the month gets one (an every-N-weeks programme skips
        some months, and has several sessions in others); `programme_id` limits it to that
        programme's groups.
        """
        programme = self.sessions.programme
        store = programme.store
        now = self.sessions.clock()
        people = programme.people()
        messages: list[OutboundMessage] = []
        with store.transaction():
            planned = self.sessions.month_sessions(month)
            groups = {
                g.id: g for g in programme.groups() if g.id in planned and programme_id in (None, g.programme)
            }
            wanted = {
                (group_id, self.sessions.period_of(session)): session
                for group_id in groups
                for session in planned[group_id]
            }
            stored = {
                at: meeting
                for at, meeting in programme.meetings_repo.of_month_sessions(month).items()
                if meeting.invite is not None
            }
            # One write for the whole month: every meeting's new version and the invite it sent (kept
            # so a later cancellation can repeat its time and attendees).
            changed: dict[tuple[str, str], Meeting] = {}
            for (group_id, period), session in wanted.items():
                if session.start <= now:
                    continue  # a session that has begun keeps the meeting it had
                invite = self.desired(groups[group_id], period, people, session)
                fingerprint = _fingerprint(invite)
                current = stored.get((group_id, period))
                active = current is not None and current.status is MeetingStatus.ACTIVE
                if current and active and current.fingerprint == fingerprint:
                    continue
                sent = current.invite if current else None
                invite = replace(invite, sequence=sent.sequence + 1 if sent else 0)
                changed[(group_id, period)] = Meeting(invite, fingerprint, MeetingStatus.ACTIVE)
                # Exchange tells attendees taken off a meeting that it is cancelled for them; the
                # pickup backend writes them that cancellation itself (`removed`, message only).
                before = sent.attendees if sent and active else ()
                removed = [a for a in before if a not in invite.attendees]
                messages.append(self._message(INVITE, group_id, period, invite, removed))
            others = {g.id for g in programme.groups() if programme_id not in (None, g.programme)}
            for (group_id, period), current in stored.items():
                sent = current.invite
                if sent is None or (group_id, period) in wanted or current.status is not MeetingStatus.ACTIVE:
                    continue
                if group_id in others:
                    continue  # another programme's meetings are not this sync's to cancel
                if sent.start <= now:
                    continue  # a session that has begun keeps the meeting it had
                # Not to people who left since the last version: they get no programme mail.
                attendees = tuple(a for a in sent.attendees if not has_left(a, people))
                cancelled = replace(sent, sequence=sent.sequence + 1, attendees=attendees)
                changed[(group_id, period)] = replace(
                    current, invite=cancelled, status=MeetingStatus.CANCELLED
                )
                if attendees:
                    messages.append(self._message(CANCEL, group_id, period, cancelled))
            if changed:
                programme.meetings_repo.save_versions(changed)
            return len(self.outbox.enqueue(messages, now, immediate=True))

    @staticmethod
    def _message(
        action: str, group_id: str, period: str, invite: SessionInvite, removed: list[str] | None = None
    ) -> OutboundMessage:
        data = invite_data(invite)
        if removed is not None:  # an invite names who was taken off; a cancellation does not
            data["removed"] = removed
        return OutboundMessage(
            key=f"{action}:{invite.uid}:{invite.sequence}",
            period=month_of_period(period),  # the outbox partitions by month
            recipient=f"group:{group_id}",
            kind=action,
            channel="email",
            data={"type": action, "meeting": f"{group_id}:{period}", "invite": data},
        )

    def mail_message(
        self, key: str, period: str, to: list[str], subject: str, body: str, kind: str
    ) -> OutboundMessage:
        """A plain email through the outbox (one entry per logical message)."""
        return OutboundMessage(
            key=key,
            period=period,
            recipient=",".join(sorted(to)),
            kind=kind,
            channel="email",
            data={
                "type": MAIL,
                "to": sorted(to),
                "subject": subject,
                "body_text": body,
                "sender": self.mail.mailbox,
            },
        )
