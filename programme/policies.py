"""Who may do what. Identity always comes from the channel (the Teams activity), never from card data.

Every text command and card verb is registered (surfaces/teams_routes.py) with one `Permission` from
here; the router asks `may_use` before running anything, and the use cases ask `may_act_on` about
the group an action names. Both questions, and the one refusal wording, are answered here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum

from programme.errors import NotAllowedError
from programme.model import Group, Person


class Role(StrEnum):
    """The roles a person is welcomed in (what the welcome card lists)."""

    PARTICIPANT = "participant"
    FACILITATOR = "facilitator"
    COORDINATOR = "coordinator"


class Permission(Enum):
    """What a command or card verb needs. `who` is how people (and SECURITY.md) call it."""

    EVERYONE = "everyone on the roster"
    SELF = "everyone, for themselves"
    MEMBER = "members of the group"
    FACILITATOR = "a group's facilitator"
    LEADER = "whoever runs the group's session"
    OVERSEER = "the session's leader or a coordinator"
    COORDINATOR = "coordinators"

    @property
    def who(self) -> str:
        return self.value


# The one wording of every refusal: the router (wrong-role command or button) and the use cases
# (a named group the person has no part in) both say it from here.
_REFUSALS = {
    Permission.EVERYONE: "That's for people on the programme's staff list.",
    Permission.SELF: "That's for the person themself: you can only answer for yourself.",
    Permission.MEMBER: "That's for the group's members: you can only answer for your own group.",
    Permission.FACILITATOR: "That's for facilitators: only a group's own facilitator can do it.",
    Permission.LEADER: (
        "That's for facilitators: only whoever runs the group's session can do it (its facilitator, "
        "or in a group that rotates facilitation, its members)."
    ),
    Permission.OVERSEER: (
        "That's for facilitators and coordinators: a group's own facilitator, or a coordinator."
    ),
    Permission.COORDINATOR: "That's for coordinators.",
}


def refusal(permission: Permission) -> str:
    """Why someone without `permission` is refused; the same words wherever the refusal happens."""
    return _REFUSALS[permission]


def refusal_to(permission: Permission, actor: Actor) -> str:
    """Why this person is refused: an external facilitator asking for a staff member's own things
    (RSVP, check-out, peers, goals) is told they are for staff."""
    if actor.external and permission is Permission.SELF:
        return _REFUSALS[Permission.EVERYONE]
    return refusal(permission)


@dataclass(frozen=True)
class Actor:
    """A recognised person and the groups they facilitate or belong to.

    `external`: someone off the staff roster who runs groups (an external facilitator). They act
    only as the facilitator of their own groups: never a member, a coordinator or a participant.
    """

    person: Person
    facilitates: tuple[Group, ...] = ()
    member_of: tuple[Group, ...] = ()
    external: bool = False

    @property
    def email(self) -> str:
        return self.person.email

    @property
    def is_coordinator(self) -> bool:
        return self.person.coordinator and self.person.active

    @property
    def is_facilitator(self) -> bool:
        """A facilitator on the roster (or of a group): what the welcome card calls them."""
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


def led_groups(actor: Actor) -> tuple[Group, ...]:
    """The groups whose sessions the actor runs: those they facilitate, and rotating groups they are in."""
    return actor.facilitates + tuple(g for g in actor.member_of if g.facilitator is None)


def roles_of(actor: Actor) -> frozenset[Role]:
    """The roles a person has in the programme right now (a facilitator or coordinator in no group
    is not also called a participant)."""
    roles = set()
    if actor.member_of or not (actor.is_facilitator or actor.is_coordinator or actor.external):
        roles.add(Role.PARTICIPANT)
    if actor.is_facilitator:
        roles.add(Role.FACILITATOR)
    if actor.is_coordinator:
        roles.add(Role.COORDINATOR)
    return frozenset(roles)


def may_use(permission: Permission, actor: Actor) -> bool:
    """Whether the person may use a command or button of this permission at all (what help offers).

    MEMBER is decided per group (`may_act_on`); anyone may try it, and someone in no group is told so.
    """
    match permission:
        case Permission.EVERYONE | Permission.MEMBER:
            return True
        case Permission.SELF:
            # A staff member's own RSVP, check-out, peer and goals: an external facilitator has none.
            return not actor.external
        case Permission.FACILITATOR:
            return bool(actor.facilitates)
        case Permission.LEADER:
            return bool(led_groups(actor))
        case Permission.OVERSEER:
            return bool(led_groups(actor)) or actor.is_coordinator
        case Permission.COORDINATOR:
            return actor.is_coordinator


def may_act_on(permission: Permission, actor: Actor, group: Group) -> bool:
    """Whether the person may take an action of this permission on this group.

    Only a group's facilitator takes its attendance (PRODUCT.md): coordinators oversee (OVERSEER,
    `coming`, the report) but run no group's session they do not lead.
    """
    match permission:
        case Permission.EVERYONE:
            return True
        case Permission.SELF:
            return not actor.external
        case Permission.MEMBER:
            return actor.email in group.members
        case Permission.FACILITATOR:
            return group.facilitator == actor.email
        case Permission.LEADER:
            return leads(actor, group)
        case Permission.OVERSEER:
            return leads(actor, group) or actor.is_coordinator
        case Permission.COORDINATOR:
            return actor.is_coordinator


def require(permission: Permission, actor: Actor, group: Group | None = None) -> None:
    """Refuse (NotAllowedError with the one wording) unless the person has `permission` (on `group`)."""
    allowed = may_use(permission, actor) if group is None else may_act_on(permission, actor, group)
    if not allowed:
        raise NotAllowedError(refusal_to(permission, actor))


def require_self(actor: Actor, email: str) -> None:
    """A person answers only for themself."""
    if actor.email != email or actor.external:
        raise NotAllowedError(refusal_to(Permission.SELF, actor))


def require_member(actor: Actor, group: Group) -> None:
    """Only members answer a group's RSVP or check-out."""
    require(Permission.MEMBER, actor, group)


def require_leader(actor: Actor, group: Group) -> None:
    """Only whoever runs the group's session (its facilitator, or in a rotating group a member)."""
    require(Permission.LEADER, actor, group)


def require_coordinator(actor: Actor) -> None:
    """Announcements, escalations and absence reasons are for coordinators only."""
    require(Permission.COORDINATOR, actor)
