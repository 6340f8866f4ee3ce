"""Reflection groups: the current allocation, retired groups, and who leads or belongs to which."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from programme.model import Allocation, Group, Person, Unplaced
from programme.policies import Actor
from repositories.cached import CachedCollection, DerivedIndex
from repositories.personal import PersonalTable, Subject, keep
from store import Store

GROUPS = "groups"
RETIRED_GROUPS = "retired_groups"
ALLOCATION = "allocation"
_LATEST = "latest"
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
    )


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

    def allocation(self) -> Allocation:
        """The stored allocation, as last computed."""
        meta = self._allocation.get(_LATEST) or {}
        return Allocation(
            groups=self.groups(),
            unplaced=tuple(Unplaced(u["email"], u["reason"]) for u in meta.get("unplaced", [])),
            facilitators_needed={int(day): n for day, n in meta.get("facilitators_needed", {}).items()},
        )

    def retired_ids(self) -> set[str]:
        """Ids of groups that existed once: never reused for a new group."""
        return set(self._retired.all())

    def retired(self) -> dict[str, Group]:
        """Groups of earlier allocations, by id (for reports on past months)."""
        return {gid: group_from_doc(doc) for gid, doc in self._retired.all().items()}

    def started_at(self) -> datetime | None:
        """When groups were first allocated: the programme's start for the clock."""
        first = (self._allocation.get(_LATEST) or {}).get("first_allocated_at")
        return datetime.fromisoformat(first) if first else None

    def save_allocation(self, allocation: Allocation, now: datetime) -> None:
        """Replace the current groups, retiring the ones that went (one transaction)."""
        with self._store.transaction():
            previous = self.groups()
            kept = {group.id for group in allocation.groups}
            newly_retired = {g.id: group_to_doc(g) for g in previous if g.id not in kept}
            if newly_retired:
                self._retired.put_many(newly_retired)
            self._groups.replace_all({g.id: group_to_doc(g) for g in allocation.groups})
            first = (self._allocation.get(_LATEST) or {}).get("first_allocated_at")
            self._allocation.put(
                _LATEST,
                {
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
