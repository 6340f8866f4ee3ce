"""Peer pairing rounds, and who is whose peer in the current one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from programme.model import Pair, PairRound, Unplaced
from repositories.cached import CachedCollection, DerivedIndex
from repositories.groups import unplaced_to_doc
from repositories.personal import PersonalTable, Subject
from store import Store

PAIR_ROUNDS = "pair_rounds"
PAIR_ROUND_SHARDS = 4  # a round at 20,000 staff is ~1 MB: a new round rewrites one shard, not all
Doc = dict[str, Any]


def round_to_doc(round_: PairRound) -> Doc:
    """A pairing round as a store document."""
    return {
        "round": round_.number,
        "started_on": round_.started_on.isoformat(),
        "pairs": [{"peers": list(p.peers), "receives_only": list(p.receives_only)} for p in round_.pairs],
        "unpaired": [unplaced_to_doc(u) for u in round_.unpaired],
    }


def round_from_doc(doc: Doc) -> PairRound:
    """A pairing round from a store document."""
    return PairRound(
        number=doc["round"],
        started_on=date.fromisoformat(doc["started_on"]),
        pairs=tuple(Pair(tuple(p["peers"]), tuple(p["receives_only"])) for p in doc["pairs"]),
        unpaired=tuple(Unplaced(u["email"], u["reason"]) for u in doc["unpaired"]),
    )


def _by_number_and_person(
    rounds: Mapping[str, PairRound],
) -> tuple[tuple[PairRound, ...], Mapping[str, Pair]]:
    """Every round oldest first, and the latest round's pair of each person."""
    ordered = tuple(sorted(rounds.values(), key=lambda r: r.number))
    pairs = {email: pair for pair in ordered[-1].pairs for email in pair.peers} if ordered else {}
    return ordered, pairs


class PairRoundsRepository:
    """Every pairing round; the latest round's pairs indexed by person."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(PAIR_ROUNDS, shards=PAIR_ROUND_SHARDS)
        cache = CachedCollection(self._collection, lambda _key, doc: round_from_doc(doc))
        self._index = DerivedIndex(cache, _by_number_and_person)

    def _current(self) -> tuple[tuple[PairRound, ...], Mapping[str, Pair]]:
        return self._index.get()

    def rounds(self) -> tuple[PairRound, ...]:
        """Every pairing round so far, oldest first."""
        return self._current()[0]

    def latest(self) -> PairRound | None:
        """The current round, if any."""
        rounds = self.rounds()
        return rounds[-1] if rounds else None

    def pair_of(self, email: str) -> Pair | None:
        """The person's pair in the current round."""
        return self._current()[1].get(email)

    def save(self, round_: PairRound) -> None:
        """Store a new (or corrected) round."""
        self._collection.put(str(round_.number), round_to_doc(round_))


# -- personal data (service/privacy.py) ---------------------------------------------------------------


def _round_view(key: str, doc: Doc, subject: Subject) -> Doc | None:
    me = subject.identity.is_email
    for pair in doc.get("pairs") or []:
        peers = pair.get("peers") or []
        if any(me(p) for p in peers):
            return {
                "round": doc.get("round"),
                "started_on": doc.get("started_on"),
                "your_peers": [p for p in peers if not me(p)],
                "you_receive_only": any(me(p) for p in pair.get("receives_only") or []),
            }
    for entry in doc.get("unpaired") or []:
        if me(entry.get("email")):
            return {
                "round": doc.get("round"),
                "started_on": doc.get("started_on"),
                "unpaired": entry.get("reason"),
            }
    return None


# Past rounds keep their pairs (counts for reports), with the person replaced by the placeholder.
PERSONAL_TABLES = (PersonalTable(PAIR_ROUNDS, _round_view),)
