"""Group allocation: role cohorts per weekday, group sizes, stable re-allocation, facilitators.

Everyone is placed on one weekday (the programme day if they work it, else the first fallback day
they work). On each weekday the people of a role form a unit; a unit too small for a group of its
own (fewer than min_group_size) is merged into its most similar unit, smallest first, until every
unit is big enough or only one is left. Each unit then becomes one or more groups.

"Most similar" compares, in order: the number of words the cohort names share ("Senior Health
Coach" ~ "Health Coach"), then the number of services both units' people work in, then prefers a
unit that is already big enough, then the cohort name (so ties break the same way every time).

Re-allocation keeps everyone who is still valid in their group (still active, not a facilitator,
placed on the group's weekday, and of the group's cohort or of a role too small on that weekday
for its own group); kept groups anchor their cohort's unit, and only joiners, leavers' gaps and
the members of groups that fell below the minimum move.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from programme.facilitation import assign_facilitators
from programme.model import Allocation, Group, Person, Unplaced, weekday_name
from programme.settings import ProgrammeSettings

_STOPWORDS = frozenset({"and", "of", "the", "for", "in", "to", "with", "a"})
_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"(\d+)", re.ASCII)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class _Draft:
    """A group being built; becomes a Group once its members are final."""

    id: str
    name: str
    cohort: str
    members: list[Person]


@dataclass
class _Unit:
    """The people of one weekday who are placed under one cohort name."""

    label: str
    kept: list[_Draft] = field(default_factory=list)
    pool: list[Person] = field(default_factory=list)
    services: set[str] = field(default_factory=set)
    size: int = 0

    def absorb(self, other: _Unit) -> None:
        # The other unit's groups are below the minimum by construction, so they are dissolved.
        self.pool.extend(other.pool)
        self.pool.extend(m for draft in other.kept for m in draft.members)
        self.services |= other.services
        self.size += other.size


def allocate_groups(
    people: Iterable[Person],
    settings: ProgrammeSettings,
    previous: Sequence[Group] = (),
    retired_ids: Collection[str] = frozenset(),
) -> Allocation:
    """Allocate active staff to reflection groups, keeping previous groups where they are still valid."""
    active = {p.email: p for p in people if p.active}
    days = settings.session_weekdays
    unplaced: list[Unplaced] = []
    by_day: dict[int, list[Person]] = {d: [] for d in days}
    for person in active.values():
        if person.facilitator:
            continue
        day = next((d for d in days if person.works(d)), None)
        if day is None:
            unplaced.append(Unplaced(person.email, f"does not work {_either(days)}"))
        else:
            by_day[day].append(person)

    previous_by_day: dict[int, list[Group]] = defaultdict(list)
    for group in sorted(previous, key=lambda g: _natural(g.id)):
        previous_by_day[group.weekday].append(group)
    ids = _IdMaker({g.id for g in previous} | set(retired_ids))

    groups: list[Group] = []
    for day in days:
        drafts, alone = _allocate_day(day, by_day[day], previous_by_day[day], settings, ids)
        unplaced.extend(alone)
        groups.extend(
            Group(d.id, d.name, day, d.cohort, None, tuple(sorted(m.email for m in d.members)))
            for d in drafts
        )
    rank = {d: i for i, d in enumerate(days)}
    groups.sort(key=lambda g: (rank[g.weekday], g.cohort, _natural(g.id)))

    facilitators = [p for p in active.values() if p.facilitator]
    last_time = {g.id: g.facilitator for g in previous if g.facilitator is not None}
    facilitated, needed = assign_facilitators(
        groups, facilitators, settings.facilitator_max_groups, last_time
    )
    return Allocation(facilitated, tuple(sorted(unplaced, key=lambda u: u.email)), needed)


def _allocate_day(
    day: int,
    people: list[Person],
    previous: list[Group],
    settings: ProgrammeSettings,
    ids: _IdMaker,
) -> tuple[list[_Draft], list[Unplaced]]:
    minimum, maximum = settings.min_group_size, settings.max_group_size
    here = {p.email: p for p in people}
    role_count = Counter(p.role for p in people)
    units: dict[str, _Unit] = {}

    placed: set[str] = set()
    for group in previous:
        members: list[Person] = []
        for email in sorted(group.members):
            person = here.get(email)
            if person is None or email in placed:
                continue
            if person.role == group.cohort or role_count[person.role] < minimum:
                members.append(person)
                placed.add(email)
        if members:
            unit = units.setdefault(group.cohort, _Unit(group.cohort))
            # Larger than the maximum only after a settings change: the surplus is re-placed.
            unit.kept.append(_Draft(group.id, group.name, group.cohort, members[:maximum]))
            unit.pool.extend(members[maximum:])
    for person in people:
        if person.email not in placed:
            units.setdefault(person.role, _Unit(person.role)).pool.append(person)
    for unit in units.values():
        everyone = [*unit.pool, *(m for d in unit.kept for m in d.members)]
        unit.size = len(everyone)
        unit.services = {p.service for p in everyone if p.service}

    while len(units) > 1:
        small = [u for u in units.values() if u.size < minimum]
        if not small:
            break
        # Smallest first; units without groups of their own move before ones that have some.
        merging = min(small, key=lambda u: (u.size, bool(u.kept), u.label))
        del units[merging.label]
        host = min(units.values(), key=lambda u: _dissimilarity(merging, u, minimum))
        host.absorb(merging)

    drafts: list[_Draft] = []
    alone: list[Unplaced] = []
    for label in sorted(units):
        unit = units[label]
        if unit.size < 2:
            # Only when the whole weekday has one person: a group of one is no group.
            alone.extend(
                Unplaced(p.email, f"nobody else to group with on {weekday_name(day)}")
                for p in [*unit.pool, *(m for d in unit.kept for m in d.members)]
            )
        else:
            drafts.extend(_fill_unit(unit, day, minimum, maximum, ids))
    return drafts, alone


def _dissimilarity(merging: _Unit, other: _Unit, minimum: int) -> tuple[int, int, bool, str]:
    return (
        -len(_words(merging.label) & _words(other.label)),
        -len(merging.services & other.services),
        other.size < minimum,
        other.label,
    )


def _fill_unit(unit: _Unit, day: int, minimum: int, maximum: int, ids: _IdMaker) -> list[_Draft]:
    """Groups for one unit: kept groups first, then joiners into their space, then new groups."""
    # Where no split can respect both limits (say 5 people, at most 4, at least 3), the smallest
    # group of a balanced split is the best minimum there is; holding out for more would only
    # leave someone in a group of one.
    minimum = min(minimum, unit.size // -(-unit.size // maximum))
    kept = sorted(unit.kept, key=lambda d: (-len(d.members), _natural(d.id)))
    survivors = [d for d in kept if len(d.members) >= minimum]
    short = [d for d in kept if len(d.members) < minimum]
    pool = sorted(unit.pool, key=lambda p: p.email)
    # Short groups survive, largest first, while the pool plus the members of the remaining short
    # groups can top them up to the minimum; the rest are dissolved and their members re-placed.
    keep = len(short)
    while keep and sum(minimum - len(d.members) for d in short[:keep]) > len(pool) + sum(
        len(d.members) for d in short[keep:]
    ):
        keep -= 1
    dissolved = short[keep:]
    pool = [m for d in dissolved for m in sorted(d.members, key=lambda p: p.email)] + pool
    for draft in short[:keep]:
        top_up = minimum - len(draft.members)
        draft.members.extend(pool[:top_up])
        del pool[:top_up]
        survivors.append(draft)

    reusable = sorted(((d.id, d.name) for d in dissolved), key=lambda pair: _natural(pair[0]))
    new_groups: list[_Draft] = []
    for members in _place(survivors, pool, minimum, maximum, unit.label):
        group_id, name = reusable.pop(0) if reusable else ids.new(day, unit.label)
        new_groups.append(_Draft(group_id, name, unit.label, members))
    return survivors + new_groups


def _place(
    survivors: list[_Draft], pool: list[Person], minimum: int, maximum: int, cohort: str
) -> list[list[Person]]:
    """Put the pool into the surviving groups' space; return the members of any new groups."""
    if not survivors:
        return _split(pool, maximum, cohort)
    space = sum(maximum - len(d.members) for d in survivors)
    if len(pool) <= space:
        _water_fill(survivors, pool, maximum)
        return []
    overflow = len(pool) - space
    count = -(-overflow // maximum)
    needed = count * minimum
    # New groups need at least the minimum each: leave enough of the pool out of the existing
    # groups' space, and only if the pool itself is too small, move people from the largest groups.
    into_existing = space if overflow >= needed else max(0, len(pool) - needed)
    _water_fill(survivors, pool[:into_existing], maximum)
    rest = pool[into_existing:]
    rest.extend(_take_surplus(survivors, needed - len(rest), minimum))
    return _split(rest, maximum, cohort)


def _water_fill(drafts: list[_Draft], people: list[Person], maximum: int) -> None:
    """Each person joins the currently smallest group that has space."""
    heap = [(len(d.members), _natural(d.id), i) for i, d in enumerate(drafts) if len(d.members) < maximum]
    heapq.heapify(heap)
    for person in people:
        size, key, i = heapq.heappop(heap)
        drafts[i].members.append(person)
        if size + 1 < maximum:
            heapq.heappush(heap, (size + 1, key, i))


def _take_surplus(drafts: list[_Draft], count: int, minimum: int) -> list[Person]:
    """Take up to `count` people, one at a time from the currently largest group above the minimum."""
    heap = [(-len(d.members), _natural(d.id), i) for i, d in enumerate(drafts) if len(d.members) > minimum]
    heapq.heapify(heap)
    taken: list[Person] = []
    while len(taken) < count and heap:
        negative_size, key, i = heapq.heappop(heap)
        members = drafts[i].members
        person = max(members, key=lambda p: p.email)
        members.remove(person)
        taken.append(person)
        if len(members) > minimum:
            heapq.heappush(heap, (negative_size + 1, key, i))
    return taken


def _split(people: list[Person], maximum: int, cohort: str) -> list[list[Person]]:
    """As few groups as the maximum allows, with sizes differing by at most one."""
    count = -(-len(people) // maximum)
    # Dealt in turn, the cohort's own role first, so members of smaller roles who joined the
    # cohort are spread over its groups instead of filling the last one.
    ordered = sorted(people, key=lambda p: (p.role != cohort, p.role, p.email))
    return [ordered[n::count] for n in range(count)]


class _IdMaker:
    """Readable ids like "thu-health-coach-1" that never reuse a stored or retired id."""

    def __init__(self, used: set[str]) -> None:
        self._used = used
        self._next: dict[str, int] = {}

    def new(self, day: int, cohort: str) -> tuple[str, str]:
        stem = f"{weekday_name(day)[:3].lower()}-{_slug(cohort)}"
        n = self._next.get(stem, 1)
        while f"{stem}-{n}" in self._used:
            n += 1
        self._next[stem] = n + 1
        self._used.add(f"{stem}-{n}")
        return f"{stem}-{n}", f"{cohort}, {weekday_name(day)} {n}"


@lru_cache(maxsize=4096)
def _words(label: str) -> frozenset[str]:
    return frozenset(_WORD.findall(label.casefold())) - _STOPWORDS


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", ascii_text).strip("-") or "group"


def _natural(text: str) -> tuple[tuple[int, str], ...]:
    """Sort key putting "x-2" before "x-10"."""
    return tuple((int(p), "") if i % 2 else (-1, p) for i, p in enumerate(_DIGITS.split(text)))


def _either(days: Sequence[int]) -> str:
    names = [weekday_name(d) for d in days]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
