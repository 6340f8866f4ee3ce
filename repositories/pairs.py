"""Peer pairing rounds, and who is whose peer in each programme's current one.

Rounds are keyed by their number, which is unique across programmes (v1 keys unchanged); each
round records its programme, and rounds written before programmes existed belong to "main".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from programme.model import LEGACY_PROGRAMME, Pair, PairRound, Unplaced
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
        "programme": round_.programme,
    }


def round_from_doc(doc: Doc) -> PairRound:
    """A pairing round from a store document."""
    return PairRound(
        number=doc["round"],
        started_on=date.fromisoformat(doc["started_on"]),
        pairs=tuple(Pair(tuple(p["peers"]), tuple(p["receives_only"])) for p in doc["pairs"]),
        unpaired=tuple(Unplaced(u["email"], u["reason"]) for u in doc["unpaired"]),
        programme=doc.get("programme", LEGACY_PROGRAMME),
    )


@dataclass(frozen=True)
class _Index:
    rounds: tuple[PairRound, ...]  # every round, oldest first
    # Per programme: its rounds oldest first, and its latest round's pair of each person.
    by_programme: Mapping[str, tuple[PairRound, ...]]
    pairs: Mapping[str, Mapping[str, Pair]]


def _index(rounds: Mapping[str, PairRound]) -> _Index:
    ordered = tuple(sorted(rounds.values(), key=lambda r: r.number))
    by_programme: dict[str, list[PairRound]] = {}
    for round_ in ordered:
        by_programme.setdefault(round_.programme, []).append(round_)
    pairs = {
        programme: {email: pair for pair in own[-1].pairs for email in pair.peers}
        for programme, own in by_programme.items()
    }
    return _Index(ordered, {k: tuple(v) for k, v in by_programme.items()}, pairs)


class PairRoundsRepository:
    """Every pairing round; each programme's latest round's pairs indexed by person."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(PAIR_ROUNDS, shards=PAIR_ROUND_SHARDS)
        cache = CachedCollection(self._collection, lambda _key, doc: round_from_doc(doc))
        self._index = DerivedIndex(cache, _index)

    def _current(self) -> _Index:
        return self._index.get()

    def rounds(self, programme: str | None = None) -> tuple[PairRound, ...]:
        """Every pairing round so far (of one programme, or of all), oldest first."""
        index = self._current()
        return index.rounds if programme is None else index.by_programme.get(programme, ())

    def latest(self, programme: str = LEGACY_PROGRAMME) -> PairRound | None:
        """The programme's current round, if any."""
        rounds = self.rounds(programme)
        return rounds[-1] if rounds else None

    def next_number(self) -> int:
        """The number the next round gets, whatever its programme."""
        rounds = self._current().rounds
        return rounds[-1].number + 1 if rounds else 1

    def pair_of(self, email: str, programme: str = LEGACY_PROGRAMME) -> Pair | None:
        """The person's pair in the programme's current round."""
        return self._current().pairs.get(programme, {}).get(email)

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
