"""Use cases of the programme core: load state, let the core decide, persist in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from programme.allocation import allocate_groups
from programme.errors import NotFoundError
from programme.model import Allocation, Group, PairRound, Person
from programme.pairing import rotate_pairs
from programme.policies import Actor
from programme.programmes import ProgrammeDefinition, choose_programme, legacy_programme
from programme.roster import RosterChange, apply_roster, parse_roster
from programme.settings import ProgrammeSettings
from repositories.escalations import EscalationsRepository
from repositories.facilitators import ExternalFacilitatorsRepository
from repositories.groups import GroupsRepository
from repositories.imports import RosterImportsRepository
from repositories.meetings import MeetingsRepository
from repositories.pairs import PairRoundsRepository
from repositories.people import PeopleRepository
from store import Store

_IMPORT_BATCH = 5_000  # people written per transaction by an import


@dataclass(frozen=True)
class ProgrammeService:
    """The programme's data operations, shared by the CLI and the bot."""

    store: Store
    settings: ProgrammeSettings
    # The deployment's programmes, in the order that settles clashes; empty means the one programme
    # `settings` describes (a v1 deployment).
    programmes: tuple[ProgrammeDefinition, ...] = ()
    people_repo: PeopleRepository = field(init=False, repr=False)
    groups_repo: GroupsRepository = field(init=False, repr=False)
    rounds_repo: PairRoundsRepository = field(init=False, repr=False)
    imports_repo: RosterImportsRepository = field(init=False, repr=False)
    meetings_repo: MeetingsRepository = field(init=False, repr=False)
    escalations_repo: EscalationsRepository = field(init=False, repr=False)
    # People off the roster who run groups: never in `people()`, never counted as staff.
    facilitators_repo: ExternalFacilitatorsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.programmes:
            object.__setattr__(self, "programmes", (legacy_programme(self.settings),))
        object.__setattr__(self, "people_repo", PeopleRepository(self.store))
        object.__setattr__(self, "groups_repo", GroupsRepository(self.store))
        object.__setattr__(self, "rounds_repo", PairRoundsRepository(self.store))
        object.__setattr__(self, "imports_repo", RosterImportsRepository(self.store))
        object.__setattr__(self, "meetings_repo", MeetingsRepository(self.store))
        object.__setattr__(self, "escalations_repo", EscalationsRepository(self.store))
        object.__setattr__(self, "facilitators_repo", ExternalFacilitatorsRepository(self.store))

    def programme_of(self, group: Group) -> ProgrammeDefinition:
        """The programme a group belongs to (NotFoundError when the settings no longer define it)."""
        for definition in self.programmes:
            if definition.id == group.programme:
                return definition
        raise NotFoundError(
            f"group {group.id} belongs to programme {group.programme!r}, which the settings no longer define"
        )

    def choose_programme(self, wanted: str | None) -> ProgrammeDefinition:
        """The programme a command names; optional when there is one (ProgrammeChoiceError if ambiguous)."""
        return choose_programme(self.programmes, wanted)

    def people(self) -> Mapping[str, Person]:
        """Everyone ever imported (leavers included), by email. Read-only, kept in memory."""
        return self.people_repo.all()

    def person(self, email: str) -> Person | None:
        """One person by email (leavers included)."""
        return self.people_repo.get(email)

    def import_roster(
        self, raw: bytes, filename: str, now: datetime, progress: Callable[[int, int], None] | None = None
    ) -> RosterChange:
        """Import a full roster: a file with any bad row changes nothing (RosterError).

        The changed people are written in batches, `progress(done, total)` after each; the store's
        lock is held per batch, so the bot and the clock keep going during a large import.
        """
        incoming = parse_roster(raw, filename)
        today = now.astimezone(self.settings.zone).date()
        with self.store.transaction():
            change = apply_roster(self.people(), incoming, today)
        touched = [change.people[email] for email in (*change.added, *change.updated, *change.left)]
        for start in range(0, len(touched), _IMPORT_BATCH):
            self.people_repo.put_many(touched[start : start + _IMPORT_BATCH])
            if progress is not None:
                progress(min(start + _IMPORT_BATCH, len(touched)), len(touched))
        self.imports_repo.record(filename, now, change)
        return change

    def display_name(self, email: str) -> str:
        """What cards call someone: their roster name, else their external facilitator name, else the
        address itself."""
        person = self.people_repo.get(email)
        if person is not None:
            return person.name
        external = self.facilitators_repo.get(email)
        return external.name if external is not None else email

    def current_allocation(self) -> Allocation:
        """The stored allocation, as last computed."""
        return self.groups_repo.allocation()

    def groups(self) -> tuple[Group, ...]:
        """The current groups, by id (kept in memory)."""
        return self.groups_repo.groups()

    def actor(self, person: Person) -> Actor:
        """The person with the groups they lead and belong to."""
        return self.groups_repo.actor(person)

    def allocate(self, now: datetime | None = None) -> Allocation:
        """Allocate groups from the current roster, keeping people in their valid groups."""
        now = now or datetime.now(UTC)
        with self.store.transaction():
            previous = self.groups_repo.groups()
            retired = self.groups_repo.retired_ids()
            allocation = allocate_groups(self.people().values(), self.settings, previous, retired)
            self.groups_repo.save_allocation(allocation, now)
        return allocation

    def started_at(self) -> datetime | None:
        """When groups were first allocated: the programme's start for the clock."""
        return self.groups_repo.started_at()

    def pair_rounds(self) -> list[PairRound]:
        """Every pairing round so far, oldest first."""
        return list(self.rounds_repo.rounds())

    def rotate_pairs(self, today: date) -> PairRound:
        """Start a new pairing round: nobody meets a previous peer again."""
        with self.store.transaction():
            history = self.pair_rounds()
            round_ = rotate_pairs(self.people().values(), history, today, self.settings)
            self.rounds_repo.save(round_)
        return round_

    def group(self, group_id: str) -> Group | None:
        """One current group by id."""
        return self.groups_repo.get(group_id)
