"""Conversion between domain records and the JSON documents kept in the store."""

from __future__ import annotations

from datetime import date
from typing import Any

from programme.model import Group, Pair, PairRound, Person, Unplaced

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
