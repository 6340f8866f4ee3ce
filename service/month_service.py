"""The programme month in Teams: introductions, RSVPs, attendance, check-outs and escalations.

Every use case checks who acts (identity from the channel, never card data), persists what was
answered, and records outbound messages in the outbox before anything is sent. Each returns the
card to show the person who acted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cards.emails import checkout_email, escalation_email, introduction_email, register_email
from cards.escalations import build_escalation_card
from cards.rsvp import build_introduction_card, build_rsvp_card
from cards.session import (
    build_attendance_card,
    build_checkout_card,
    build_checkout_thanks_card,
    build_intro_console_card,
    build_session_roster_card,
)
from programme.answers import AbsenceReason, EscalationStatus, Flag, RsvpAnswer
from programme.errors import ClosedError, NotFoundError
from programme.model import Group, Person, Session, without_leavers
from programme.policies import Actor, Permission, led_groups, require
from programme.sessions import (
    attendance_deadline,
    attendance_open,
    checkout_recipients,
    month_key,
    next_session,
    parse_month,
    rsvp_open,
    session_in_month,
    session_leader,
)
from programme.settings import ProgrammeSettings
from repositories.answers import CheckoutsRepository, RegistersRepository, RsvpsRepository
from repositories.escalations import EscalationsRepository, IntroductionsRepository
from service.commands import (
    AttendanceCommand,
    CheckoutCommand,
    EscalationAction,
    EscalationCommand,
    IntroSendCommand,
    RsvpCommand,
)
from service.outbox import OutboundMessage, Outbox
from service.programme_service import ProgrammeService
from service.views import (
    AttendanceMember,
    AttendanceView,
    ConsoleGroup,
    EscalationView,
    IntroConsoleView,
    IntroductionView,
    RosterEntry,
    RosterView,
    RsvpView,
    SessionInfo,
)
from store import Store

Card = dict[str, Any]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class CheckoutPrompt:
    """What `end` did: prompts newly queued, who the check-out is for, and whether the register said so."""

    queued: int
    recipients: int
    by_register: bool


def when_text(session: Session, zone: ZoneInfo) -> str:
    """ "Thursday 12 November 2026, 10:00-11:30 GMT" in the reader's zone."""
    start, end = session.start.astimezone(zone), session.end.astimezone(zone)
    return f"{start:%A} {start.day} {start:%B %Y, %H:%M}-{end:%H:%M %Z}"


