"""Peer pairs in Teams: pair introductions, the monthly "did you meet?" and nudges."""

from __future__ import annotations

from calendar import month_name
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from programme.errors import ClosedError, NotFoundError, ProbationError
from programme.model import Pair, PairRound, Person, active_peers, has_left
from programme.peers import awaiting_peer_record, gives_support, supported_in_probation
from programme.policies import Actor
from programme.records import PeerMeeting
from programme.sessions import month_key
from repositories.answers import PeerRecordsRepository
from service.commands import PeerRecordCommand
from service.escalations import Escalations
from service.messages import Messages
from service.outbox import OutboundMessage, Outbox
from service.programme_service import ProgrammeService
from service.sessions import Clock, recent_months
from service.views import PairIntroView, PairPeer, PeerCheckView, PeerRecorded

NUDGE_AFTER = timedelta(weeks=5)


def _until(round_: PairRound, rotation_months: int) -> str:
    month = round_.started_on.month - 1 + rotation_months
    year = round_.started_on.year + month // 12
    return f"{month_name[month % 12 + 1]} {year}"


@dataclass(frozen=True)
class Peers:
    """Use cases of peer pairs (and the pair lookups goals build on)."""

    programme: ProgrammeService
    outbox: Outbox
    clock: Clock
    messages: Messages
    escalations: Escalations
    _records: PeerRecordsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_records", PeerRecordsRepository(self.programme.store))

    # -- lookups -----------------------------------------------------------------------------
    def current_rounds(self) -> list[PairRound]:
        """The current round of each programme with pairs, in settings order (a programme without
        pairs has none, even if its data file holds rounds from before)."""
        repo = self.programme.rounds_repo
        return [r for d in self.programme.programmes if d.has_pairs and (r := repo.latest(d.id)) is not None]

    def pair_of(self, email: str, number: int | None = None) -> tuple[PairRound, Pair]:
        """The person's pair in a current round (the round numbered `number`, else the first of the
        programmes with pairs in which they have one), or NotFoundError."""
        repo = self.programme.rounds_repo
        for round_ in self.current_rounds():
            pair = repo.pair_of(email, round_.programme)
            if pair is not None and number in (None, round_.number):
                return round_, pair
        raise NotFoundError("You don't have a peer in the current round yet.")

    def names(self, pair: Pair, email: str, people: Mapping[str, Person]) -> tuple[str, ...]:
        """The names of the person's peers who have not left."""
        peers = (e for e in pair.peers if e != email and not has_left(e, people))
        return tuple(self.name(e, people) for e in peers)

    @staticmethod
    def name(email: str, people: Mapping[str, Person]) -> str:
        """A person's display name (their email if they are not on the roster)."""
        return people[email].name if email in people else email

    @staticmethod
    def prompted(round_: PairRound, people: Mapping[str, Person]) -> list[tuple[Pair, str]]:
        """(pair, email) of everyone a peer prompt goes to: nobody who left, and nobody whose
        peers all left (there is nobody to meet until the next rotation pairs them again)."""
        prompted: list[tuple[Pair, str]] = []
        for pair in round_.pairs:
            peers = active_peers(pair, people)
            if len(peers) >= 2:
                prompted.extend((pair, email) for email in peers)
        return prompted

    def local_month(self) -> str:
        """The programme month of now."""
        return month_key(self.clock().astimezone(self.programme.settings.zone).date())

    def _check_view(
        self, round_: PairRound, pair: Pair, email: str, month: str, people: Mapping[str, Person]
    ) -> PeerCheckView:
        """The peer card's view for one person: who their peers are and how probation shapes it."""
        return PeerCheckView(
            round_.number,
            month,
            self.names(pair, email, people),
            receives_only=not gives_support(pair, email),
            supporting=tuple(self.name(e, people) for e in supported_in_probation(pair, email)),
        )

    # -- use cases ---------------------------------------------------------------------------
    def introduce_round(self, round_: PairRound) -> int:
        """Tell everyone in a new round who their peer is."""
        people = self.programme.people()
        settings = next(
            (d.settings for d in self.programme.programmes if d.id == round_.programme),
            self.programme.settings,
        )
        until = _until(round_, settings.rotation_months)
        period = month_key(round_.started_on)
        messages: list[OutboundMessage] = []
        for pair in round_.pairs:
            for email in pair.peers:
                peers = tuple(
                    PairPeer(people[e].name, people[e].role, e in pair.receives_only)
                    for e in pair.peers
                    if e != email and e in people
                )
                view = PairIntroView(round_.number, peers, email in pair.receives_only, until)
                messages.append(
                    self.messages.pair_intro(view).message(
                        key=f"pair_intro:{round_.number}:{email}",
                        period=period,
                        recipient=email,
                        kind="pair_intro",
                    )
                )
        return len(self.outbox.enqueue(messages, self.clock()))

    def check(self, actor: Actor) -> PeerCheckView:
        """The person's "did you meet your peer this month?", with their answer once recorded."""
        round_, pair = self.pair_of(actor.email)
        month = self.local_month()
        view = self._check_view(round_, pair, actor.email, month, self.programme.people())
        recorded = self._records.get(month, round_.number, actor.email)
        if recorded is not None:
            flags = recorded.flags
            view = PeerCheckView(
                view.round,
                view.month,
                view.peers,
                view.receives_only,
                view.supporting,
                met=recorded.met,
                flags=flags if gives_support(pair, actor.email) else frozenset(),
            )
        return view

    def record(self, actor: Actor, command: PeerRecordCommand) -> PeerRecorded:
        """Record whether the person met their peer; flags about the peer escalate in confidence."""
        try:
            round_, pair = self.pair_of(actor.email, command.round)
        except NotFoundError:
            self.pair_of(actor.email)  # no peer at all: say so
            raise NotFoundError(
                "That pairing round has ended; your new peer is in your latest card."
            ) from None
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
                PeerMeeting(command.met, frozenset(command.flags), now),
            )
            if command.flags:
                for peer in pair.peers:
                    if peer != actor.email:
                        self.escalations.escalate(
                            f"peer:{command.month}:{round_.number}:{actor.email}:{peer}",
                            actor.email,
                            peer,
                            "peer",
                            command.flags,
                            command.month,
                        )
        view = self._check_view(round_, pair, actor.email, command.month, self.programme.people())
        return PeerRecorded(view, met=command.met)

    def last_met(self, round_: PairRound) -> dict[str, datetime]:
        """When each person of the round last recorded meeting their peer (one pass over the records)."""
        latest: dict[str, datetime] = {}
        for month in self._records.months():
            for (number, email), record in self._records.of_month(month).items():
                at = record.at
                if number == round_.number and record.met and at is not None:
                    if email not in latest or at > latest[email]:
                        latest[email] = at
        return latest

    def send_monthly_checks(self) -> int:
        """Ask everyone in a pair who has not recorded this month's meeting yet whether they met."""
        return sum(self._send_monthly_checks(round_) for round_ in self.current_rounds())

    def _send_monthly_checks(self, round_: PairRound) -> int:
        people = self.programme.people()
        month = self.local_month()
        answered = {email for number, email in self._records.of_month(month) if number == round_.number}
        waiting = set(awaiting_peer_record(round_, answered))
        messages = [
            self.messages.peer_check(self._check_view(round_, pair, email, month, people)).message(
                key=f"peer_check:{month}:{round_.number}:{email}",
                period=month,
                recipient=email,
                kind="peer_check",
            )
            for pair, email in self.prompted(round_, people)
            if email in waiting
        ]
        return len(self.outbox.enqueue(messages, self.clock()))

    def send_nudges(self) -> int:
        """Nudge pairs with no meeting recorded for 5 weeks (counted from the round's start)."""
        return sum(self._send_nudges(round_) for round_ in self.current_rounds())

    def _send_nudges(self, round_: PairRound) -> int:
        now = self.clock()
        zone = self.programme.settings.zone
        started = datetime.combine(round_.started_on, datetime.min.time(), tzinfo=zone)
        people = self.programme.people()
        month = self.local_month()
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
                    self.messages.peer_nudge(view, weeks).message(
                        key=f"peer_nudge:{month}:{round_.number}:{email}",
                        period=month,
                        recipient=email,
                        kind="peer_nudge",
                    )
                )
        return len(self.outbox.enqueue(messages, now))
