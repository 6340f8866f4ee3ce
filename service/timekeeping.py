"""Who keeps time at a session of a group whose programme rotates facilitation (seed 001).

`programme.timekeeping.timekeeper` decides from the members expected (active, not answered "can't
attend") and the group's past timekeepers; the decision is stored per session period (the month,
or the session's date every N weeks), so a session's timekeeper stays the same on every card while
they are coming, and the next sessions take turns fairly. A group with a
facilitator, or of a programme that does not rotate (a v1 group that lost its facilitator), has no
timekeeper: nothing changes for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from programme.answers import RsvpAnswer
from programme.model import Group
from programme.programmes import Facilitation
from programme.records import Rsvp
from programme.timekeeping import timekeeper
from repositories.answers import RsvpsRepository
from repositories.timekeepers import TimekeepersRepository
from service.programme_service import ProgrammeService


@dataclass(frozen=True)
class Timekeeping:
    """The month's timekeeper of a rotating group, decided once and remembered."""

    programme: ProgrammeService
    _history: TimekeepersRepository = field(init=False, repr=False)
    _rsvps: RsvpsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_history", TimekeepersRepository(self.programme.store))
        object.__setattr__(self, "_rsvps", RsvpsRepository(self.programme.store))

    def rotates(self, group: Group) -> bool:
        """Whether the group's programme rotates facilitation and the group has no facilitator."""
        if group.facilitator is not None:
            return False
        definition = next((p for p in self.programme.programmes if p.id == group.programme), None)
        return definition is not None and definition.facilitation is Facilitation.ROTATING

    def keeper(self, group: Group, month: str) -> str | None:
        """The email of who keeps time at the group's session in `month` (None: not a rotating group,
        or nobody is expected)."""
        if not self.rotates(group):
            return None
        people = self.programme.people()
        with self.programme.store.transaction():
            answers = self._rsvps.of_members(month, group.id, group.members)
            present = [
                email
                for email in group.members
                if email in people and people[email].active and not self._declined(answers.get(email))
            ]
            history = self._history.history(group.id)
            chosen = timekeeper(group.id, month, present, history)
            if chosen is not None and history.get(month) != chosen:
                self._history.record(group.id, month, chosen)
        return chosen

    @staticmethod
    def _declined(answer: Rsvp | None) -> bool:
        return answer is not None and answer.answer is RsvpAnswer.NOT_ATTENDING

    def history(self, group_id: str) -> dict[str, str]:
        """Month -> who kept time, for one group."""
        return self._history.history(group_id)
