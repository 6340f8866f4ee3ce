"""Who an announcement reaches: everyone, a role, a weekday, a group, or the facilitators."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from programme.errors import UnknownAudienceError
from programme.model import Group, Person, weekday_name
from programme.weekdays import parse_weekday


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    ROLE = "role"
    WEEKDAY = "weekday"
    GROUP = "group"
    FACILITATORS = "facilitators"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    value: str = ""

    def describe(self) -> str:
        """Human wording, e.g. "the Health Coach role"."""
        if self.kind is AudienceKind.EVERYONE:
            return "everyone"
        if self.kind is AudienceKind.FACILITATORS:
            return "the facilitators"
        return f"{self.kind.value} {self.value}"


def resolve_audience(
    audience: Audience, people: Iterable[Person], groups: Iterable[Group], external: Collection[str] = ()
) -> list[str]:
    """The active people an announcement goes to, sorted; unknown names are errors, not empty lists.

    `external` are the external facilitators' emails: not staff, so never in "everyone" or a role,
    but the facilitators of their groups (the facilitators, a weekday's or a group's audience).
    """
    active = {p.email: p for p in people if p.active}
    groups = list(groups)
    if audience.kind is AudienceKind.EVERYONE:
        chosen = set(active)
    elif audience.kind is AudienceKind.FACILITATORS:
        chosen = {e for e, p in active.items() if p.facilitator} | {
            g.facilitator for g in groups if g.facilitator
        }
    elif audience.kind is AudienceKind.ROLE:
        wanted = audience.value.strip().lower()
        chosen = {e for e, p in active.items() if p.role.lower() == wanted}
        if not chosen:
            raise UnknownAudienceError(f"No active staff have the role {audience.value!r}.")
    elif audience.kind is AudienceKind.WEEKDAY:
        day = parse_weekday(audience.value)
        if day is None:
            raise UnknownAudienceError(f"{audience.value!r} is not a weekday.")
        meeting = [g for g in groups if g.weekday == day]
        if not meeting:
            raise UnknownAudienceError(f"No groups meet on {weekday_name(day)}.")
        chosen = {m for g in meeting for m in g.members} | {g.facilitator for g in meeting if g.facilitator}
    else:
        found = [g for g in groups if audience.value.strip().lower() in (g.id.lower(), g.name.lower())]
        if not found:
            raise UnknownAudienceError(f"There is no group {audience.value!r}.")
        chosen = set(found[0].members) | ({found[0].facilitator} if found[0].facilitator else set())
    return sorted(e for e in chosen if e in active or e in external)
