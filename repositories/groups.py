"""Reflection groups: the current allocation, retired groups, and who leads or belongs to which.

Each programme is allocated on its own: storing one programme's allocation replaces (and retires)
only that programme's groups, and its metadata (unplaced people, facilitators needed, when it was
first allocated) is kept per programme. The v1 metadata document ("latest") is the legacy
programme's and keeps its key, so a v1 data file reads unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from programme.model import LEGACY_PROGRAMME, Allocation, Group, Person, Unplaced
from programme.policies import Actor
from repositories.cached import CachedCollection, DerivedIndex
from repositories.personal import PersonalTable, Subject, keep
from store import Store

GROUPS = "groups"
RETIRED_GROUPS = "retired_groups"
ALLOCATION = "allocation"
_LATEST = "latest"  # the metadata of the legacy programme "main" (the only one in v1)
Doc = dict[str, Any]


def group_to_doc(group: Group) -> Doc:
    """A group as a store document."""
    return {
        "id": group.id,
        "name": group.name,
        "weekday": group.weekday,
        "cohort": group.cohort,
        "facilitator": group.facilitator,
        "members": list(group.members),
        "programme": group.programme,
    }


def group_from_doc(doc: Doc) -> Group:
    """A group from a store document."""
    return Group(
        id=doc["id"],
        name=doc["name"],
        weekday=doc["weekday"],
        cohort=doc["cohort"],
        facilitator=doc["facilitator"],
        members=tuple(doc["members"]),
        # Groups written before programmes existed belong to the one programme of v1.
        programme=doc.get("programme", LEGACY_PROGRAMME),
    )


def _meta_key(programme: str) -> str:
    return _LATEST if programme == LEGACY_PROGRAMME else f"programme:{programme}"


def _meta_programme(key: str, doc: Doc) -> str:
    return str(doc.get("programme") or (LEGACY_PROGRAMME if key == _LATEST else key.partition(":")[2]))


def unplaced_to_doc(entry: Unplaced) -> Doc:
    """An unplaced person and the reason, as stored and printed."""
    return {"email": entry.email, "reason": entry.reason}


@dataclass(frozen=True)
class _Index:
    groups: tuple[Group, ...]
    by_id: Mapping[str, Group]
    led_by: Mapping[str, tuple[Group, ...]] = field(default_factory=dict)
    member_of: Mapping[str, tuple[Group, ...]] = field(default_factory=dict)


def _index(groups: Iterable[Group]) -> _Index:
    ordered = tuple(sorted(groups, key=lambda g: g.id))
    led: dict[str, list[Group]] = {}
    member: dict[str, list[Group]] = {}
    for group in ordered:
        if group.facilitator:
            led.setdefault(group.facilitator, []).append(group)
        for email in group.members:
            member.setdefault(email, []).append(group)
    return _Index(
        ordered,
        {g.id: g for g in ordered},
        {k: tuple(v) for k, v in led.items()},
        {k: tuple(v) for k, v in member.items()},
    )


class GroupsRepository:
    """The current groups (their own file: an allocation replaces them in one atomic write)."""

    def __init__(self, store: Store) -> None:
        self._groups = store.collection(GROUPS, shards=1)
        self._retired = store.collection(RETIRED_GROUPS, shards=1)
        self._allocation = store.collection(ALLOCATION)
        self._store = store
        cache = CachedCollection(self._groups, lambda _key, doc: group_from_doc(doc))
        self._index = DerivedIndex(cache, lambda groups: _index(groups.values()))

    def _current(self) -> _Index:
        return self._index.get()

    def groups(self) -> tuple[Group, ...]:
        """The current groups, by id."""
        return self._current().groups

    def get(self, group_id: str) -> Group | None:
        """One current group."""
        return self._current().by_id.get(group_id)

    def actor(self, person: Person) -> Actor:
        """The person with the current groups they lead and belong to (lookups, not a scan)."""
        index = self._current()
        return Actor(
            person=person,
            facilitates=index.led_by.get(person.email, ()),
            member_of=index.member_of.get(person.email, ()),
        )

    def allocation(self, programme: str | None = None) -> Allocation:
        """The stored allocation of one programme, or of all programmes together, as last computed."""
        if programme is not None:
            return self._allocation_of(programme, self._allocation.get(_meta_key(programme)) or {})
        metas = self._metadata()
        unplaced = [u for p, meta in sorted(metas.items()) for u in self._allocation_of(p, meta).unplaced]
        needed: dict[int, int] = {}
        for p, meta in metas.items():
            for day, n in self._allocation_of(p, meta).facilitators_needed.items():
                needed[day] = needed.get(day, 0) + n
        return Allocation(self.groups(), tuple(unplaced), needed)

    def _metadata(self) -> dict[str, Doc]:
        return {_meta_programme(key, doc): doc for key, doc in self._allocation.all().items()}

    def _allocation_of(self, programme: str, meta: Doc) -> Allocation:
        return Allocation(
            groups=tuple(g for g in self.groups() if g.programme == programme),
            unplaced=tuple(Unplaced(u["email"], u["reason"]) for u in meta.get("unplaced", [])),
            facilitators_needed={int(day): n for day, n in meta.get("facilitators_needed", {}).items()},
        )

    def retired_ids(self) -> set[str]:
        """Ids of groups that existed once (in any programme): never reused for a new group."""
        return set(self._retired.all())

    def retired(self) -> dict[str, Group]:
        """Groups of earlier allocations, by id (for reports on past months)."""
        return {gid: group_from_doc(doc) for gid, doc in self._retired.all().items()}

    def started_at(self, programme: str | None = None) -> datetime | None:
        """When groups were first allocated (in the programme, or in any): the start for the clock."""
        if programme is not None:
            first = (self._allocation.get(_meta_key(programme)) or {}).get("first_allocated_at")
            return datetime.fromisoformat(first) if first else None
        times = [
            datetime.fromisoformat(m["first_allocated_at"])
            for m in self._metadata().values()
            if m.get("first_allocated_at")
        ]
        return min(times) if times else None

    def save_allocation(
        self, allocation: Allocation, now: datetime, programme: str = LEGACY_PROGRAMME
    ) -> None:
        """Replace the programme's current groups, retiring the ones that went (one transaction).

        Other programmes' groups and metadata are not touched.
        """
        strays = sorted(g.id for g in allocation.groups if g.programme != programme)
        if strays:
            raise ValueError(f"groups {', '.join(strays)} are not of programme {programme!r}")
        with self._store.transaction():
            previous = [g for g in self.groups() if g.programme == programme]
            kept = {group.id for group in allocation.groups}
            newly_retired = {g.id: group_to_doc(g) for g in previous if g.id not in kept}
            if newly_retired:
                self._retired.put_many(newly_retired)
            # One atomic write of the groups file: the other programmes' documents go back as they were.
            others = {
                key: doc
                for key, doc in self._groups.all().items()
                if doc.get("programme", LEGACY_PROGRAMME) != programme
            }
            self._groups.replace_all({**others, **{g.id: group_to_doc(g) for g in allocation.groups}})
            key = _meta_key(programme)
            first = (self._allocation.get(key) or {}).get("first_allocated_at")
            self._allocation.put(
                key,
                {
                    "programme": programme,
                    # The programme clock runs nothing for the time before the first groups existed.
                    "first_allocated_at": first or now.isoformat(),
                    "unplaced": [unplaced_to_doc(u) for u in allocation.unplaced],
                    "facilitators_needed": {str(d): n for d, n in allocation.facilitators_needed.items()},
                },
            )


# -- personal data (service/privacy.py) ---------------------------------------------------------------


def _group_view(key: str, doc: Doc, subject: Subject) -> Doc | None:
    members = doc.get("members") or []
    leads = subject.identity.is_email(doc.get("facilitator"))
    if not leads and not any(subject.identity.is_email(m) for m in members):
        return None
    return {
        "id": doc.get("id", key),
        "name": doc.get("name"),
        "weekday": doc.get("weekday"),
        "cohort": doc.get("cohort"),
        "you_are": "facilitator" if leads else "member",
        "facilitator": doc.get("facilitator"),
        "member_count": len(members),
    }


def _allocation_view(key: str, doc: Doc, subject: Subject) -> Doc | None:
    reasons = [
        u.get("reason") for u in doc.get("unplaced") or [] if subject.identity.is_email(u.get("email"))
    ]
    return {"unplaced_reasons": reasons} if reasons else None


def _leave_current_group(key: str, doc: Doc, subject: Subject) -> tuple[str, Doc]:
    """Out of a current group, as a leaver is at the next allocation: nobody is messaged at a placeholder."""
    me = subject.identity.is_email
    changed = dict(doc)
    if isinstance(doc.get("members"), list):
        changed["members"] = [m for m in doc["members"] if not me(m)]
    if me(doc.get("facilitator")):
        changed["facilitator"] = None  # the group rotates facilitation until it is allocated again
    return key, changed


def _leave_unplaced(key: str, doc: Doc, subject: Subject) -> tuple[str, Doc]:
    if not isinstance(doc.get("unplaced"), list):
        return key, doc
    unplaced = [u for u in doc["unplaced"] if not subject.identity.is_email((u or {}).get("email"))]
    return key, {**doc, "unplaced": unplaced}


# Retired groups keep their records (counts for reports), with the person replaced by the placeholder.
PERSONAL_TABLES = (
    PersonalTable(GROUPS, _group_view, _leave_current_group),
    PersonalTable(RETIRED_GROUPS, _group_view, keep),
    PersonalTable(ALLOCATION, _allocation_view, _leave_unplaced),
)
