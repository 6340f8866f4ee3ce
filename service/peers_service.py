"""Peer pairs in Teams: pair introductions, the monthly "did you meet?", nudges and quarterly goals."""

from __future__ import annotations

from calendar import month_name
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cards.actions import GoalsCommand, PeerRecordCommand
from cards.peers import (
    build_goals_card,
    build_goals_recorded_card,
    build_pair_intro_card,
    build_peer_check_card,
    build_peer_nudge_card,
    build_peer_recorded_card,
)
from cards.views import GoalsView, PairIntroView, PairPeer, PeerCheckView
from programme.errors import NotFoundError
from programme.model import Pair, PairRound, Person
from programme.policies import Actor
from programme.sessions import month_key
from repositories.answers import answers_log
from service.month_service import Card, Clock, ClosedError, MonthService, recent_months
from service.outbox import OutboundMessage, Outbox
from service.programme_service import ProgrammeService

PEER_MEETINGS = "peer_meetings"  # log by month: "round:email" -> met, flags
GOALS = "goals"  # log by quarter: email -> goals (private ones are the owner's only)
NUDGE_AFTER = timedelta(weeks=5)


def quarter_key(moment: datetime) -> str:
    """ "2027-Q1" for a moment."""
    return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"


def _until(round_: PairRound, rotation_months: int) -> str:
    month = round_.started_on.month - 1 + rotation_months
    year = round_.started_on.year + month // 12
    return f"{month_name[month % 12 + 1]} {year}"


@dataclass(frozen=True)
class PeersService:
    """Use cases of peer pairs."""

    programme: ProgrammeService
    outbox: Outbox
    clock: Clock
    month: MonthService

    def _current(self) -> PairRound | None:
        rounds = self.programme.pair_rounds()
        return rounds[-1] if rounds else None

    def _pair_of(self, email: str) -> tuple[PairRound, Pair]:
        round_ = self._current()
        if round_ is not None:
            for pair in round_.pairs:
                if email in pair.peers:
                    return round_, pair
        raise NotFoundError("You don't have a peer in the current round yet.")

    def _names(self, pair: Pair, email: str, people: Mapping[str, Person]) -> tuple[str, ...]:
        return tuple(people[e].name if e in people else e for e in pair.peers if e != email)

    def _local_month(self) -> str:
        return month_key(self.clock().astimezone(self.programme.settings.zone).date())

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
                    )
                )
        return len(self.outbox.enqueue(messages, self.clock()))

    def peer_check_card(self, actor: Actor) -> Card:
        """The person's "did you meet your peer this month?" card."""
        round_, pair = self._pair_of(actor.email)
        names = self._names(pair, actor.email, self.programme.people())
        return build_peer_check_card(PeerCheckView(round_.number, self._local_month(), names))

    def record_meeting(self, actor: Actor, command: PeerRecordCommand) -> Card:
        """Record whether the person met their peer; flags about the peer escalate in confidence."""
        round_, pair = self._pair_of(actor.email)
        if command.round != round_.number:
            raise NotFoundError("That pairing round has ended; your new peer is in your latest card.")
        now = self.clock()
        # The cards ask about this month (late answers: last month). A forged month must not file
        # records, or queue escalation messages, under periods far from now.
        if command.month not in recent_months(now, self.programme.settings.zone):
            raise ClosedError("That month's check is closed; the latest one is in your chat.")
        with self.programme.store.transaction():
            answers_log(self.programme.store, PEER_MEETINGS).put(
                command.month,
                f"{round_.number}:{actor.email}",
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
        names = self._names(pair, actor.email, self.programme.people())
        return build_peer_recorded_card(PeerCheckView(round_.number, command.month, names), met=command.met)

    def last_met(self, round_: PairRound, pair: Pair) -> datetime | None:
        """When anyone of the pair last recorded meeting in this round."""
        latest: datetime | None = None
        log = answers_log(self.programme.store, PEER_MEETINGS)
        for period in log.periods():
            for key, doc in log.all(period).items():
                number, _, email = key.partition(":")
                if int(number) == round_.number and email in pair.peers and doc["met"]:
                    at = datetime.fromisoformat(doc["at"])
                    latest = at if latest is None or at > latest else latest
        return latest

    def send_monthly_checks(self) -> int:
        """Ask everyone in a pair whether they met their peer this month."""
        round_ = self._current()
        if round_ is None:
            return 0
        people = self.programme.people()
        month = self._local_month()
        messages = [
            OutboundMessage(
                key=f"peer_check:{month}:{round_.number}:{email}",
                period=month,
                recipient=email,
                kind="peer_check",
                card=build_peer_check_card(
                    PeerCheckView(round_.number, month, self._names(pair, email, people))
                ),
                text="Did you meet your peer this month?",
            )
            for pair in round_.pairs
            for email in pair.peers
        ]
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
        for pair in round_.pairs:
            since = self.last_met(round_, pair) or started
            if now - since < NUDGE_AFTER:
                continue
            weeks = int((now - since) / timedelta(weeks=1))
            for email in pair.peers:
                view = PeerCheckView(round_.number, month, self._names(pair, email, people))
                messages.append(
                    OutboundMessage(
                        key=f"peer_nudge:{month}:{round_.number}:{email}",
                        period=month,
                        recipient=email,
                        kind="peer_nudge",
                        card=build_peer_nudge_card(view, weeks=weeks),
                        text="Time to meet your peer",
                    )
                )
        return len(self.outbox.enqueue(messages, now))

    def goals_card(self, actor: Actor) -> Card:
        """The quarterly goal-setting card for the person and their peer."""
        _, pair = self._pair_of(actor.email)
        names = self._names(pair, actor.email, self.programme.people())
        quarter = quarter_key(self.clock().astimezone(self.programme.settings.zone))
        return build_goals_card(GoalsView(quarter, names))

    def send_goal_prompts(self) -> int:
        """At a quarter start: the goal-setting card to everyone in a pair."""
        round_ = self._current()
        if round_ is None:
            return 0
        people = self.programme.people()
        now = self.clock()
        quarter = quarter_key(now.astimezone(self.programme.settings.zone))
        messages = [
            OutboundMessage(
                key=f"goals:{quarter}:{email}",
                period=self._local_month(),
                recipient=email,
                kind="goals",
                card=build_goals_card(GoalsView(quarter, self._names(pair, email, people))),
                text="Quarterly goal-setting with your peer",
            )
            for pair in round_.pairs
            for email in pair.peers
        ]
        return len(self.outbox.enqueue(messages, now))

    def submit_goals(self, actor: Actor, command: GoalsCommand) -> Card:
        """Keep the person's goals: private ones for them only, shared ones for them and their peer."""
        _, pair = self._pair_of(actor.email)
        now = self.clock()
        answers_log(self.programme.store, GOALS).put(
            command.quarter,
            actor.email,
            {
                "goals": [{"text": g.text, "shared": g.shared} for g in command.goals],
                "training_needs": command.training_needs,
                "capacity_now": command.capacity_now,
                "capacity_plan": command.capacity_plan,
                "at": now.isoformat(),
            },
        )
        names = self._names(pair, actor.email, self.programme.people())
        return build_goals_recorded_card(GoalsView(command.quarter, names))
