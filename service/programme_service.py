"""Use cases of the programme core: load state, let the core decide, persist in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from programme.allocation import allocate_groups
from programme.calendar import schedule
from programme.model import Allocation, Group, PairRound, Person, Session, Unplaced
from programme.pairing import rotate_pairs
from programme.roster import RosterChange, apply_roster, parse_roster
from programme.settings import ProgrammeSettings
from service.records import (
    group_from_doc,
    group_to_doc,
    person_from_doc,
    person_to_doc,
    round_from_doc,
    round_to_doc,
    unplaced_to_doc,
)
from store import Store

PEOPLE = "people"
GROUPS = "groups"
RETIRED_GROUPS = "retired_groups"
ALLOCATION = "allocation"
PAIR_ROUNDS = "pair_rounds"
IMPORTS = "roster_imports"


@dataclass(frozen=True)
class ProgrammeService:
    """The programme's data operations, shared by the CLI and the bot."""

    store: Store
    settings: ProgrammeSettings

    def people(self) -> dict[str, Person]:
        """Everyone ever imported (leavers included), by email."""
        return {email: person_from_doc(doc) for email, doc in self.store.collection(PEOPLE).all().items()}

    def import_roster(self, raw: bytes, filename: str, now: datetime) -> RosterChange:
        """Import a full roster: all or nothing (RosterError leaves the store untouched)."""
        incoming = parse_roster(raw, filename)
        today = now.astimezone(self.settings.zone).date()
        with self.store.transaction():
            change = apply_roster(self.people(), incoming, today)
            touched = {
                email: change.people[email] for email in (*change.added, *change.updated, *change.left)
            }
            self.store.collection(PEOPLE).put_many({e: person_to_doc(p) for e, p in touched.items()})
            self.store.collection(IMPORTS).put(
                now.isoformat(),
                {
                    "file": filename,
                    "at": now.isoformat(),
                    "added": len(change.added),
                    "updated": len(change.updated),
                    "left": len(change.left),
                    "unchanged": change.unchanged,
                },
            )
        return change

    def current_allocation(self) -> Allocation:
        """The stored allocation, as last computed."""
        groups = [group_from_doc(doc) for doc in self.store.collection(GROUPS).all().values()]
        meta = self.store.collection(ALLOCATION).get("latest") or {}
        return Allocation(
            groups=tuple(sorted(groups, key=lambda g: g.id)),
            unplaced=tuple(Unplaced(u["email"], u["reason"]) for u in meta.get("unplaced", [])),
            facilitators_needed={int(day): n for day, n in meta.get("facilitators_needed", {}).items()},
        )

    def allocate(self, now: datetime | None = None) -> Allocation:
        """Allocate groups from the current roster, keeping people in their valid groups."""
        now = now or datetime.now(UTC)
        with self.store.transaction():
            previous = self.current_allocation().groups
            retired = set(self.store.collection(RETIRED_GROUPS).all())
            allocation = allocate_groups(self.people().values(), self.settings, previous, retired)
            kept = {group.id for group in allocation.groups}
            newly_retired = {g.id: group_to_doc(g) for g in previous if g.id not in kept}
            if newly_retired:
                self.store.collection(RETIRED_GROUPS).put_many(newly_retired)
            self.store.collection(GROUPS).replace_all({g.id: group_to_doc(g) for g in allocation.groups})
            first = (self.store.collection(ALLOCATION).get("latest") or {}).get("first_allocated_at")
            self.store.collection(ALLOCATION).put(
                "latest",
                {
                    # The programme clock runs nothing for the time before the first groups existed.
                    "first_allocated_at": first or now.isoformat(),
                    "unplaced": [unplaced_to_doc(u) for u in allocation.unplaced],
                    "facilitators_needed": {str(d): n for d, n in allocation.facilitators_needed.items()},
                },
            )
        return allocation

    def started_at(self) -> datetime | None:
        """When groups were first allocated: the programme's start for the clock."""
        first = (self.store.collection(ALLOCATION).get("latest") or {}).get("first_allocated_at")
        return datetime.fromisoformat(first) if first else None

    def pair_rounds(self) -> list[PairRound]:
        """Every pairing round so far, oldest first."""
        rounds = [round_from_doc(doc) for doc in self.store.collection(PAIR_ROUNDS).all().values()]
        return sorted(rounds, key=lambda r: r.number)

    def rotate_pairs(self, today: date) -> PairRound:
        """Start a new pairing round: nobody meets a previous peer again."""
        with self.store.transaction():
            history = self.pair_rounds()
            round_ = rotate_pairs(self.people().values(), history, today, self.settings)
            self.store.collection(PAIR_ROUNDS).put(str(round_.number), round_to_doc(round_))
        return round_

    def schedule(self, first: date, months: int) -> list[Session]:
        """Sessions of the current groups for `months` months from the month of `first`."""
        return schedule(self.current_allocation().groups, first, months, self.settings)

    def group(self, group_id: str) -> Group | None:
        """One current group by id."""
        doc = self.store.collection(GROUPS).get(group_id)
        return group_from_doc(doc) if doc else None
