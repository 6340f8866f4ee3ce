"""Quarterly goals with a peer: private ones for the person, shared ones for their pair."""

from __future__ import annotations

from calendar import month_name
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from programme.answers import Goal
from programme.errors import ClosedError
from programme.model import Pair, PairRound, Person, has_left
from programme.peers import gives_support, previous_quarter, quarter_of, shared_only, supported_in_probation
from programme.policies import Actor
from programme.records import QuarterGoals
from repositories.answers import GoalsRepository
from service.commands import GoalsCommand
from service.messages import Messages
from service.outbox import Outbox
from service.peers import Peers
from service.programme_service import ProgrammeService
from service.sessions import Clock
from service.views import GoalsRecord, GoalsView, PeerGoals


def quarter_key(moment: datetime) -> str:
    """ "2027-Q1" for a moment."""
    return quarter_of(moment.date())


def _quarter_end(quarter: str) -> str:
    """ "31 March 2027" for "2027-Q1": the last day its goals can be changed."""
    year, last_month = int(quarter[:4]), int(quarter[-1]) * 3
    following = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    last = following - timedelta(days=1)
    return f"{last.day} {month_name[last.month]} {last.year}"


def _goals(record: QuarterGoals | None) -> tuple[Goal, ...]:
    """The goals that still have their text (free text is purged after the retention period)."""
    return tuple(g for g in record.goals if g.text) if record else ()


@dataclass(frozen=True)
class Goals:
    """Use cases of quarterly goals."""

    programme: ProgrammeService
    peers: Peers
    outbox: Outbox
    clock: Clock
    messages: Messages
    # Goals are kept with the round they were set in: shared goals reach that round's peers only.
    _goals: GoalsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_goals", GoalsRepository(self.programme.store))

    def _quarter(self) -> str:
        return quarter_key(self.clock().astimezone(self.programme.settings.zone))

    def _round_of(self, record: QuarterGoals) -> int | None:
        """The pairing round goals were saved in (records from before it was kept: by their date)."""
        if record.round is not None:
            return record.round
        if record.at is None:
            return None
        saved_on = record.at.astimezone(self.programme.settings.zone).date()
        started = [r.number for r in self.programme.pair_rounds() if r.started_on <= saved_on]
        return started[-1] if started else None

    def _shared_by_peers(
        self,
        docs: Mapping[str, QuarterGoals],
        round_: PairRound,
        pair: Pair,
        email: str,
        people: Mapping[str, Person],
    ) -> tuple[PeerGoals, ...]:
        """What the person's peers shared in a quarter, set while they were this pair: shared goals only."""
        shared = []
        for peer in pair.peers:
            doc = docs.get(peer)
            if peer == email or doc is None or self._round_of(doc) != round_.number:
                continue
            goals = shared_only(_goals(doc))
            if goals:
                shared.append(PeerGoals(self.peers.name(peer, people), tuple(g.text for g in goals)))
        return tuple(shared)

    def _view(self, round_: PairRound, pair: Pair, email: str, quarter: str) -> GoalsView:
        """Everything the person's own goals card shows: theirs, their peers' shared, last quarter's."""
        people = self.programme.people()
        last = previous_quarter(quarter)
        # Lookups of the person and their peers only, never the whole quarter.
        docs = {e: d for e in pair.peers if (d := self._goals.get(quarter, e)) is not None}
        last_docs = {e: d for e in pair.peers if (d := self._goals.get(last, e)) is not None}
        mine = docs.get(email)
        return GoalsView(
            quarter,
            self.peers.names(pair, email, people),
            open_until=_quarter_end(quarter),
            mine=GoalsRecord(_goals(mine), mine.training_needs, mine.capacity_now, mine.capacity_plan)
            if mine
            else None,
            shared_with_me=self._shared_by_peers(docs, round_, pair, email, people),
            last_quarter=last,
            last_mine=_goals(last_docs.get(email)),
            last_shared_with_me=self._shared_by_peers(last_docs, round_, pair, email, people),
            receives_only=not gives_support(pair, email),
            supporting=tuple(self.peers.name(e, people) for e in supported_in_probation(pair, email)),
        )

    def mine(self, actor: Actor) -> GoalsView:
        """The person's goals this quarter (to set or revise), what their peers shared, last quarter's."""
        round_, pair = self.peers.pair_of(actor.email)
        return self._view(round_, pair, actor.email, self._quarter())

    def send_prompts(self) -> int:
        """At a quarter start: the goal-setting prompt to everyone in a pair."""
        people = self.programme.people()
        now = self.clock()
        quarter = self._quarter()
        messages = []
        prompted = [
            entry for round_ in self.peers.current_rounds() for entry in self.peers.prompted(round_, people)
        ]
        for pair, email in prompted:
            # The queued prompt names the quarter and the peers only: goals are shown live.
            supported = [e for e in supported_in_probation(pair, email) if not has_left(e, people)]
            view = GoalsView(
                quarter,
                self.peers.names(pair, email, people),
                receives_only=not gives_support(pair, email),
                supporting=tuple(self.peers.name(e, people) for e in supported),
            )
            messages.append(
                self.messages.goals_prompt(view).message(
                    key=f"goals:{quarter}:{email}",
                    period=self.peers.local_month(),
                    recipient=email,
                    kind="goals",
                )
            )
        return len(self.outbox.enqueue(messages, now))

    def submit(self, actor: Actor, command: GoalsCommand) -> GoalsView:
        """Keep the person's goals: private ones for them only, shared ones for them and their peer."""
        round_, pair = self.peers.pair_of(actor.email)
        now = self.clock()
        quarter = self._quarter()
        # Goals are set and revised during their quarter; a past or forged quarter files nothing.
        if command.quarter != quarter:
            raise ClosedError(
                f"Goals for {command.quarter} can no longer be changed; type goals for {quarter}."
            )
        self._goals.put(
            command.quarter,
            actor.email,
            QuarterGoals(
                goals=tuple(command.goals),
                training_needs=command.training_needs,
                capacity_now=command.capacity_now,
                capacity_plan=command.capacity_plan,
                round=round_.number,
                at=now,
            ),
        )
        return self._view(round_, pair, actor.email, quarter)
