"""Allocating one programme's groups, or pairing its members, in a deployment of several programmes.

`programme.formation.form_groups` and `programme.pairing.rotate_pairs` decide for one programme;
this module gives them that programme's share of the deployment and keeps the programmes apart:

- Members come from `programme.membership.members` (opt-in programmes: the people who joined one
  of its topics); staff facilitators from the whole roster (form_groups picks the ones it needs),
  and the groups they already lead in other programmes count towards their `facilitator_max_groups`
  (the limit is on a person's whole load); external facilitators only for
  `facilitation = "external"`.
- `previous` is the programme's own current groups only, so another programme's groups never
  anchor, lose or gain a member through this allocation.
- Group ids are unique across programmes: the legacy programme ("main") keeps v1's ids
  ("thu-health-coach-1"), every other programme's new groups get its id as a prefix
  ("gatherings-thu-bereavement-1"). A kept group keeps its id, and no id any group ever had (in any
  programme, current or retired) is given to a new group.
- Pairing rounds are numbered across the deployment (so a round number names one round on cards,
  in records and in message keys) and never repeat a pair from the same programme's earlier rounds;
  pairs from another programme's rounds do not count (they are a different relationship).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from programme.errors import ProgrammeChoiceError
from programme.facilitators import ExternalFacilitator
from programme.formation import form_groups
from programme.membership import members
from programme.model import Allocation, Group, PairRound, Person
from programme.pairing import rotate_pairs
from programme.programmes import (
    LEGACY_ID,
    Facilitation,
    ProgrammeDefinition,
    choose_programme,
)


def id_prefix(definition: ProgrammeDefinition) -> str:
    """What the programme's new group ids start with ("" for the legacy programme)."""
    return "" if definition.id == LEGACY_ID else f"{definition.id}-"


def allocate_programme(
    definition: ProgrammeDefinition,
    people: Iterable[Person],
    *,
    externals: Iterable[ExternalFacilitator] = (),
    joined: Mapping[str, Collection[str]] | None = None,
    current: Sequence[Group] = (),
    retired_ids: Collection[str] = frozenset(),
) -> Allocation:
    """The programme's next allocation; `current` and `retired_ids` are of every programme.

    Every group returned has `programme = definition.id`; ids of groups kept from the programme's
    current groups are unchanged, new ids are unused by any current or retired group.
    """
    everyone = list(people)
    joined = joined or {}
    opted_in = {email for emails in joined.values() for email in emails}
    own = [g for g in current if g.programme == definition.id]
    prefix = id_prefix(definition)
    taken = {g.id for g in current} | set(retired_ids)
    # The core makes unprefixed ids; it must avoid the unprefixed form of every id it could clash with.
    avoid = {t[len(prefix) :] for t in taken if t.startswith(prefix)}
    # Groups a facilitator leads in other programmes count towards their limit here.
    elsewhere = Counter(g.facilitator for g in current if g.programme != definition.id and g.facilitator)
    allocation = form_groups(
        definition,
        members(definition, everyone, opted_in),
        staff_facilitators=[p for p in everyone if p.active and p.facilitator],
        externals=externals if definition.facilitation is Facilitation.EXTERNAL else (),
        joined=joined,
        previous=own,
        retired_ids=avoid,
        load_elsewhere=elsewhere,
    )
    kept = {g.id for g in own}
    groups = tuple(
        replace(g, id=g.id if g.id in kept else f"{prefix}{g.id}", programme=definition.id)
        for g in allocation.groups
    )
    return Allocation(groups, allocation.unplaced, allocation.facilitators_needed)


def pairs_programme(programmes: Sequence[ProgrammeDefinition], wanted: str | None) -> ProgrammeDefinition:
    """The programme a pairs command means: the one named (it must have pairs), or the only one with
    pairs (ProgrammeChoiceError when none has, or several have and none is named)."""
    with_pairs = [p for p in programmes if p.has_pairs]
    if wanted is not None:
        definition = choose_programme(programmes, wanted)
        if not definition.has_pairs:
            others = ", ".join(p.id for p in with_pairs) or "none"
            raise ProgrammeChoiceError(
                f"programme {definition.id!r} has no peer pairs (programmes with pairs: {others})"
            )
        return definition
    if len(with_pairs) == 1:
        return with_pairs[0]
    if not with_pairs:
        raise ProgrammeChoiceError('no programme runs peer pairs (kind = "pairs" in the settings)')
    ids = ", ".join(p.id for p in with_pairs)
    raise ProgrammeChoiceError(f"several programmes have peer pairs ({ids}): say which with --programme ID")


def pairing_round(
    definition: ProgrammeDefinition,
    people: Iterable[Person],
    *,
    history: Sequence[PairRound],
    number: int,
    today: date,
    opted_in: Collection[str] = (),
) -> PairRound:
    """The programme's next round among its members, numbered `number`; `history` is its own rounds."""
    own = [r for r in history if r.programme == definition.id]
    round_ = rotate_pairs(members(definition, people, opted_in), own, today, definition.settings)
    return replace(round_, number=number, programme=definition.id)
