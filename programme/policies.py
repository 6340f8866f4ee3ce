"""Who may do what. Identity always comes from the channel (the Teams activity), never from card data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from programme.errors import ProgrammeError
from programme.model import Group, Person


class NotAllowedError(ProgrammeError):
    """The person may not take this action; nothing was changed."""


@dataclass(frozen=True)
class Actor:
    """A recognised person and the groups they facilitate or belong to."""

    person: Person
    facilitates: tuple[Group, ...] = ()
    member_of: tuple[Group, ...] = ()

    @property
    def email(self) -> str:
        return self.person.email

    @property
    def is_coordinator(self) -> bool:
        return self.person.coordinator and self.person.active

    @property
    def is_facilitator(self) -> bool:
        return bool(self.facilitates) or (self.person.facilitator and self.person.active)


def actor_for(person: Person, groups: Iterable[Group]) -> Actor:
    """The actor for a person, with the current groups they lead or belong to."""
    groups = list(groups)
    return Actor(
        person=person,
        facilitates=tuple(g for g in groups if g.facilitator == person.email),
        member_of=tuple(g for g in groups if person.email in g.members),
    )


def leads(actor: Actor, group: Group) -> bool:
    """Whether the actor runs this group's session: its facilitator, or any member of a rotating group."""
    if group.facilitator is None:
        return actor.email in group.members
    return group.facilitator == actor.email


def require_self(actor: Actor, email: str) -> None:
    """A person answers only for themself."""
    if actor.email != email:
        raise NotAllowedError("You can only answer for yourself.")


def require_member(actor: Actor, group: Group) -> None:
    """Only members answer a group's RSVP or check-out."""
    if actor.email not in group.members:
        raise NotAllowedError("You are not a member of this group.")


def require_leader(actor: Actor, group: Group) -> None:
    """Only the group's facilitator (or, in a rotating group, a member) or a coordinator runs its session."""
    if not (leads(actor, group) or actor.is_coordinator):
        raise NotAllowedError("Only this group's facilitator or a coordinator can do that.")


def require_coordinator(actor: Actor) -> None:
    """Announcements, escalations and absence reasons are for coordinators only."""
    if not actor.is_coordinator:
        raise NotAllowedError("Only programme coordinators can do that.")
