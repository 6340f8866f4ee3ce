"""Meeting links: a session's Teams meeting chat tied to its group, so the meeting's end sends the
check-outs."""

from __future__ import annotations

from dataclasses import dataclass

from programme.policies import Actor
from service.checkouts import Checkouts
from service.sessions import Sessions, when_text
from service.views import MeetingLinked


@dataclass(frozen=True)
class MeetingLinks:
    """Use cases of meeting chats."""

    sessions: Sessions
    checkouts: Checkouts

    def link(self, actor: Actor, conversation_id: str, group_id: str | None = None) -> MeetingLinked:
        """Tie a Teams meeting chat to the next session of a group the actor leads (for meeting-end)."""
        group, session = self.sessions.led_session(actor, group_id, started=False)
        period = self.sessions.period_of(session)
        self.sessions.programme.meetings_repo.link_chat(group.id, period, conversation_id)
        return MeetingLinked(group.name, when_text(session, self.sessions.zone(actor.person)))

    def meeting_ended(self, conversation_id: str) -> int | None:
        """Check-out prompts for the session whose Teams meeting chat just ended; None if not ours."""
        found = self.sessions.programme.meetings_repo.by_chat(conversation_id)
        if found is None:
            return None
        group_id, period = found
        group = self.sessions.group(group_id)
        session = self.sessions.session_of_period(group, period)
        return 0 if session is None else self.checkouts.send_prompts(group, session)
