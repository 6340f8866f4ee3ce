"""Synthetic, realistic staff rosters for the benchmarks (deterministic for a given seed)."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from typing import TypeVar

from programme.model import Person

T = TypeVar("T")

# The date the benchmarks treat as "today" (probation is judged against it).
TODAY = date(2026, 11, 23)

# ~15 roles with skewed sizes, including similar names that small cohorts can join.
ROLES = (
    ("Health Coach", 22),
    ("Adult Weight Management Practitioner", 16),
    ("Stop Smoking Advisor", 12),
    ("Client Services Advisor", 9),
    ("Diabetes Prevention Practitioner", 8),
    ("Wellbeing Practitioner", 7),
    ("Physical Activity Specialist", 6),
    ("Senior Health Coach", 5),
    ("Team Leader", 4),
    ("Data Analyst", 3),
    ("Senior Team Leader", 2),
    ("Service Manager", 2),
    ("Quality Lead", 2),
    ("Digital Health Coach", 1),
    ("Clinical Lead", 1),
)
SERVICES = (("Central", 30), ("North", 20), ("South", 20), ("East", 12), ("West", 12), ("Digital", 6))
# (hours per week, weight): full time most common, then the usual part-time patterns.
HOURS = ((37.5, 58), (30.0, 12), (22.5, 10), (15.0, 6), (32.5, 5), (25.0, 4), (18.75, 3), (7.5, 2))
FIRST = ("Uma", "Ben", "Dev", "Femi", "Tom", "Liam", "Katie", "Eilidh", "Priya", "Jonas", "Niamh", "Rhys")
LAST = ("Brown", "Clarke", "Hughes", "Roberts", "Davies", "Green", "Jones", "O'Brien", "Patel", "Young")
WEEKDAYS = (0, 1, 2, 3, 4)
THURSDAY, TUESDAY = 3, 1


def _pick(rng: random.Random, table: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def _working_days(rng: random.Random, hours: float | None) -> frozenset[int]:
    if rng.random() < 0.05:
        return frozenset()  # the roster did not say: a standard week
    count = 5 if hours is None else max(1, min(5, round(hours / 7.5)))
    if count == 5:
        return frozenset(WEEKDAYS)
    # Part-timers work Thursday ~62% of the time, which puts ~85% of all staff on Thursday; those
    # who don't mostly work Tuesday, leaving a few percent on neither programme day.
    days = {THURSDAY} if rng.random() < 0.62 else ({TUESDAY} if rng.random() < 0.8 else set())
    others = [d for d in WEEKDAYS if d not in days and d != THURSDAY and (days or d != TUESDAY)]
    rng.shuffle(others)
    days.update(others[: count - len(days)])
    return frozenset(days)


def _local(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def synthetic_roster(n: int, seed: int) -> list[Person]:
    """n active people with skewed roles, realistic hours and working days, a few facilitators."""
    rng = random.Random(seed)
    people: list[Person] = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        hours = None if rng.random() < 0.03 else _pick(rng, HOURS)
        if rng.random() < 0.05:
            # ~5% still in probation on TODAY (they receive a peer but are nobody's peer).
            start = TODAY - timedelta(days=rng.randint(2, 181))
            probation_end: date | None = start + timedelta(days=182)
        else:
            start = TODAY - timedelta(days=rng.randint(200, 3650))
            probation_end = start + timedelta(days=182) if rng.random() < 0.5 else None
        people.append(
            Person(
                email=f"{_local(first)}.{_local(last)}{i}@example.org",
                name=f"{first} {last}",
                role=_pick(rng, ROLES),
                service=_pick(rng, SERVICES),
                working_days=_working_days(rng, hours),
                hours_per_week=hours,
                start_date=start,
                probation_end=probation_end,
                facilitator=rng.random() < 0.02,
                coordinator=rng.random() < 0.005,
                aad_object_id=f"00000000-0000-4000-8000-{i:012d}",
                timezone="Europe/London",
            )
        )
    return people
