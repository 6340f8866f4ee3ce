"""Check-outs: the prompt after a session to whoever came, the form, and the confidential answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from programme.errors import ClosedError, NotFoundError
from programme.model import Group, Session, without_leavers
from programme.policies import Actor, Permission, require
from programme.records import Checkout
from programme.sessions import checkout_recipients, month_of_period
from repositories.answers import CheckoutsRepository, RegistersRepository
from service.commands import CheckoutCommand
from service.escalations import Escalations
from service.messages import Messages
from service.outbox import Outbox
from service.rsvps import Rsvps
from service.sessions import Sessions, recent_months
from service.views import CheckoutPrompt, CheckoutReceipt, SessionInfo


@dataclass(frozen=True)
class Checkouts:
    """Use cases of check-outs."""

    sessions: Sessions
    rsvps: Rsvps
    escalations: Escalations
    outbox: Outbox
    messages: Messages
    _checkouts: CheckoutsRepository = field(init=False, repr=False)
    # Read only: who was registered present decides who the check-out is for.
    _registers: RegistersRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_checkouts", CheckoutsRepository(self.sessions.store))
        object.__setattr__(self, "_registers", RegistersRepository(self.sessions.store))

    def form(self, actor: Actor) -> SessionInfo:
        """The session the person's check-out form is for: their latest started one."""
        if not actor.member_of:
            raise NotFoundError("You're not in a reflection group yet.")
        group = actor.member_of[0]
        # The latest session that has started, this month or last (none this month, on an
        # every-N-weeks cadence, or this month's not begun yet).
        started = self.sessions.recent_sessions(group, self.sessions.clock())
        if not started:
            raise NotFoundError("There is no session to check out from yet.")
        return self.sessions.session_info(group, started[0], actor.person)

    def submit(self, actor: Actor, command: CheckoutCommand) -> CheckoutReceipt:
        """Keep the check-out in confidence; flags open an escalation for coordinators only."""
        group = self.sessions.group(command.group)
        require(Permission.MEMBER, actor, group)
        now = self.sessions.clock()
        # Only the sessions `form` offers (of this month or last month): a forged period must not file
        # answers, or queue escalation messages, under periods far from now. The card's `month`
        # field carries the session's period.
        zone = self.sessions.definition(group).settings.zone
        if month_of_period(command.month) not in recent_months(now, zone):
            raise ClosedError("The check-out for that session is closed.")
        session = self.sessions.session_of_period(group, command.month)
        if session is None:
            raise ClosedError("The check-out for that session is closed.")
        if now < session.start:
            raise ClosedError("The check-out opens when the session starts.")
        source_key = f"checkout:{command.month}:{group.id}:{actor.email}"
        with self.sessions.store.transaction():
            self._checkouts.put(
                command.month,
                group.id,
                actor.email,
                Checkout(command.helpful, command.not_helpful, command.rating, frozenset(command.flags), now),
            )
            if command.flags:
                self.escalations.escalate(
                    source_key,
                    actor.email,
                    actor.email,
                    "checkout",
                    command.flags,
                    month_of_period(command.month),  # the outbox partitions by month
                )
        info = self.sessions.session_info(group, session, actor.person)
        return CheckoutReceipt(info, flagged=bool(command.flags))

    def queue(self, group: Group, session: Session, emails: Iterable[str], now: datetime) -> int:
        """The check-out prompt to each of `emails` (once per person and session)."""
        people = self.sessions.people()
        messages = []
        for email in emails:
            info = self.sessions.session_info(group, session, people.get(email))
            messages.append(
                self.messages.checkout_prompt(info).message(
                    key=f"checkout:{info.month}:{group.id}:{email}",
                    period=month_of_period(info.month),  # the outbox partitions by month
                    recipient=email,
                    kind="checkout",
                )
            )
        return len(self.outbox.enqueue(messages, now))

    def recipients(self, group: Group, session: Session) -> tuple[list[str], bool]:
        """Who the check-out is for (programme.sessions.checkout_recipients), and whether by register."""
        period = self.sessions.period_of(session)
        register = self._registers.get(period, group.id)
        answers = {email: rsvp.answer.value for email, rsvp in self.rsvps.answers(period, group).items()}
        present = sorted(register.present) if register else None
        members = without_leavers(group, self.sessions.people()).members  # nobody who left
        return checkout_recipients(members, present, answers), register is not None

    def send_prompts(self, group: Group, session: Session) -> int:
        """At a session's end: the check-out prompt to everyone registered present (else RSVP'd attending)."""
        emails, _ = self.recipients(group, session)
        return self.queue(group, session, emails, self.sessions.clock())

    def prompt(self, actor: Actor, group_id: str | None = None) -> CheckoutPrompt:
        """The facilitator's "send the check-out now" for their latest started session."""
        group, session = self.sessions.led_session(
            actor,
            group_id,
            started=True,
            not_open="The check-out opens when the session starts: type `end` once it has begun "
            "(it also goes out by itself when the session ends).",
        )
        emails, by_register = self.recipients(group, session)
        queued = self.queue(group, session, emails, self.sessions.clock())
        return CheckoutPrompt(queued=queued, recipients=len(emails), by_register=by_register)
