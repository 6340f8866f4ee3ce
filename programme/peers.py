"""Rules of peer pairs that cards and jobs share: who supports whom, who still owes this month's
record, which goals a peer may see, and quarters.

In probation the arrangement is one way (seed 004: "you will get a peer but you won't peer
anyone"): the probation member of a pair is supported and looks out for nobody, so nobody asks
them about their peer's wellbeing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date

from programme.answers import Goal
from programme.model import Pair, PairRound


def quarter_of(day: date) -> str:
    """ "2027-Q1" for a date."""
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    """The quarter before a "2027-Q1" quarter key."""
    year, number = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1:04d}-Q4" if number == 1 else f"{year:04d}-Q{number - 1}"


def gives_support(pair: Pair, email: str) -> bool:
    """Whether the person looks out for their peer(s): everyone but a probation member."""
    return email in pair.peers and email not in pair.receives_only


def supported_in_probation(pair: Pair, email: str) -> tuple[str, ...]:
    """The person's peers in probation: they support them one way, and are not supported back by them."""
    if not gives_support(pair, email):
        return ()
    return tuple(peer for peer in pair.peers if peer != email and peer in pair.receives_only)


def awaiting_peer_record(round_: PairRound, answered: Collection[str]) -> list[str]:
    """Everyone in the round who has not recorded this month's peer meeting yet, in pair order."""
    return [email for pair in round_.pairs for email in pair.peers if email not in answered]


def shared_only(goals: Iterable[Goal]) -> tuple[Goal, ...]:
    """The goals a peer may see: the shared ones; private goals are their owner's alone."""
    return tuple(goal for goal in goals if goal.shared)
