"""Peer pairs in Teams: pair introductions, the monthly "did you meet?", nudges and quarterly goals."""

from __future__ import annotations

from calendar import month_name
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from cards.actions import GoalsCommand, PeerRecordCommand
from cards.emails import goals_email, pair_intro_email, peer_check_email, peer_nudge_email
from cards.peers import (
    build_goals_card,
    build_goals_prompt_card,
    build_goals_recorded_card,
    build_pair_intro_card,
    build_peer_check_card,
    build_peer_nudge_card,
    build_peer_recorded_card,
)
from cards.views import GoalsRecord, GoalsView, PairIntroView, PairPeer, PeerCheckView, PeerGoals
from programme.answers import Flag, Goal
from programme.errors import NotAllowedError, NotFoundError
from programme.model import Pair, PairRound, Person, active_peers, has_left
from programme.peers import (
    awaiting_peer_record,
    gives_support,
    previous_quarter,
    quarter_of,
    shared_only,
    supported_in_probation,
)
from programme.policies import Actor
from programme.sessions import month_key
from repositories.answers import GoalsRepository, PeerRecordsRepository
from service.month_service import Card, Clock, ClosedError, MonthService, recent_months
from service.outbox import OutboundMessage, Outbox
from service.programme_service import ProgrammeService

NUDGE_AFTER = timedelta(weeks=5)


class ProbationError(NotAllowedError):
    """Someone in probation tried to flag their supporter: the arrangement is one way."""


def quarter_key(moment: datetime) -> str:
    """ "2027-Q1" for a moment."""
    return quarter_of(moment.date())


def _until(round_: PairRound, rotation_months: int) -> str:
    month = round_.started_on.month - 1 + rotation_months
    year = round_.started_on.year + month // 12
    return f"{month_name[month % 12 + 1]} {year}"


def _quarter_end(quarter: str) -> str:
    """ "31 March 2027" for "2027-Q1": the last day its goals can be changed."""
    year, last_month = int(quarter[:4]), int(quarter[-1]) * 3
    following = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    last = following - timedelta(days=1)
    return f"{last.day} {month_name[last.month]} {last.year}"


def _goals(doc: Mapping[str, Any] | None) -> tuple[Goal, ...]:
    return tuple(Goal(g["text"], bool(g["shared"])) for g in (doc or {}).get("goals", []) if g.get("text"))


