"""RSVPs: a member's answer for their next session, reminders to who has not answered, who is coming."""

from __future__ import annotations

from dataclasses import dataclass, field

from programme.answers import AbsenceReason
from programme.errors import ClosedError, NotFoundError
from programme.model import Group, Person, Session, without_leavers
from programme.policies import Actor, Permission, led_groups, require
from programme.records import Rsvp
from programme.sessions import month_of_period, rsvp_open
from repositories.answers import RsvpsRepository
from repositories.escalations import IntroductionsRepository
from service.commands import RsvpCommand
from service.messages import Messages
from service.outbox import Outbox
from service.sessions import Sessions, when_text
from service.views import IntroductionView, RosterEntry, RosterView, RsvpView


def absence_reason(answer: Rsvp | None) -> AbsenceReason | None:
    """The answer's absence reason, if it has one."""
    return answer.reason if answer else None


@dataclass(frozen=True)
class Rsvps:
    """Use cases of RSVPs."""

    sessions: Sessions
    outbox: Outbox
    messages: Messages
    _answers: RsvpsRepository = field(init=False, repr=False)
    # Read only: an answer to an introduced session is shown back on the introduction.
    _introductions: IntroductionsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_answers", RsvpsRepository(self.sessions.store))
        object.__setattr__(self, "_introductions", IntroductionsRepository(self.sessions.store))

    def answers(self, period: str, group: Group) -> dict[str, Rsvp]:
        """The stored answers of the group's members for a session period, by email."""
        return self._answers.of_members(period, group.id, group.members)

    def view(self, group: Group, session: Session, reader: Person | None, email: str) -> RsvpView:
        """A person's own RSVP for a session."""
        info = self.sessions.session_info(group, session, reader)
        answer = self._answers.get(info.month, group.id, email)
        return RsvpView(
            session=info,
            answer=answer.answer if answer else None,
            reason=absence_reason(answer),
            closed=not rsvp_open(session, self.sessions.clock()),
        )

    def mine(self, actor: Actor) -> RsvpView:
        """The person's RSVP for their group's next session."""
        if not actor.member_of:
            raise NotFoundError("You're not in a reflection group yet.")
        group = actor.member_of[0]
        session = self.sessions.next_session(group, self.sessions.clock())
        return self.view(group, session, actor.person, actor.email)

    def answer(self, actor: Actor, command: RsvpCommand) -> RsvpView | IntroductionView:
        """Record (or change) the person's own RSVP until the session starts."""
        group = self.sessions.group(command.group)
        require(Permission.MEMBER, actor, group)
        now = self.sessions.clock()
        # Only the sessions a card can offer (the group's next one, or the one after it for a card
        # sent early): a forged period must not file answers under periods far from now. The card's
        # `month` field carries the session's period.
        if command.month not in self.sessions.rsvp_periods(group, now):
            raise ClosedError("That session is not open for answers; type 'rsvp' for your next one.")
        session = self.sessions.session_of_period(group, command.month)
        if session is None:
            raise ClosedError("That session is not open for answers; type 'rsvp' for your next one.")
        if not rsvp_open(session, now):
            raise ClosedError("The session has started, so answers are closed.")
        self._answers.put(
            command.month,
            group.id,
            actor.email,
            Rsvp(command.answer, command.reason, command.note, now),
        )
        view = self.view(group, session, actor.person, actor.email)
        intro = self._introductions.get(group.id, command.month)
        if intro:
            # The facilitator may be external (off the roster): their listed name, not their address.
            name = self.sessions.programme.display_name(intro.facilitator)
            return IntroductionView(name, intro.message, view)
        return view

    def roster(self, actor: Actor, group_id: str | None = None) -> RosterView:
        """Who is coming to the next session; absence reasons only for coordinators."""
        group, session = self.sessions.led_session(
            actor, group_id, started=False, permission=Permission.OVERSEER
        )
        info = self.sessions.session_info(group, session, actor.person)
        answers = self.answers(info.month, group)
        people = self.sessions.people()
        show_reasons = actor.is_coordinator
        entries = tuple(
            RosterEntry(
                name=self.sessions.name(people, email),
                answer=answers[email].answer if email in answers else None,
                reason=absence_reason(answers.get(email)) if show_reasons else None,
                note=answers[email].note if show_reasons and email in answers else "",
            )
            for email in group.members
        )
        return RosterView(info, entries, show_reasons=show_reasons)

    def remind_unanswered(self, actor: Actor, group_id: str | None = None) -> int:
        """Whoever runs a session reminds its members who have not answered (each group they run)."""
        if group_id:
            group = self.sessions.group(group_id)
            require(Permission.LEADER, actor, group)
            groups: tuple[Group, ...] = (group,)
        else:
            require(Permission.LEADER, actor)
            groups = led_groups(actor)
        now = self.sessions.clock()
        return sum(self.send_reminders(g, self.sessions.next_session(g, now)) for g in groups)

    def send_reminders(self, group: Group, session: Session) -> int:
        """Remind members who have not answered the session's RSVP yet (nobody who left)."""
        people = self.sessions.people()
        group = without_leavers(group, people)
        now = self.sessions.clock()
        if not rsvp_open(session, now):
            return 0
        period = self.sessions.period_of(session)
        answers = self.answers(period, group)
        # The email says when in the programme's zone; the card, in the reader's.
        email_when = when_text(session, self.sessions.definition(group).settings.zone)
        messages = [
            self.messages.rsvp_reminder(
                self.view(group, session, people.get(email), email), email_when
            ).message(
                key=f"rsvp_reminder:{period}:{group.id}:{email}",
                period=month_of_period(period),  # the outbox partitions by month
                recipient=email,
                kind="rsvp_reminder",
            )
            for email in group.members
            if email not in answers
        ]
        return len(self.outbox.enqueue(messages, now))
