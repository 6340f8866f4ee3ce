"""People on the roster (leavers included), indexed by email and Teams (Entra ID) user id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from programme.model import Person
from repositories.cached import CachedCollection, DerivedIndex
from repositories.personal import PersonalTable, drop_if, key_is_email, own_by_email_key
from store import Store

PEOPLE = "people"
_ERASING = "erasing"  # the placeholder of an erasure under way (see service/privacy.py)
PEOPLE_SHARDS = 64  # ~300 people a shard at 20,000: a write about one person rewrites ~100 KB
Doc = dict[str, Any]


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def person_to_doc(person: Person) -> Doc:
    """A person as a store document."""
    return {
        "email": person.email,
        "name": person.name,
        "role": person.role,
        "service": person.service,
        "working_days": sorted(person.working_days),
        "hours_per_week": person.hours_per_week,
        "start_date": _iso(person.start_date),
        "probation_end": _iso(person.probation_end),
        "facilitator": person.facilitator,
        "coordinator": person.coordinator,
        "aad_object_id": person.aad_object_id,
        "timezone": person.timezone,
        "left_on": _iso(person.left_on),
    }


def person_from_doc(doc: Doc) -> Person:
    """A person from a store document."""
    return Person(
        email=doc["email"],
        name=doc["name"],
        role=doc["role"],
        service=doc.get("service", ""),
        working_days=frozenset(doc.get("working_days", ())),
        hours_per_week=doc.get("hours_per_week"),
        start_date=_day(doc.get("start_date")),
        probation_end=_day(doc.get("probation_end")),
        facilitator=bool(doc.get("facilitator")),
        coordinator=bool(doc.get("coordinator")),
        aad_object_id=doc.get("aad_object_id"),
        timezone=doc.get("timezone"),
        left_on=_day(doc.get("left_on")),
    )


def _active_by_aad_object_id(people: Mapping[str, Person]) -> dict[str, Person]:
    return {p.aad_object_id.lower(): p for p in people.values() if p.aad_object_id and p.active}


class PeopleRepository:
    """Everyone ever imported, by email; lookups are in memory."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(PEOPLE, shards=PEOPLE_SHARDS)
        self._cache = CachedCollection(self._collection, lambda _key, doc: person_from_doc(doc))
        self._by_aad = DerivedIndex(self._cache, _active_by_aad_object_id)

    def all(self) -> Mapping[str, Person]:
        """Everyone ever imported (leavers included), by email. Read-only."""
        return self._cache.current()

    def get(self, email: str) -> Person | None:
        """One person by (lower-case) email, leavers included."""
        return self._cache.current().get(email)

    def active_by_aad_object_id(self, aad_object_id: str) -> Person | None:
        """The active person whose roster row carries this Entra ID user id."""
        return self._by_aad.get().get(aad_object_id.lower())

    def record(self, email: str) -> Doc | None:
        """The person's roster record as stored (what an export of their data shows)."""
        doc = self._collection.get(email)
        return {k: v for k, v in doc.items() if k != _ERASING} if doc else None

    def erasing(self, email: str) -> str | None:
        """The placeholder of an erasure of this person that a crash interrupted, if any."""
        doc = self._collection.get(email) or {}
        return str(doc.get(_ERASING) or "") or None

    def mark_erasing(self, email: str, placeholder: str) -> None:
        """Note an erasure's placeholder on the record first, so a rerun after a crash reuses it."""
        doc = self._collection.get(email)
        if doc is not None:
            self._collection.put(email, {**doc, _ERASING: placeholder})

    def put_many(self, people: Iterable[Person]) -> None:
        """Add or update people: one durable write per shard touched."""
        self._collection.put_many({p.email: person_to_doc(p) for p in people})


PERSONAL_TABLES = (PersonalTable(PEOPLE, own_by_email_key, drop_if(key_is_email)),)
