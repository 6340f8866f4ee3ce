"""Facilitator assignment: a small max-flow over facilitator -> weekday, never facilitator x group.

All of a weekday's groups meet at the same time, so they are interchangeable for the constraints
(a facilitator works that weekday, leads at most one group on it and at most `max_groups` in all,
counting the groups they lead in other programmes: `load_elsewhere`).
The flow network is source -> facilitator (capacity: max_groups less their load elsewhere) ->
weekday (capacity 1, if they work it) -> sink (capacity: the weekday's number of groups). It has at
most seven weekday nodes, so an augmenting path is a breadth-first search over weekdays; facilitator
nodes are left implicit.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from programme.model import Group, Person


def assign_facilitators(
    groups: Sequence[Group],
    facilitators: Iterable[Person],
    max_groups: int,
    previous: Mapping[str, str] | None = None,
    load_elsewhere: Mapping[str, int] | None = None,
) -> tuple[tuple[Group, ...], dict[int, int]]:
    """Facilitate as many groups as possible; return the groups (input order) and weekday shortfalls.

    `load_elsewhere` counts the groups each facilitator already leads in other programmes: the limit
    is on their whole load, so a facilitator at it leads none here.
    """
    demand = Counter(g.weekday for g in groups)
    # Ties between weekdays go to the one whose groups come first (the caller's weekday order).
    order = list(demand)
    workable: dict[str, list[int]] = {}
    room: dict[str, int] = {}
    for person in sorted(facilitators, key=lambda p: p.email):
        days = [d for d in order if person.works(d)]
        spare = max_groups - (load_elsewhere or {}).get(person.email, 0)
        if days and spare > 0:
            workable[person.email] = days
            room[person.email] = spare
    days_of: dict[str, set[int]] = {email: set() for email in workable}
    on_day: dict[int, set[str]] = {d: set() for d in order}

    # `previous` maps group id -> last facilitator. Still-valid pairs start the flow, so a
    # facilitator changes group only when that lets more groups have one.
    kept: dict[str, str] = {}
    for group in sorted(groups, key=lambda g: g.id):
        email = (previous or {}).get(group.id)
        if (
            email in workable
            and group.weekday in workable[email]
            and group.weekday not in days_of[email]
            and len(days_of[email]) < room[email]
        ):
            days_of[email].add(group.weekday)
            on_day[group.weekday].add(email)
            kept[group.id] = email

    # A greedy start spreads the load (weekday with the largest shortfall first); augmenting paths
    # then make the total maximal whatever the greedy choice was.
    for email, days in workable.items():
        while len(days_of[email]) < room[email]:
            open_days = [d for d in days if d not in days_of[email] and len(on_day[d]) < demand[d]]
            if not open_days:
                break
            day = max(open_days, key=lambda d: demand[d] - len(on_day[d]))
            days_of[email].add(day)
            on_day[day].add(email)
    while _augment(workable, days_of, on_day, demand, room):
        pass

    chosen: dict[str, str] = {}
    by_day: dict[int, list[Group]] = {d: [] for d in order}
    for group in sorted(groups, key=lambda g: g.id):
        by_day[group.weekday].append(group)
    for day, day_groups in by_day.items():
        for group in day_groups:
            email = kept.get(group.id)
            if email is not None and email in on_day[day]:
                chosen[group.id] = email
        free = iter(sorted(on_day[day] - set(chosen.get(g.id) for g in day_groups)))
        for group in day_groups:
            if group.id not in chosen:
                email = next(free, None)
                if email is None:
                    break
                chosen[group.id] = email
    needed = {d: demand[d] - len(on_day[d]) for d in order if len(on_day[d]) < demand[d]}
    return tuple(replace(g, facilitator=chosen.get(g.id)) for g in groups), needed


def _augment(
    workable: Mapping[str, list[int]],
    days_of: Mapping[str, set[int]],
    on_day: Mapping[int, set[str]],
    demand: Mapping[int, int],
    room: Mapping[str, int],
) -> bool:
    """Find one augmenting path over weekdays and apply it; False when the flow is maximal."""
    # parent[day] = (facilitator who takes `day`, the weekday they give up or None if from spare load)
    parent: dict[int, tuple[str, int | None]] = {}
    queue: deque[int] = deque()
    for email, days in workable.items():
        if len(days_of[email]) < room[email]:
            for day in days:
                if day not in days_of[email] and day not in parent:
                    parent[day] = (email, None)
                    queue.append(day)
        if len(parent) == len(demand):
            break
    while queue:
        day = queue.popleft()
        if len(on_day[day]) < demand[day]:
            while True:
                email, given_up = parent[day]
                days_of[email].add(day)
                on_day[day].add(email)
                if given_up is None:
                    return True
                days_of[email].discard(given_up)
                on_day[given_up].discard(email)
                day = given_up
        for email in sorted(on_day[day]):
            for other in workable[email]:
                if other not in days_of[email] and other not in parent:
                    parent[other] = (email, day)
                    queue.append(other)
    return False
