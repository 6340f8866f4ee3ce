"""Forming a programme's groups: by role (v1), by existing team, or by topic for opt-in gatherings.

All three reuse `programme.allocation.allocate_groups` for the hard parts it already gets right
(balanced splits of at most `max_group_size`, stable membership from one allocation to the next,
readable ids that are never reused), by choosing what counts as a person's "role" (the cohort):

- role: the roster role, exactly as v1.
- team: the roster service, so each existing team is a cohort. A team of up to the maximum is one
  group; a larger one splits into balanced groups; a team below `min_group_size` joins the team
  with the most similar name as a whole (allocation's unit merging), so teams stay together
  wherever the sizes allow. People with no service on the roster have no team and are unplaced.
- topic: each topic with at least `minimum_to_meet` joined members is a cohort meeting on the
  programme weekday (people chose to come, so their working days do not move them); a topic
  below its minimum does not meet yet, and its people are listed as waiting. All of a
  programme's gatherings meet at the same time, so a person sits in one gathering per programme:
  the first topic, in the programme's order, that meets (joining another should switch topics).

Facilitation is applied afterwards and the same way for every formation: staff facilitators
from the roster (facilitator-flagged staff then lead rather than take part, as in v1; in a
gathering, a facilitator who joined it takes part and leads none of that programme's), external
facilitators from their own list (staff all take part), or none (rotating: a member keeps time).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from programme.allocation import allocate_groups
from programme.facilitation import assign_facilitators
from programme.facilitators import ExternalFacilitator
from programme.model import Allocation, Group, Person, Unplaced
from programme.programmes import Facilitation, Formation, ProgrammeDefinition

NO_TEAM = "has no team: the roster gives no service"
_EVERY_DAY = frozenset(range(7))


def form_groups(
    definition: ProgrammeDefinition,
    members: Iterable[Person],
    *,
    staff_facilitators: Iterable[Person] = (),
    externals: Iterable[ExternalFacilitator] = (),
    joined: Mapping[str, Collection[str]] | None = None,
    previous: Sequence[Group] = (),
    retired_ids: Collection[str] = frozenset(),
    load_elsewhere: Mapping[str, int] | None = None,
) -> Allocation:
    """The programme's groups from its `members` (see `programme.membership.members`).

    `staff_facilitators` are the roster's facilitators (for staff facilitation), `externals` the
    external list (for external facilitation); `joined` maps each topic to the emails that
    joined it (for topic formation); `previous` are the programme's current groups;
    `load_elsewhere` counts the groups each facilitator leads in other programmes (their limit,
    `facilitator_max_groups`, is on the whole load).
    """
    if not definition.has_groups:
        return Allocation((), ())
    everyone = [p for p in members if p.active]
    if definition.facilitation is Facilitation.STAFF and definition.formation is not Formation.TOPIC:
        # As in v1: a staff facilitator leads groups and is not a member of one.
        participants = [p for p in everyone if not p.facilitator]
        pool = [p for p in staff_facilitators if p.active and p.facilitator]
    elif definition.facilitation is Facilitation.STAFF:
        # A facilitator who joined a gathering chose to take part in it; the others lead.
        participants = [replace(p, facilitator=False) if p.facilitator else p for p in everyone]
        taking_part = {p.email for p in everyone}
        pool = [p for p in staff_facilitators if p.active and p.facilitator and p.email not in taking_part]
    else:
        participants = [replace(p, facilitator=False) if p.facilitator else p for p in everyone]
        pool = [e.as_person() for e in externals] if definition.facilitation is Facilitation.EXTERNAL else []

    if definition.formation is Formation.ROLE:
        allocation = allocate_groups(participants, definition.settings, previous, retired_ids)
    elif definition.formation is Formation.TEAM:
        allocation = _by_team(definition, participants, previous, retired_ids)
    else:
        allocation = _by_topic(definition, participants, joined or {}, previous, retired_ids)
    return _facilitate(definition, allocation, pool, previous, load_elsewhere or {})


def _by_team(
    definition: ProgrammeDefinition,
    participants: list[Person],
    previous: Sequence[Group],
    retired_ids: Collection[str],
) -> Allocation:
    with_team = [replace(p, role=p.service) for p in participants if p.service]
    no_team = [Unplaced(p.email, NO_TEAM) for p in participants if not p.service]
    allocation = allocate_groups(with_team, definition.settings, previous, retired_ids)
    unplaced = sorted([*allocation.unplaced, *no_team], key=lambda u: u.email)
    return Allocation(allocation.groups, tuple(unplaced))


def _by_topic(
    definition: ProgrammeDefinition,
    participants: list[Person],
    joined: Mapping[str, Collection[str]],
    previous: Sequence[Group],
    retired_ids: Collection[str],
) -> Allocation:
    settings = replace(
        definition.settings,
        fallback_weekdays=(),
        min_group_size=min(definition.settings.min_group_size, definition.minimum_to_meet),
    )
    by_email = {p.email: p for p in participants}
    placed: set[str] = set()
    waiting: dict[str, str] = {}
    groups: list[Group] = []
    used_ids = set(retired_ids)
    for topic in definition.topics:
        people = [by_email[e] for e in sorted(set(joined.get(topic, ())) - placed) if e in by_email]
        if len(people) < definition.minimum_to_meet:
            for person in people:
                waiting.setdefault(
                    person.email,
                    f'the "{topic}" gathering meets once {definition.minimum_to_meet} have joined '
                    f"({len(people)} so far)",
                )
            continue
        cohort = [replace(p, role=topic, working_days=_EVERY_DAY) for p in people]
        allocation = allocate_groups(cohort, settings, previous, used_ids)
        groups.extend(allocation.groups)
        used_ids.update(g.id for g in allocation.groups)
        placed.update(m for g in allocation.groups for m in g.members)
    unplaced = [Unplaced(email, reason) for email, reason in sorted(waiting.items()) if email not in placed]
    return Allocation(tuple(groups), tuple(unplaced))


def _facilitate(
    definition: ProgrammeDefinition,
    allocation: Allocation,
    pool: list[Person],
    previous: Sequence[Group],
    load_elsewhere: Mapping[str, int],
) -> Allocation:
    groups = tuple(replace(g, facilitator=None) for g in allocation.groups)
    if definition.facilitation is Facilitation.ROTATING:
        return Allocation(groups, allocation.unplaced)
    last_time = {g.id: g.facilitator for g in previous if g.facilitator is not None}
    facilitated, needed = assign_facilitators(
        groups, pool, definition.settings.facilitator_max_groups, last_time, load_elsewhere
    )
    return Allocation(facilitated, allocation.unplaced, needed)
