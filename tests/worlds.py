"""The set-up the use-case tests share: a roster written row by row, the services over a real store,
groups placed by hand, and the person acting.

Each test module states its own people (who facilitates, who coordinates, who is in probation) as
`Row`s, so what a test depends on stays visible in the test, and the CSV layout, the wiring and
the way groups are stored are written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cards.outbound import CardMessages
from programme.model import LEGACY_PROGRAMME, Allocation, Group, Pair, PairRound
from programme.policies import Actor
from programme.programmes import ProgrammeDefinition
from programme.settings import ProgrammeSettings
from repositories.groups import GroupsRepository
from service.services import Services
from store import Store

WEEKDAYS = "Mon Tue Wed Thu Fri"
# The names our rosters give the usual cast, so cards and emails can be checked for them.
NAMES = {
    "fay": "Fay Lead",
    "ann": "Ann Able",
    "bo": "Bo Bright",
    "cy": "Cy Calm",
    "di": "Di Dean",
    "ed": "Ed Eager",
    "pia": "Pia New",
}
_HEADER = "email,name,role,working_days,hours_per_week,probation_end,facilitator,coordinator,aad_object_id"


def email(key: str) -> str:
    """The roster email of a person of the usual cast."""
    return f"{key}@x.org"


@dataclass(frozen=True)
class Row:
    """One roster line. `hours` None leaves hours_per_week blank (as a roster without the column)."""

    key: str
    facilitator: bool = False
    coordinator: bool = False
    hours: float | None = None
    days: str = WEEKDAYS
    probation_end: str = ""
    name: str = ""
    role: str = "Coach"
    aad_object_id: str = ""

    @property
    def email(self) -> str:
        return email(self.key)

    def line(self) -> str:
        name = self.name or NAMES.get(self.key, self.key.title())
        hours = "" if self.hours is None else f"{self.hours:g}"
        flags = ",".join("yes" if flag else "no" for flag in (self.facilitator, self.coordinator))
        return (
            f"{self.email},{name},{self.role},{self.days},{hours},{self.probation_end},{flags},"
            f"{self.aad_object_id}"
        )


def gatherings_settings(facilitated: str = "reflection") -> str:
    """Two programmes as settings: staff-facilitated groups with themes (id `facilitated`), and the
    opt-in gatherings of seed 001 (id "gatherings": two topics, meets from 3, Wednesdays 12:30-13:30,
    a member keeps time). Shared by the gatherings tests in-process and in the Playground."""
    return f"""
[[programmes]]
id = "{facilitated}"
name = "Peer reflection"
themes = ["Workload", "Referrals", "Training"]

[[programmes]]
id = "gatherings"
name = "Co-reflection gatherings"
formation = "topic"
membership = "opt-in"
topics = ["Bereavement", "Caring for someone"]
minimum_to_meet = 3
weekday = "Wednesday"
time = "12:30"
duration_minutes = 60
"""


# The coaches most use-case tests start from: Fay facilitates, Di coordinates, all on weekdays.
COACHES = (
    Row("fay", facilitator=True, hours=37.5),
    Row("ann", hours=37.5),
    Row("bo", hours=30),
    Row("cy", hours=30),
    Row("di", coordinator=True, hours=22.5),
)


# Ann supports Pia, who is in probation (receives only); Bo and Cy are mutual peers; Di coordinates.
PEERS = (
    Row("ann", hours=37.5),
    Row("pia", hours=37.5, probation_end="2027-06-01"),
    Row("bo", hours=30),
    Row("cy", hours=30),
    Row("di", coordinator=True, hours=22.5),
)
PROBATION_ROUND = PairRound(
    1,
    date(2026, 11, 1),
    (Pair((email("ann"), email("pia")), (email("pia"),)), Pair((email("bo"), email("cy")))),
)


def roster_csv(rows: Iterable[Row]) -> bytes:
    """The roster file of these rows, as an HR export would have it."""
    return ("\n".join([_HEADER, *(row.line() for row in rows)]) + "\n").encode()


def build_services(
    store: Store,
    clock: Callable[[], datetime],
    rows: Iterable[Row],
    settings: ProgrammeSettings | None = None,
    *,
    allocate: bool = True,
    programmes: Sequence[ProgrammeDefinition] = (),
) -> Services:
    """The services over `store` with the roster of `rows` imported (and groups allocated) at `clock()`;
    `programmes`: the deployment's programmes (none: the one `settings` describes, as in v1)."""
    services = Services.build(
        store, settings or ProgrammeSettings(), clock, messages=CardMessages(), programmes=programmes
    )
    services.programme.import_roster(roster_csv(rows), "roster.csv", clock())
    if allocate:
        services.programme.allocate(clock())
    return services


def place_groups(store: Store, groups: Iterable[Group], now: datetime) -> None:
    """Make `groups` the current ones, as allocations of their programmes that came out that way would."""
    repo = GroupsRepository(store)
    by_programme: dict[str, list[Group]] = {g.programme: [] for g in repo.groups()}
    for group in groups:
        by_programme.setdefault(group.programme, []).append(group)
    for programme, own in (by_programme or {LEGACY_PROGRAMME: []}).items():
        repo.save_allocation(Allocation(tuple(own), ()), now, programme)


def actor(services: Services, who: str) -> Actor:
    """The person with this email (or usual-cast key) with the groups they lead and belong to."""
    address = who if "@" in who else email(who)
    return services.programme.actor(services.programme.people()[address])