def escalation_id(source_key: str) -> str:
    """A stable id per source record, so re-submitting a check-out never opens a second escalation."""
    return "esc-" + hashlib.sha256(source_key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class MonthService:
    """Use cases of a programme month, shared by the bot and the programme clock."""

    programme: ProgrammeService
    outbox: Outbox
    clock: Clock
    _rsvp_answers: RsvpsRepository = field(init=False, repr=False)
    _registers: RegistersRepository = field(init=False, repr=False)
    _checkouts: CheckoutsRepository = field(init=False, repr=False)
    _introductions: IntroductionsRepository = field(init=False, repr=False)
    _escalations: EscalationsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        store = self.programme.store
        for name, repository in (
            ("_rsvp_answers", RsvpsRepository(store)),
            ("_registers", RegistersRepository(store)),
            ("_checkouts", CheckoutsRepository(store)),
            ("_introductions", IntroductionsRepository(store)),
            ("_escalations", self.programme.escalations_repo),
        ):
            object.__setattr__(self, name, repository)

    @property
    def store(self) -> Store:
        return self.programme.store

    # -- lookups ---------------------------------------------------------------------------
    def groups(self) -> list[Group]:
        """The current groups."""
        return list(self.programme.groups())

    def actor(self, person: Person) -> Actor:
        """The person with the groups they lead and belong to."""
        return self.programme.actor(person)

    def _people(self) -> Mapping[str, Person]:
        return self.programme.people()

    def _name(self, people: Mapping[str, Person], email: str) -> str:
        person = people.get(email)
        return person.name if person else email

    def _group(self, group_id: str) -> Group:
        group = self.programme.group(group_id)
        if group is not None:
            return group
        raise NotFoundError("That group no longer exists; ask your coordinator.")

    def _zone(self, person: Person | None) -> ZoneInfo:
        if person is not None and person.timezone:
            return ZoneInfo(person.timezone)
        return self.programme.settings.zone

    def session_info(self, group: Group, session: Session, reader: Person | None) -> SessionInfo:
        """A session as the reader sees it, with the Teams link once the meeting exists."""
        month = month_key(session.start.astimezone(self.programme.settings.zone).date())
        meeting = self.programme.meetings_repo.get(group.id, month) or {}
        return SessionInfo(
            group_id=group.id,
            group_name=group.name,
            month=month,
            when=when_text(session, self._zone(reader)),
            teams_link=meeting.get("join_url"),
        )

    def _rsvps(self, month: str, group: Group) -> dict[str, dict[str, Any]]:
        return self._rsvp_answers.of_members(month, group.id, group.members)

    def _led_session(
        self,
        actor: Actor,
        group_id: str | None,
        *,
        started: bool,
        permission: Permission = Permission.LEADER,
        not_open: str = "No session is open for a register now: it opens when the session starts.",
    ) -> tuple[Group, Session]:
        """The group (named, or one the actor runs) and session a facilitator command is about."""
        now = self.clock()
        settings = self.programme.settings
        if group_id:
            group = self._group(group_id)
            require(permission, actor, group)
            candidates = [group]
        else:
            candidates = list(led_groups(actor))
            if not candidates:
                require(permission, actor)
                # Allowed without running a session: a coordinator overseeing, who must name the group.
                raise NotFoundError(
                    "Say which group, by its id (as `reflect groups show` lists them): coming GROUP-ID."
                )
        options: list[tuple[Group, Session]] = []
        for group in candidates:
            this_month = session_in_month(group, month_key(now.astimezone(settings.zone).date()), settings)
            upcoming = next_session(group, now, settings)
            if started:
                # The register is for the latest session that has started and can still be corrected.
                previous_month = session_in_month(group, _previous_month(this_month), settings)
                for session in (this_month, previous_month):
                    if attendance_open(session, now):
                        options.append((group, session))
            else:
                options.append((group, upcoming))
        if not options:
            raise NotFoundError(not_open)
        if started:
            return max(options, key=lambda pair: pair[1].start)
        return min(options, key=lambda pair: pair[1].start)

    # -- facilitator -----------------------------------------------------------------------
    def intro_console(self, actor: Actor, queued: int | None = None) -> Card:
        """The facilitator's one-click introductions card (with the receipt of the last press)."""
        require(Permission.FACILITATOR, actor)
        now = self.clock()
        zone = self._zone(actor.person)
        rows = tuple(
            ConsoleGroup(
                g.name, when_text(next_session(g, now, self.programme.settings), zone), len(g.members)
            )
            for g in actor.facilitates
        )
        return build_intro_console_card(IntroConsoleView(rows, queued=queued))

    def send_introductions(self, actor: Actor, command: IntroSendCommand) -> Card:
        """Queue an introduction to every member of each group the facilitator leads (once, unless again)."""
        require(Permission.FACILITATOR, actor)
        now = self.clock()
        people = self._people()
        messages: list[OutboundMessage] = []
        with self.store.transaction():
            for group in actor.facilitates:
                session = next_session(group, now, self.programme.settings)
                month = month_key(session.start.astimezone(self.programme.settings.zone).date())
                record = self._introductions.get(group.id, month) or {"sends": 0}
                sends = record["sends"] + 1 if (command.again or record["sends"] == 0) else record["sends"]
                self._introductions.put(
                    group.id,
                    month,
                    {"facilitator": actor.email, "message": command.message, "sends": sends},
                )
                suffix = "" if sends == 1 else f":again{sends}"
                for email in without_leavers(group, people).members:
                    reader = people.get(email)
                    rsvp = self._rsvp_view(group, session, reader, email)
                    card = build_introduction_card(
                        IntroductionView(
                            facilitator_name=actor.person.name, message=command.message, rsvp=rsvp
                        )
                    )
                    fallback = introduction_email(
                        actor.person.name, group.name, rsvp.session.when, command.message
                    )
                    messages.append(
                        OutboundMessage(
                            key=f"intro:{month}:{group.id}:{email}{suffix}",
                            period=month,
                            recipient=email,
                            kind="intro",
                            card=card,
                            text=f"{actor.person.name} introduces {group.name}",
                            data={"email_fallback": fallback},
                        )
                    )
            queued = self.outbox.enqueue(messages, now)
        return self.intro_console(actor, queued=len(queued))

    def session_roster(self, actor: Actor, group_id: str | None = None) -> Card:
        """Who is coming to the next session; absence reasons only for coordinators."""
        group, session = self._led_session(actor, group_id, started=False, permission=Permission.OVERSEER)
        info = self.session_info(group, session, actor.person)
        answers = self._rsvps(info.month, group)
        people = self._people()
        show_reasons = actor.is_coordinator
        entries = tuple(
            RosterEntry(
                name=self._name(people, email),
                answer=RsvpAnswer(answers[email]["answer"]) if email in answers else None,
                reason=_reason(answers.get(email)) if show_reasons else None,
                note=(answers.get(email) or {}).get("note", "") if show_reasons else "",
            )
            for email in group.members
        )
        return build_session_roster_card(RosterView(info, entries), show_reasons=show_reasons)

    def attendance_card(self, actor: Actor, group_id: str | None = None) -> Card:
        """The register, every member pre-ticked from their RSVP (or as recorded)."""
        group, session = self._led_session(actor, group_id, started=True)
        return self._attendance_view_card(group, session, actor.person)

    def _attendance_view_card(self, group: Group, session: Session, reader: Person) -> Card:
        info = self.session_info(group, session, reader)
        answers = self._rsvps(info.month, group)
        register = self._registers.get(info.month, group.id)
        people = self._people()
        now = self.clock()
        members = tuple(
            AttendanceMember(
                email=email,
                name=self._name(people, email),
                rsvp=RsvpAnswer(answers[email]["answer"]) if email in answers else None,
                present=(email in register["present"]) if register else None,
            )
            for email in group.members
        )
        deadline = attendance_deadline(session)
        correct_until = when_text_date(deadline, self._zone(reader)) if now <= deadline else None
        return build_attendance_card(
            AttendanceView(info, members, recorded=register is not None, correct_until=correct_until)
        )

    def record_attendance(self, actor: Actor, command: AttendanceCommand) -> Card:
        """Record the register (corrections allowed for 7 days) and prompt attendees to check out."""
        group = self._group(command.group)
        require(Permission.LEADER, actor, group)
        session = session_in_month(group, command.month, self.programme.settings)
        now = self.clock()
        if not attendance_open(session, now):
            raise ClosedError(
                "The register can be taken from the start of the session until 7 days after it."
            )
        members = set(group.members)
        if (command.present | command.absent) != members:
            raise ClosedError(
                "The group changed since this card was sent: type 'attendance' for a fresh register."
            )
        with self.store.transaction():
            self._registers.put(
                command.month,
                group.id,
                {
                    "present": sorted(command.present),
                    "absent": sorted(command.absent),
                    "recorded_by": actor.email,
                    "recorded_at": now.isoformat(),
                },
            )
            self._queue_checkouts(group, session, sorted(command.present), now)
        return self._attendance_view_card(group, session, actor.person)

    def _queue_checkouts(self, group: Group, session: Session, emails: Iterable[str], now: datetime) -> int:
        people = self._people()
        messages = []
        for email in emails:
            info = self.session_info(group, session, people.get(email))
            messages.append(
                OutboundMessage(
                    key=f"checkout:{info.month}:{group.id}:{email}",
                    period=info.month,
                    recipient=email,
                    kind="checkout",
                    card=build_checkout_card(info),
                    text=f"Check-out for {group.name}",
                    data={"email_fallback": checkout_email(group.name, info.when)},
                )
            )
        return len(self.outbox.enqueue(messages, now))

    def _checkout_recipients(self, group: Group, session: Session) -> tuple[list[str], bool]:
        """Who the check-out is for (programme.sessions.checkout_recipients), and whether by register."""
        month = month_key(session.start.astimezone(self.programme.settings.zone).date())
        register = self._registers.get(month, group.id)
        answers = {email: doc.get("answer", "") for email, doc in self._rsvps(month, group).items()}
        present = register["present"] if register else None
        members = without_leavers(group, self._people()).members  # nobody who left
        return checkout_recipients(members, present, answers), register is not None

    def send_checkout_prompts(self, group: Group, session: Session) -> int:
        """At a session's end: the check-out prompt to everyone registered present (else RSVP'd attending)."""
        emails, _ = self._checkout_recipients(group, session)
        return self._queue_checkouts(group, session, emails, self.clock())

    def link_meeting_chat(self, actor: Actor, conversation_id: str, group_id: str | None = None) -> str:
        """Tie a Teams meeting chat to the next session of a group the actor leads (for meeting-end)."""
        group, session = self._led_session(actor, group_id, started=False)
        month = month_key(session.start.astimezone(self.programme.settings.zone).date())
        self.programme.meetings_repo.update(group.id, month, {"chat_id": conversation_id})
        return f"This chat is now linked to {group.name} on {when_text(session, self._zone(actor.person))}."

    def checkouts_for_meeting_chat(self, conversation_id: str) -> int | None:
        """Check-out prompts for the session whose Teams meeting chat just ended; None if not ours."""
        found = self.programme.meetings_repo.by_chat(conversation_id)
        if found is None:
            return None
        group_id, month = found
        group = self._group(group_id)
        return self.send_checkout_prompts(group, session_in_month(group, month, self.programme.settings))

    def prompt_checkouts(self, actor: Actor, group_id: str | None = None) -> CheckoutPrompt:
        """The facilitator's "send the check-out now" for their latest started session."""
        group, session = self._led_session(
            actor,
            group_id,
            started=True,
            not_open="The check-out opens when the session starts: type `end` once it has begun "
            "(it also goes out by itself when the session ends).",
        )
        emails, by_register = self._checkout_recipients(group, session)
        queued = self._queue_checkouts(group, session, emails, self.clock())
        return CheckoutPrompt(queued=queued, recipients=len(emails), by_register=by_register)

    def send_attendance_prompt(self, group: Group, session: Session) -> int:
        """At a session's end, the register card to whoever ran it (facilitator or rotating member)."""
        month = month_key(session.start.astimezone(self.programme.settings.zone).date())
        people = self._people()
        leader = session_leader(group, month)
        # A leader who left gets nothing; a coordinator can still take the register (`attendance`).
        if leader is None or leader not in people or not people[leader].active:
            return 0
        card = self._attendance_view_card(group, session, people[leader])
        message = OutboundMessage(
            key=f"attendance:{month}:{group.id}",
            period=month,
            recipient=leader,
            kind="attendance",
            card=card,
            text=f"Register for {group.name}",
            data={
                "email_fallback": register_email(group.name, when_text(session, self._zone(people[leader])))
            },
        )
        return len(self.outbox.enqueue([message], self.clock()))

    def remind_unanswered(self, actor: Actor, group_id: str | None = None) -> int:
        """Whoever runs a session reminds its members who have not answered (each group they run)."""
        if group_id:
            group = self._group(group_id)
            require(Permission.LEADER, actor, group)
            groups: tuple[Group, ...] = (group,)
        else:
            require(Permission.LEADER, actor)
            groups = led_groups(actor)
        now = self.clock()
        settings = self.programme.settings
        return sum(self.send_rsvp_reminders(g, next_session(g, now, settings)) for g in groups)

    def send_rsvp_reminders(self, group: Group, session: Session) -> int:
        """Remind members who have not answered the session's RSVP yet (nobody who left)."""
        people = self._people()
        group = without_leavers(group, people)
        now = self.clock()
        if not rsvp_open(session, now):
            return 0
        month = month_key(session.start.astimezone(self.programme.settings.zone).date())
        answers = self._rsvps(month, group)
        messages = [
            OutboundMessage(
                key=f"rsvp_reminder:{month}:{group.id}:{email}",
                period=month,
                recipient=email,
                kind="rsvp_reminder",
                card=build_rsvp_card(
                    self._rsvp_view(group, session, people.get(email), email), reminder=True
                ),
                text=f"Will you come to {group.name}?",
                data={"email_fallback": _reminder_email(group, session, self.programme.settings.zone)},
            )
            for email in group.members
            if email not in answers
        ]
        return len(self.outbox.enqueue(messages, now))

    # -- participant -----------------------------------------------------------------------
    def _rsvp_view(self, group: Group, session: Session, reader: Person | None, email: str) -> RsvpView:
        info = self.session_info(group, session, reader)
        answer = self._rsvp_answers.get(info.month, group.id, email)
        return RsvpView(
            session=info,
            answer=RsvpAnswer(answer["answer"]) if answer else None,
            reason=_reason(answer),
            closed=not rsvp_open(session, self.clock()),
        )

    def rsvp_card(self, actor: Actor) -> Card:
        """The person's RSVP card for their group's next session."""
        if not actor.member_of:
            raise NotFoundError("You're not in a reflection group yet.")
        group = actor.member_of[0]
        session = next_session(group, self.clock(), self.programme.settings)
        return build_rsvp_card(self._rsvp_view(group, session, actor.person, actor.email))

    def answer_rsvp(self, actor: Actor, command: RsvpCommand) -> Card:
        """Record (or change) the person's own RSVP until the session starts."""
        group = self._group(command.group)
        require(Permission.MEMBER, actor, group)
        now = self.clock()
        # Only the sessions a card can offer (the group's next one, or the one after it for a card
        # sent early): a forged month must not file answers under periods far from now.
        if command.month not in rsvp_months(group, now, self.programme.settings):
            raise ClosedError("That session is not open for answers; type 'rsvp' for your next one.")
        session = session_in_month(group, command.month, self.programme.settings)
        if not rsvp_open(session, now):
            raise ClosedError("The session has started, so answers are closed.")
        self._rsvp_answers.put(
            command.month,
            group.id,
            actor.email,
            {
                "answer": command.answer.value,
                "reason": command.reason.value if command.reason else None,
                "note": command.note,
                "answered_at": now.isoformat(),
            },
        )
        view = self._rsvp_view(group, session, actor.person, actor.email)
        intro = self._introductions.get(group.id, command.month)
        if intro:
            name = self._name(self._people(), intro["facilitator"])
            return build_introduction_card(IntroductionView(name, intro["message"], view))
        return build_rsvp_card(view)

    def checkout_card(self, actor: Actor) -> Card:
        """The check-out form for the person's latest started session."""
        if not actor.member_of:
            raise NotFoundError("You're not in a reflection group yet.")
        group = actor.member_of[0]
        now = self.clock()
        settings = self.programme.settings
        session = session_in_month(group, month_key(now.astimezone(settings.zone).date()), settings)
        if session.start > now:
            session = session_in_month(group, _previous_month(session), settings)
        return build_checkout_card(self.session_info(group, session, actor.person))

    def submit_checkout(self, actor: Actor, command: CheckoutCommand) -> Card:
        """Keep the check-out in confidence; flags open an escalation for coordinators only."""
        group = self._group(command.group)
        require(Permission.MEMBER, actor, group)
        now = self.clock()
        # Only the sessions checkout_card offers (this month's, last month's): a forged month must
        # not file answers, or queue escalation messages, under periods far from now.
        if command.month not in recent_months(now, self.programme.settings.zone):
            raise ClosedError("The check-out for that session is closed.")
        session = session_in_month(group, command.month, self.programme.settings)
        if now < session.start:
            raise ClosedError("The check-out opens when the session starts.")
        source_key = f"checkout:{command.month}:{group.id}:{actor.email}"
        with self.store.transaction():
            self._checkouts.put(
                command.month,
                group.id,
                actor.email,
                {
                    "helpful": command.helpful,
                    "not_helpful": command.not_helpful,
                    "rating": command.rating,
                    "flags": sorted(f.value for f in command.flags),
                    "at": now.isoformat(),
                },
            )
            if command.flags:
                self.raise_escalation(
                    source_key, actor.email, actor.email, "checkout", command.flags, command.month
                )
        info = self.session_info(group, session, actor.person)
        return build_checkout_thanks_card(info, flagged=bool(command.flags))

    # -- escalations -------------------------------------------------------------------------
    def raise_escalation(
        self, source_key: str, raised_by: str, about: str, source: str, flags: frozenset[Flag], period: str
    ) -> str:
        """Open (or widen) the escalation of one source record and tell every coordinator once."""
        now = self.clock()
        ident = escalation_id(source_key)
        people = self._people()
        with self.store.transaction():
            current = self._escalations.get(ident)
            all_flags = sorted(set(current["flags"] if current else []) | {f.value for f in flags})
            doc = {
                "id": ident,
                "raised_by": raised_by,
                "about": about,
                "source": source,
                "flags": all_flags,
                "created_at": current["created_at"] if current else now.isoformat(),
                "status": current["status"] if current else EscalationStatus.OPEN.value,
                "handled_by": current.get("handled_by") if current else None,
            }
            self._escalations.put(ident, doc)
            # Never to the person it is about, even when they are a coordinator themself.
            coordinators = sorted(e for e, p in people.items() if p.active and p.coordinator and e != about)
            messages = [
                OutboundMessage(
                    key=f"escalation:{ident}:{len(all_flags)}:{email}",
                    period=period,
                    recipient=email,
                    kind="escalation",
                    card=build_escalation_card(self._escalation_view(doc, people, people.get(email))),
                    text="A confidential escalation needs the people circle",
                    data={"email_fallback": escalation_email()},
                )
                for email in coordinators
            ]
            self.outbox.enqueue(messages, now)
        return ident

    def _escalation_view(
        self, doc: dict[str, Any], people: Mapping[str, Person], reader: Person | None
    ) -> EscalationView:
        created = datetime.fromisoformat(doc["created_at"])
        return EscalationView(
            id=doc["id"],
            raised_by=self._name(people, doc["raised_by"]),
            about=self._name(people, doc["about"]),
            source=doc["source"],
            flags=frozenset(Flag(f) for f in doc["flags"]),
            raised_when=when_text_date(created, self._zone(reader)),
            status=EscalationStatus(doc["status"]),
            handled_by=self._name(people, doc["handled_by"]) if doc.get("handled_by") else None,
        )

    def escalation_cards(self, actor: Actor) -> list[Card]:
        """Open and acknowledged escalations, oldest first: coordinators only."""
        require(Permission.COORDINATOR, actor)
        people = self._people()
        docs = self._escalations.all()
        return [
            build_escalation_card(self._escalation_view(doc, people, actor.person))
            for doc in docs
            if doc["status"] != EscalationStatus.RESOLVED.value and doc["about"] != actor.email
        ]

    def handle_escalation(self, actor: Actor, command: EscalationCommand) -> Card:
        """Acknowledge or resolve an escalation: coordinators only."""
        require(Permission.COORDINATOR, actor)
        with self.store.transaction():
            doc = self._escalations.get(command.id)
            if doc is None or doc["about"] == actor.email:
                raise NotFoundError("That escalation no longer exists.")
            status = (
                EscalationStatus.RESOLVED
                if command.action is EscalationAction.RESOLVE
                else EscalationStatus.ACKNOWLEDGED
            )
            if doc["status"] != EscalationStatus.RESOLVED.value and doc["about"] != actor.email:
                doc = {**doc, "status": status.value, "handled_by": actor.email}
                self._escalations.put(command.id, doc)
        return build_escalation_card(self._escalation_view(doc, self._people(), actor.person))


def _reminder_email(group: Group, session: Session, zone: ZoneInfo) -> dict[str, str]:
    """The RSVP reminder as an email, for people the bot cannot reach in Teams."""
    return {
        "subject": f"Will you come to {group.name}?",
        "body_text": (
            f"Your peer reflection group {group.name} meets {when_text(session, zone)}.\n\n"
            "We haven't had your answer yet. Please answer in Teams: the peer reflection bot sent you "
            "a card with Attending / Can't attend / Maybe. Accepting or declining the meeting request "
            "only updates your calendar; the programme doesn't read those replies."
        ),
    }


def _reason(answer: dict[str, Any] | None) -> AbsenceReason | None:
    return AbsenceReason(answer["reason"]) if answer and answer.get("reason") else None


def rsvp_months(group: Group, now: datetime, settings: ProgrammeSettings) -> tuple[str, str]:
    """The months whose session an RSVP card can be about: the group's next session's, and the next."""
    upcoming = next_session(group, now, settings)
    year, month = parse_month(month_key(upcoming.start.astimezone(settings.zone).date()))
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}", f"{following[0]:04d}-{following[1]:02d}"


def recent_months(now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """This programme month and the one before, e.g. ("2026-11", "2026-10")."""
    day = now.astimezone(zone).date()
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return month_key(day), f"{year:04d}-{month:02d}"


def _previous_month(session: Session) -> str:
    day = session.start.date()
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return f"{year:04d}-{month:02d}"


def when_text_date(moment: datetime, zone: ZoneInfo) -> str:
    """ "Thursday 19 November 2026, 11:30 GMT" in the reader's zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M %Z}"
