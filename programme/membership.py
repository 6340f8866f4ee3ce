"""Who is in a programme: everyone, listed roles, listed services, or the people who opted in.

Roles and services are matched ignoring case and runs of spaces, because the roster keeps HR's
spelling ("Health  coach" in one export, "Health Coach" in the next) while the settings file is
typed by hand. People who left are never members; their history stays with the programme.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from programme.model import Person
from programme.programmes import MembershipMode, ProgrammeDefinition


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def is_member(definition: ProgrammeDefinition, person: Person, opted_in: Collection[str] = ()) -> bool:
    """Whether an active roster person belongs to the programme (`opted_in`: lower-case emails)."""
    if not person.active:
        return False
    membership = definition.membership
    if membership.mode is MembershipMode.EVERYONE:
        return True
    if membership.mode is MembershipMode.OPT_IN:
        return person.email in opted_in
    listed = {_fold(value) for value in membership.values}
    attribute = person.role if membership.mode is MembershipMode.ROLES else person.service
    return _fold(attribute) in listed


def members(
    definition: ProgrammeDefinition, people: Iterable[Person], opted_in: Collection[str] = ()
) -> list[Person]:
    """The programme's members among `people`, in email order (so callers' results are stable)."""
    chosen = frozenset(opted_in)
    return sorted((p for p in people if is_member(definition, p, chosen)), key=lambda p: p.email)