@dataclass(frozen=True)
class PeersService:
    """Use cases of peer pairs."""

    programme: ProgrammeService
    outbox: Outbox
    clock: Clock
    month: MonthService
    # Goals are kept with the round they were set in: shared goals reach that round's peers only.
    _goals: GoalsRepository = field(init=False, repr=False)
    _records: PeerRecordsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_goals", GoalsRepository(self.programme.store))
        object.__setattr__(self, "_records", PeerRecordsRepository(self.programme.store))

    def _current(self) -> PairRound | None:
        return self.programme.rounds_repo.latest()

    def _pair_of(self, email: str) -> tuple[PairRound, Pair]:
        round_ = self._current()
        pair = self.programme.rounds_repo.pair_of(email)
        if round_ is None or pair is None:
            raise NotFoundError("You don't have a peer in the current round yet.")
        return round_, pair

    def _names(self, pair: Pair, email: str, people: Mapping[str, Person]) -> tuple[str, ...]:
        peers = (e for e in pair.peers if e != email and not has_left(e, people))
        return tuple(self._name(e, people) for e in peers)

    def _name(self, email: str, people: Mapping[str, Person]) -> str:
        return people[email].name if email in people else email

    @staticmethod
    def _prompted(round_: PairRound, people: Mapping[str, Person]) -> list[tuple[Pair, str]]:
        """(pair, email) of everyone a peer prompt goes to: nobody who left, and nobody whose
        peers all left (there is nobody to meet until the next rotation pairs them again)."""
        prompted: list[tuple[Pair, str]] = []
        for pair in round_.pairs:
            peers = active_peers(pair, people)
            if len(peers) >= 2:
                prompted.extend((pair, email) for email in peers)
        return prompted

    def _local_month(self) -> str:
        return month_key(self.clock().astimezone(self.programme.settings.zone).date())

    def _quarter(self) -> str:
        return quarter_key(self.clock().astimezone(self.programme.settings.zone))

    def _check_view(
        self, round_: PairRound, pair: Pair, email: str, month: str, people: Mapping[str, Person]
    ) -> PeerCheckView:
        """The peer card's view for one person: who their peers are and how probation shapes it."""
        return PeerCheckView(
            round_.number,
            month,
            self._names(pair, email, people),
            receives_only=not gives_support(pair, email),
            supporting=tuple(self._name(e, people) for e in supported_in_probation(pair, email)),
        )

    def introduce_round(self, round_: PairRound) -> int:
        """Tell everyone in a new round who their peer is."""
        people = self.programme.people()
        until = _until(round_, self.programme.settings.rotation_months)
        period = month_key(round_.started_on)
        messages = []
        for pair in round_.pairs:
            for email in pair.peers:
                peers = tuple(
                    PairPeer(people[e].name, people[e].role, e in pair.receives_only)
                    for e in pair.peers
                    if e != email and e in people
                )
                messages.append(
                    OutboundMessage(
                        key=f"pair_intro:{round_.number}:{email}",
                        period=period,
                        recipient=email,
                        kind="pair_intro",
                        card=build_pair_intro_card(
                            PairIntroView(round_.number, peers, email in pair.receives_only, until)
                        ),
                        text="Your new peer",
                        data={"email_fallback": pair_intro_email([p.name for p in peers], until)},
                    )
                )
        return len(self.outbox.enqueue(messages, self.clock()))

    def peer_check_card(self, actor: Actor) -> Card:
        """The person's "did you meet your peer this month?" card, with their answer once recorded."""
        round_, pair = self._pair_of(actor.email)
        month = self._local_month()
        view = self._check_view(round_, pair, actor.email, month, self.programme.people())
        recorded = self._records.get(month, round_.number, actor.email)
        if recorded is not None:
            flags = frozenset(Flag(f) for f in recorded.get("flags", ()))
            view = PeerCheckView(
                view.round,
                view.month,
                view.peers,
                view.receives_only,
                view.supporting,
                met=bool(recorded["met"]),
                flags=flags if gives_support(pair, actor.email) else frozenset(),
            )
        return build_peer_check_card(view)

    def record_meeting(self, actor: Actor, command: PeerRecordCommand) -> Card:
        """Record whether the person met their peer; flags about the peer escalate in confidence."""
        round_, pair = self._pair_of(actor.email)
        if command.round != round_.number:
            raise NotFoundError("That pairing round has ended; your new peer is in your latest card.")
        if command.flags and not gives_support(pair, actor.email):
            raise ProbationError(
                "While you are in probation you are not asked about your peer: they support you. "
                "If something worries you, contact the people circle directly."
            )
        now = self.clock()
        # The cards ask about this month (late answers: last month). A forged month must not file
        # records, or queue escalation messages, under periods far from now.
        if command.month not in recent_months(now, self.programme.settings.zone):
            raise ClosedError("That month's check is closed; the latest one is in your chat.")
        with self.programme.store.transaction():
            self._records.put(
                command.month,
                round_.number,
                actor.email,
                {"met": command.met, "flags": sorted(f.value for f in command.flags), "at": now.isoformat()},
            )
            if command.flags:
                for peer in pair.peers:
                    if peer != actor.email:
                        self.month.raise_escalation(
                            f"peer:{command.month}:{round_.number}:{actor.email}:{peer}",
                            actor.email,
                            peer,
                            "peer",
                            command.flags,
                            command.month,
                        )
        view = self._check_view(round_, pair, actor.email, command.month, self.programme.people())
        return build_peer_recorded_card(view, met=command.met)

    def last_met(self, round_: PairRound) -> dict[str, datetime]:
        """When each person of the round last recorded meeting their peer (one pass over the records)."""
        latest: dict[str, datetime] = {}
        for month in self._records.months():
            for (number, email), doc in self._records.of_month(month).items():
                if number == round_.number and doc.get("met"):
                    at = datetime.fromisoformat(doc["at"])
                    if email not in latest or at > latest[email]:
                        latest[email] = at
        return latest

    def send_monthly_checks(self) -> int:
        """Ask everyone in a pair who has not recorded this month's meeting yet whether they met."""
        round_ = self._current()
        if round_ is None:
            return 0
        people = self.programme.people()
        month = self._local_month()
        answered = {email for number, email in self._records.of_month(month) if number == round_.number}
        waiting = set(awaiting_peer_record(round_, answered))
        messages = []
        for pair, email in self._prompted(round_, people):
            if email not in waiting:
                continue
            view = self._check_view(round_, pair, email, month, people)
            messages.append(
                OutboundMessage(
                    key=f"peer_check:{month}:{round_.number}:{email}",
                    period=month,
                    recipient=email,
                    kind="peer_check",
                    card=build_peer_check_card(view),
                    text="Did you meet your peer this month?",
                    data={"email_fallback": peer_check_email(list(view.peers), month)},
                )
            )
        return len(self.outbox.enqueue(messages, self.clock()))

    def send_nudges(self) -> int:
        """Nudge pairs with no meeting recorded for 5 weeks (counted from the round's start)."""
        round_ = self._current()
        if round_ is None:
            return 0
        now = self.clock()
        zone = self.programme.settings.zone
        started = datetime.combine(round_.started_on, datetime.min.time(), tzinfo=zone)
        people = self.programme.people()
        month = self._local_month()
        messages = []
        met = self.last_met(round_)
        for pair in round_.pairs:
            since = max((met[e] for e in pair.peers if e in met), default=None) or started
            if now - since < NUDGE_AFTER:
                continue
            weeks = int((now - since) / timedelta(weeks=1))
            peers = active_peers(pair, people)
            for email in peers if len(peers) >= 2 else ():
                view = self._check_view(round_, pair, email, month, people)
                messages.append(
                    OutboundMessage(
                        key=f"peer_nudge:{month}:{round_.number}:{email}",
                        period=month,
                        recipient=email,
                        kind="peer_nudge",
                        card=build_peer_nudge_card(view, weeks=weeks),
                        text="Time to meet your peer",
                        data={"email_fallback": peer_nudge_email(list(view.peers), weeks)},
                    )
                )
        return len(self.outbox.enqueue(messages, now))

    # -- goals -------------------------------------------------------------------------------
    def _round_of(self, doc: Mapping[str, Any]) -> int | None:
        """The pairing round goals were saved in (records from before it was kept: by their date)."""
        if isinstance(doc.get("round"), int):
            return int(doc["round"])
        saved_on = datetime.fromisoformat(doc["at"]).astimezone(self.programme.settings.zone).date()
        started = [r.number for r in self.programme.pair_rounds() if r.started_on <= saved_on]
        return started[-1] if started else None

    def _shared_by_peers(
        self, docs: Mapping[str, Any], round_: PairRound, pair: Pair, email: str, people: Mapping[str, Person]
    ) -> tuple[PeerGoals, ...]:
        """What the person's peers shared in a quarter, set while they were this pair: shared goals only."""
        shared = []
        for peer in pair.peers:
            doc = docs.get(peer)
            if peer == email or doc is None or self._round_of(doc) != round_.number:
                continue
            goals = shared_only(_goals(doc))
            if goals:
                shared.append(PeerGoals(self._name(peer, people), tuple(g.text for g in goals)))
        return tuple(shared)

    def _goals_view(self, round_: PairRound, pair: Pair, email: str, quarter: str) -> GoalsView:
        """Everything the person's own goals card shows: theirs, their peers' shared, last quarter's."""
        people = self.programme.people()
        last = previous_quarter(quarter)
        # Lookups of the person and their peers only, never the whole quarter.
        docs = {e: d for e in pair.peers if (d := self._goals.get(quarter, e)) is not None}
        last_docs = {e: d for e in pair.peers if (d := self._goals.get(last, e)) is not None}
        mine = docs.get(email)
        return GoalsView(
            quarter,
            self._names(pair, email, people),
            open_until=_quarter_end(quarter),
            mine=GoalsRecord(
                _goals(mine),
                mine.get("training_needs", ""),
                mine.get("capacity_now"),
                mine.get("capacity_plan", ""),
            )
            if mine
            else None,
            shared_with_me=self._shared_by_peers(docs, round_, pair, email, people),
            last_quarter=last,
            last_mine=_goals(last_docs.get(email)),
            last_shared_with_me=self._shared_by_peers(last_docs, round_, pair, email, people),
            receives_only=not gives_support(pair, email),
            supporting=tuple(self._name(e, people) for e in supported_in_probation(pair, email)),
        )

    def goals_card(self, actor: Actor) -> Card:
        """The person's goals this quarter (to set or revise), what their peers shared, last quarter's."""
        round_, pair = self._pair_of(actor.email)
        return build_goals_card(self._goals_view(round_, pair, actor.email, self._quarter()))

    def send_goal_prompts(self) -> int:
        """At a quarter start: the goal-setting prompt to everyone in a pair."""
        round_ = self._current()
        if round_ is None:
            return 0
        people = self.programme.people()
        now = self.clock()
        quarter = self._quarter()
        messages = []
        for pair, email in self._prompted(round_, people):
            # The queued prompt names the quarter and the peers only: goals are shown live.
            supported = [e for e in supported_in_probation(pair, email) if not has_left(e, people)]
            view = GoalsView(
                quarter,
                self._names(pair, email, people),
                receives_only=not gives_support(pair, email),
                supporting=tuple(self._name(e, people) for e in supported),
            )
            messages.append(
                OutboundMessage(
                    key=f"goals:{quarter}:{email}",
                    period=self._local_month(),
                    recipient=email,
                    kind="goals",
                    card=build_goals_prompt_card(view),
                    text="Quarterly goal-setting with your peer",
                    data={"email_fallback": goals_email(list(view.peers), quarter)},
                )
            )
        return len(self.outbox.enqueue(messages, now))

    def submit_goals(self, actor: Actor, command: GoalsCommand) -> Card:
        """Keep the person's goals: private ones for them only, shared ones for them and their peer."""
        round_, pair = self._pair_of(actor.email)
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
            {
                "goals": [{"text": g.text, "shared": g.shared} for g in command.goals],
                "training_needs": command.training_needs,
                "capacity_now": command.capacity_now,
                "capacity_plan": command.capacity_plan,
                "round": round_.number,
                "at": now.isoformat(),
            },
        )
        return build_goals_recorded_card(self._goals_view(round_, pair, actor.email, quarter))
