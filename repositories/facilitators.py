"""External facilitators: people who are not on the HR roster but run groups (their own list).

The list is replaced whole by `reflect facilitators import` (like the roster, the file is the full
list). They are never staff: reports do not count them, and only their own groups are theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from programme.facilitators import ExternalFacilitator
from repositories.cached import CachedCollection, DerivedIndex
from repositories.personal import PersonalTable, drop_if, key_is_email, own_by_email_key
from store import Store

EXTERNAL_FACILITATORS = "external_facilitators"  # email -> name, organisation, aad_object_id, timezone
Doc = dict[str, Any]


def facilitator_to_doc(facilitator: ExternalFacilitator) -> Doc:
    """An external facilitator as a store document."""
    return {
        "email": facilitator.email,
        "name": facilitator.name,
        "organisation": facilitator.organisation,
        "aad_object_id": facilitator.aad_object_id,
        "timezone": facilitator.timezone,
    }


def facilitator_from_doc(doc: Mapping[str, Any]) -> ExternalFacilitator:
    """An external facilitator from a store document."""
    return ExternalFacilitator(
        email=doc["email"],
        name=doc["name"],
        organisation=doc.get("organisation") or "",
        aad_object_id=doc.get("aad_object_id"),
        timezone=doc.get("timezone"),
    )


class ExternalFacilitatorsRepository:
    """The external facilitators, by email; lookups are in memory."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._collection = store.collection(EXTERNAL_FACILITATORS, shards=1)
        self._cache = CachedCollection(self._collection, lambda _key, doc: facilitator_from_doc(doc))
        self._by_aad = DerivedIndex(
            self._cache,
            lambda everyone: {f.aad_object_id.lower(): f for f in everyone.values() if f.aad_object_id},
        )

    def all(self) -> Mapping[str, ExternalFacilitator]:
        """Every external facilitator by (lower-case) email. Read-only."""
        return self._cache.current()

    def get(self, email: str) -> ExternalFacilitator | None:
        """One external facilitator by email."""
        return self._cache.current().get(email)

    def by_aad_object_id(self, aad_object_id: str) -> ExternalFacilitator | None:
        """The external facilitator whose (guest) Entra ID user id this is."""
        return self._by_aad.get().get(aad_object_id.lower())

    def replace_all(self, facilitators: Iterable[ExternalFacilitator]) -> None:
        """The list becomes exactly these people (one atomic write)."""
        self._collection.replace_all({f.email: facilitator_to_doc(f) for f in facilitators})


PERSONAL_TABLES = (PersonalTable(EXTERNAL_FACILITATORS, own_by_email_key, drop_if(key_is_email)),)
