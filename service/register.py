"""The register: whoever ran a session records who came (correctable for 7 days); attendees get the
check-out."""

from __future__ import annotations

from dataclasses import dataclass, field

from programme.errors import ClosedError
from programme.model import Group, Person, Session, without_leavers
from programme.policies import Actor, Permission, require
from programme.records import AttendanceRegister
from programme.sessions import (
    attendance_deadline,
    attendance_open,
    checkout_recipients,
    month_of_period,
    session_leader,
)
from repositories.answers import RegistersRepository
from service.checkouts import Checkouts
from service.commands import AttendanceCommand
from service.messages import Messages
from service.outbox import Outbox
from service.rsvps import Rsvps
from service.sessions import Sessions, when_text_date
from service.views import AttendanceMember, AttendanceView


@dataclass(frozen=True)
class Register:
    """Use cases of the register."""

    sessions: Sessions
    rsvps: Rsvps
    checkouts: Checkouts
    outbox: Outbox
    messages: Messages
    _registers: RegistersRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_registers", RegistersRepository(self.sessions.store))

    def current(self, actor: Actor, group_id: str | None = None) -> AttendanceView:
        """The register, every member pre-ticked from their RSVP (or as recorded)."""
        group, session = self.sessions.led_session(actor, group_id, started=True)
        return self.view(group, session, actor.person)

    def view(self, group: Group, session: Session, reader: Person) -> AttendanceView:
        """A session's register as `reader` sees it."""
        info = self.sessions.session_info(group, session, reader)
        answers = self.rsvps.answers(info.month, group)
        register = self._registers.get(info.month, group.id)
        people = self.sessions.people()
        now = self.sessions.clock()
        members = tuple(
            AttendanceMember(
                email=email,
                name=self.sessions.name(people, email),
                rsvp=answers[email].answer if email in answers else None,
                present=(email in register.present) if register else None,
            )
            for email in group.members
        )
        deadline = attendance_deadline(session)
        correct_until = when_text_date(deadline, self.sessions.zone(reader)) if now <= deadline else None
        return AttendanceView(info, members, recorded=register is not None, correct_until=correct_until)

    def record(self, actor: Actor, command: AttendanceCommand) -> AttendanceView:
        """Record the register (corrections allowed for 7 days) and prompt attendees to check out."""
        group = self.sessions.group(command.group)
        require(Permission.LEADER, actor, group)
        session = self.sessions.session_of_period(group, command.month)
        now = self.sessions.clock()
        if session is None or not attendance_open(session, now):
            raise ClosedError(
                "The register can be taken from the start of the session until 7 days after it."
            )
        members = set(group.members)
        if (command.present | command.absent) != members:
            raise ClosedError(
                "The group changed since this card was sent: type 'attendance' for a fresh register."
            )
        with self.sessions.store.transaction():
            self._registers.put(
                command.month,
                group.id,
                AttendanceRegister(frozenset(command.present), frozenset(command.absent), actor.email, now),
            )
            # Everyone ticked present, except anyone who has left since the groups were allocated.
            attended = checkout_recipients(
                without_leavers(group, self.sessions.people()).members, sorted(command.present), {}
            )
            self.checkouts.queue(group, session, attended, now)
        return self.view(group, session, actor.person)

    def send_prompt(self, group: Group, session: Session) -> int:
        """At a session's end, the register to whoever ran it (facilitator, the gathering's timekeeper,
        or the rotating member)."""
        period = self.sessions.period_of(session)
        people = self.sessions.people()
        # In a gathering whose programme rotates facilitation, the session's timekeeper (as their cards
        # say); else the facilitator, or the rotating member whose turn it is.
        every_weeks = self.sessions.definition(group).cadence.every_weeks
        leader = self.sessions.timekeeping.keeper(group, period) or session_leader(group, period, every_weeks)
        if leader is None:
            return 0
        external = self.sessions.programme.facilitators_repo.get(leader) if leader not in people else None
        reader = external.as_person() if external is not None else people.get(leader)
        # A leader who left (or an external taken off the list) gets nothing; a coordinator can still
        # take the register (`attendance`).
        if reader is None or not reader.active:
            return 0
        view = self.view(group, session, reader)
        message = self.messages.register_prompt(view).message(
            key=f"attendance:{period}:{group.id}",
            period=month_of_period(period),  # the outbox partitions by month
            recipient=leader,
            kind="attendance",
        )
        return len(self.outbox.enqueue([message], self.sessions.clock()))
