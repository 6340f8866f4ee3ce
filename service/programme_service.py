"""Use cases of the programme core: load state, let the core decide, persist in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from programme.errors import NotFoundError, ProgrammeChoiceError
from programme.model import Allocation, Group, PairRound, Person
from programme.placement import allocate_programme, pairing_round, pairs_programme
from programme.policies import Actor
from programme.programmes import ProgrammeDefinition, choose_programme, legacy_programme
from programme.roster import RosterChange, apply_roster, parse_roster
from programme.settings import ProgrammeSettings
from repositories.escalations import EscalationsRepository
from repositories.facilitators import ExternalFacilitatorsRepository
from repositories.gatherings import TopicJoinsRepository
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

    def allocate(self, now: datetime | None = None, programme: str | None = None) -> Allocation:
        """Allocate groups from the current roster, keeping people in their valid groups.

        Every programme with groups (or the one named); returns the groups of all programmes and
        the unplaced people of those allocated (`allocate_each` keeps them apart per programme).
        """
        each = self.allocate_each(now, programme)
        unplaced = tuple(u for allocation in each.values() for u in allocation.unplaced)
        needed: dict[int, int] = {}
        for allocation in each.values():
            for day, n in allocation.facilitators_needed.items():
                needed[day] = needed.get(day, 0) + n
        return Allocation(self.groups(), unplaced, needed)

    def allocate_each(
        self, now: datetime | None = None, programme: str | None = None
    ) -> dict[str, Allocation]:
        """Allocate every programme with groups (or the one named), each on its own; by programme id.

        Allocating all programmes also retires the groups of programmes the settings no longer define
        (kept as retired groups for reports). Named, a programme without groups is refused
        (ProgrammeChoiceError) and the other programmes' groups are not touched.
        """
        now = now or datetime.now(UTC)
        chosen = (
            [d for d in self.programmes if d.has_groups]
            if programme is None
            else [self.groups_programme(programme)]
        )
        results: dict[str, Allocation] = {}
        with self.store.transaction():
            people = self.people()
            externals = ExternalFacilitatorsRepository(self.store).all().values()
            joins = TopicJoinsRepository(self.store)
            for definition in chosen:
                allocation = allocate_programme(
                    definition,
                    people.values(),
                    externals=externals,
                    joined=joins.joined(definition.id),
                    current=self.groups_repo.groups(),
                    retired_ids=self.groups_repo.retired_ids(),
                )
                self.groups_repo.save_allocation(allocation, now, definition.id)
                results[definition.id] = allocation
            if programme is None:
                # Groups of a programme the settings no longer define (or that lost its groups) would
                # meet forever otherwise: they retire, and their records stay for reports.
                defined = {d.id for d in chosen}
                for gone in sorted({g.programme for g in self.groups_repo.groups()} - defined):
                    self.groups_repo.save_allocation(Allocation((), ()), now, gone)
        return results

    def groups_programme(self, wanted: str) -> ProgrammeDefinition:
        """The named programme, which must have groups (ProgrammeChoiceError otherwise)."""
        definition = self.choose_programme(wanted)
        if not definition.has_groups:
            raise ProgrammeChoiceError(f"programme {definition.id!r} has no groups (it runs peer pairs only)")
        return definition

    def pairs_programme(self, wanted: str | None) -> ProgrammeDefinition:
        """The programme a pairs command means: named (it must have pairs), or the only one with pairs."""
        return pairs_programme(self.programmes, wanted)

    def started_at(self, programme: str | None = None) -> datetime | None:
        """When groups were first allocated (in the programme, or in any): the start for the clock."""
        return self.groups_repo.started_at(programme)

    def pair_rounds(self, programme: str | None = None) -> list[PairRound]:
        """Every pairing round so far (of one programme, or of all), oldest first."""
        return list(self.rounds_repo.rounds(programme))

    def rotate_pairs(self, today: date, programme: str | None = None) -> PairRound:
        """Start a new pairing round of a programme with pairs: nobody meets a previous peer again."""
        definition = self.pairs_programme(programme)
        with self.store.transaction():
            joined = TopicJoinsRepository(self.store).joined(definition.id)
            round_ = pairing_round(
                definition,
                self.people().values(),
                history=self.rounds_repo.rounds(definition.id),
                number=self.rounds_repo.next_number(),
                today=today,
                opted_in={email for emails in joined.values() for email in emails},
            )
            self.rounds_repo.save(round_)
        return round_

    def group(self, group_id: str) -> Group | None:
        """One current group by id."""
        return self.groups_repo.get(group_id)
