"""Introductions: the facilitator's one-click message to each group they lead, with the RSVP."""

from __future__ import annotations

from dataclasses import dataclass, field

from programme.model import without_leavers
from programme.policies import Actor, Permission, require
from programme.records import Introduction
from programme.sessions import month_of_period
from repositories.escalations import IntroductionsRepository
from service.commands import IntroSendCommand
from service.messages import Messages
from service.outbox import OutboundMessage, Outbox
from service.rsvps import Rsvps
from service.sessions import Sessions, when_text
from service.views import ConsoleGroup, IntroConsoleView, IntroductionView


@dataclass(frozen=True)
class Introductions:
    """Use cases of introductions; facilitators only."""

    sessions: Sessions
    rsvps: Rsvps
    outbox: Outbox
    messages: Messages
    _introductions: IntroductionsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_introductions", IntroductionsRepository(self.sessions.store))

    def console(self, actor: Actor, queued: int | None = None) -> IntroConsoleView:
        """The facilitator's groups with their next sessions (and the receipt of the last press)."""
        require(Permission.FACILITATOR, actor)
        now = self.sessions.clock()
        zone = self.sessions.zone(actor.person)
        people = self.sessions.people()
        # The count of those the introduction goes to: members who have left are not.
        rows = tuple(
            ConsoleGroup(
                g.name,
                when_text(self.sessions.next_session(g, now), zone),
                len(without_leavers(g, people).members),
            )
            for g in actor.facilitates
        )
        return IntroConsoleView(rows, queued=queued)

    def send(self, actor: Actor, command: IntroSendCommand) -> IntroConsoleView:
        """Queue an introduction to every member of each group the facilitator leads (once, unless again)."""
        require(Permission.FACILITATOR, actor)
        now = self.sessions.clock()
        people = self.sessions.people()
        messages: list[OutboundMessage] = []
        with self.sessions.store.transaction():
            for group in actor.facilitates:
                session = self.sessions.next_session(group, now)
                period = self.sessions.period_of(session)
                record = self._introductions.get(group.id, period)
                before = record.sends if record else 0
                sends = before + 1 if (command.again or before == 0) else before
                self._introductions.put(group.id, period, Introduction(actor.email, command.message, sends))
                suffix = "" if sends == 1 else f":again{sends}"
                for email in without_leavers(group, people).members:
                    rsvp = self.rsvps.view(group, session, people.get(email), email)
                    view = IntroductionView(
                        facilitator_name=actor.person.name, message=command.message, rsvp=rsvp
                    )
                    messages.append(
                        self.messages.introduction(view).message(
                            key=f"intro:{period}:{group.id}:{email}{suffix}",
                            period=month_of_period(period),  # the outbox partitions by month
                            recipient=email,
                            kind="intro",
                        )
                    )
            queued = self.outbox.enqueue(messages, now)
        return self.console(actor, queued=len(queued))
