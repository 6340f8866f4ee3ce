"""Several programmes in one deployment: what each one is, parsed from the settings file.

Organisations mix programme shapes (monthly role groups for client-facing staff, opt-in
gatherings on a shared experience, externally facilitated team groups every few weeks, peer
pairs), so each programme carries its own shape and its own `ProgrammeSettings`; the existing
allocation, pairing and calendar code then runs per programme on `definition.settings`.

Settings file shape
-------------------
Either the v1 single table, which stays valid and becomes exactly one programme with id
`main` doing what v1 did (role groups *and* peer pairs, everyone, staff facilitators, Teams)::

    [programme]
    weekday = "Thursday"
    ...                      # every ProgrammeSettings key, as in reflect.example.toml

or an array of programme tables, in the order that settles clashes (an earlier programme keeps
its time, a later one moves to its fallback weekday)::

    [programme]              # optional here: ProgrammeSettings defaults every programme shares
    send_time = "09:00"

    [[programmes]]
    id = "reflection"        # required; lower-case letters, digits and "-", at most 40 characters
    name = "Peer reflection" # shown on cards and in reports; default: the id
    kind = "groups"          # "groups", "pairs", or ["groups", "pairs"]
    membership = "roles"     # "everyone" (default), "roles", "services" or "opt-in"
    roles = ["Health Coach"] # with membership = "roles" (matched ignoring case and spacing)
    services = ["North"]     # with membership = "services"
    formation = "role"       # groups only: "role" (default), "team" (by service) or "topic"
    topics = ["Bereavement"] # formation = "topic": the gatherings people can join
    minimum_to_meet = 3      # formation = "topic": a gathering meets once this many joined
                             #     (2 to max_group_size; default min_group_size)
    facilitation = "staff"   # "staff" (default; "rotating" for topics), "external" or "rotating"
    venue = "teams"          # "teams" (default), or the name of a place to meet in person
    themes = ["Workload"]    # systemic themes facilitators can record after a session
    cadence = "monthly"      # "monthly" (the Nth weekday, week_of_month) or "every_n_weeks"
    every_weeks = 6          # cadence = "every_n_weeks": weeks between sessions, 1 (weekly) to
                             #     12; each session is keyed by its date ("2027-03-11")
    anchor = 2027-01-14      # cadence = "every_n_weeks": the first session, on `weekday`
    weekday = "Thursday"     # ... and any ProgrammeSettings key (weekday, fallback_weekdays,
    duration_minutes = 90    #     time, timezone, max_group_size, min_group_size, ...),
                             #     overriding the shared [programme] values

Unknown keys are errors, and every error names the programme and the key. (The block above is a
key reference, not one valid programme; `FOUR_SEEDS` in tests/test_programmes.py writes the four
seed programmes as settings.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from programme.errors import NotFoundError, ProgrammeChoiceError, SettingsError
from programme.model import LEGACY_PROGRAMME, weekday_name
from programme.roster import character_problem
from programme.settings import ProgrammeSettings, parse_date, parse_programme_settings

LEGACY_ID = LEGACY_PROGRAMME
LEGACY_NAME = "Peer reflection"
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
ONLINE_VENUE = "teams"
_E = TypeVar("_E", bound=StrEnum)
MAX_THEMES = 30
MAX_EVERY_WEEKS = 12


class Kind(StrEnum):
    """What a programme runs: facilitated groups, or peer pairs."""

    GROUPS = "groups"
    PAIRS = "pairs"


class MembershipMode(StrEnum):
    """Who is in a programme."""

    EVERYONE = "everyone"
    ROLES = "roles"
    SERVICES = "services"
    OPT_IN = "opt-in"


class Formation(StrEnum):
    """How a groups programme forms its groups."""

    ROLE = "role"  # similar roles together (v1)
    TEAM = "team"  # existing teams: the roster's service
    TOPIC = "topic"  # opt-in gatherings around a shared experience


class Facilitation(StrEnum):
    """Who runs a group's sessions."""

    STAFF = "staff"  # trained staff facilitators from the roster
    EXTERNAL = "external"  # facilitators from outside, on their own list
    ROTATING = "rotating"  # a member keeps time, a different one each session


class CadenceKind(StrEnum):
    """How often sessions happen."""

    MONTHLY = "monthly"
    EVERY_N_WEEKS = "every_n_weeks"


@dataclass(frozen=True)
class Membership:
    """Who is in the programme; `values` are the listed roles or services, in roster spelling."""

    mode: MembershipMode = MembershipMode.EVERYONE
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cadence:
    """Monthly on the Nth weekday (`settings.week_of_month`), or every N weeks from an anchor date."""

    kind: CadenceKind = CadenceKind.MONTHLY
    every_weeks: int | None = None
    anchor: date | None = None


@dataclass(frozen=True)
class Venue:
    """Where sessions happen: online in Teams (`place` None), or in person at a named place."""

    place: str | None = None

    @property
    def online(self) -> bool:
        return self.place is None


@dataclass(frozen=True)
class ProgrammeDefinition:
    """One programme of the deployment: its shape plus the settings the v1 core already runs on."""

    id: str
    name: str
    kinds: frozenset[Kind] = frozenset({Kind.GROUPS})
    membership: Membership = field(default_factory=Membership)
    formation: Formation = Formation.ROLE
    topics: tuple[str, ...] = ()
    minimum_to_meet: int = 3
    facilitation: Facilitation = Facilitation.STAFF
    venue: Venue = field(default_factory=Venue)
    themes: tuple[str, ...] = ()
    cadence: Cadence = field(default_factory=Cadence)
    settings: ProgrammeSettings = field(default_factory=ProgrammeSettings)

    @property
    def has_groups(self) -> bool:
        """Whether the programme sends group invites at all (a pairs-only one does not)."""
        return Kind.GROUPS in self.kinds

    @property
    def has_pairs(self) -> bool:
        """Whether the programme runs pairing rounds (a groups-only one sends no pair prompts)."""
        return Kind.PAIRS in self.kinds


def legacy_programme(settings: ProgrammeSettings) -> ProgrammeDefinition:
    """The v1 deployment as one programme: role groups and pairs for everyone, staff-led, in Teams.

    Every ProgrammeSettings value is carried unchanged, so the v1 core behaves exactly as before.
    """
    return ProgrammeDefinition(
        id=LEGACY_ID,
        name=LEGACY_NAME,
        kinds=frozenset({Kind.GROUPS, Kind.PAIRS}),
        settings=settings,
    )


# Keys of a [[programmes]] table that describe the programme; every other key is a ProgrammeSettings one.
_DEFINITION_KEYS = frozenset(
    {
        "id",
        "name",
        "kind",
        "membership",
        "roles",
        "services",
        "formation",
        "topics",
        "minimum_to_meet",
        "facilitation",
        "venue",
        "themes",
        "cadence",
        "every_weeks",
        "anchor",
    }
)


def parse_programmes(data: Mapping[str, Any]) -> tuple[ProgrammeDefinition, ...]:
    """The programmes of a parsed settings file (its top-level mapping), in definition order."""
    shared = data.get("programme", {})
    if not isinstance(shared, Mapping):
        raise SettingsError(f"[programme]: expected a table, got {shared!r}")
    if "programmes" not in data:
        try:
            return (legacy_programme(parse_programme_settings(shared)),)
        except SettingsError as error:
            raise SettingsError(f"[programme] {error}") from None
    tables = data["programmes"]
    if not isinstance(tables, list) or not tables:
        raise SettingsError("[[programmes]]: expected one or more [[programmes]] tables")
    try:
        # Checked on its own first, so a bad shared value is reported once, against [programme].
        parse_programme_settings(shared)
    except SettingsError as error:
        raise SettingsError(f"[programme] {error}") from None
    programmes: list[ProgrammeDefinition] = []
    seen: set[str] = set()
    for position, table in enumerate(tables, start=1):
        if not isinstance(table, Mapping):
            raise SettingsError(f"[[programmes]] #{position}: expected a table, got {table!r}")
        definition = parse_programme(table, shared, position)
        if definition.id in seen:
            raise SettingsError(f'[[programmes]] #{position}: id "{definition.id}" is used twice')
        seen.add(definition.id)
        programmes.append(definition)
    return tuple(programmes)


def parse_programme(
    table: Mapping[str, Any], shared: Mapping[str, Any] | None = None, position: int = 1
) -> ProgrammeDefinition:
    """One [[programmes]] table; `shared` holds the [programme] defaults its own keys override."""
    raw_id = table.get("id")
    if not isinstance(raw_id, str) or not _ID.match(raw_id):
        raise SettingsError(
            f"[[programmes]] #{position}: id: expected lower-case letters, digits and '-' "
            f"(at most 40), got {raw_id!r}"
        )
    where = f'[[programmes]] "{raw_id}"'
    try:
        return _definition(raw_id, table, shared or {})
    except SettingsError as error:
        raise SettingsError(f"{where}: {error}") from None


def _definition(
    programme_id: str, table: Mapping[str, Any], shared: Mapping[str, Any]
) -> ProgrammeDefinition:
    settings_keys = {k: v for k, v in table.items() if k not in _DEFINITION_KEYS}
    settings = parse_programme_settings({**shared, **settings_keys})
    name = _text("name", table.get("name", programme_id))
    kinds = _kinds(table.get("kind", Kind.GROUPS.value))
    membership = _membership(table)
    formation = _choice("formation", table.get("formation", Formation.ROLE.value), Formation)
    default_facilitation = Facilitation.ROTATING if formation is Formation.TOPIC else Facilitation.STAFF
    facilitation = _choice(
        "facilitation", table.get("facilitation", default_facilitation.value), Facilitation
    )
    topics = _texts("topics", table.get("topics", []))
    minimum = table.get("minimum_to_meet", settings.min_group_size)
    if (
        isinstance(minimum, bool)
        or not isinstance(minimum, int)
        or not 2 <= minimum <= settings.max_group_size
    ):
        raise SettingsError(
            f"minimum_to_meet: expected a whole number from 2 to max_group_size "
            f"({settings.max_group_size}), got {minimum!r}"
        )
    if formation is Formation.TOPIC:
        if not topics:
            raise SettingsError('topics: formation = "topic" needs at least one topic')
        if membership.mode is not MembershipMode.OPT_IN:
            raise SettingsError('membership: formation = "topic" is opt-in; set membership = "opt-in"')
    elif "topics" in table or "minimum_to_meet" in table:
        key = "topics" if "topics" in table else "minimum_to_meet"
        raise SettingsError(f'{key}: only for formation = "topic"')
    if Kind.GROUPS not in kinds and ("formation" in table or "facilitation" in table):
        key = "formation" if "formation" in table else "facilitation"
        raise SettingsError(f'{key}: only for a programme with kind "groups"')
    if Kind.PAIRS in kinds and formation is Formation.TOPIC:
        raise SettingsError("kind: topic gatherings are groups; pairs need a programme of their own")
    themes = _texts("themes", table.get("themes", []))
    if len(themes) > MAX_THEMES:
        raise SettingsError(f"themes: at most {MAX_THEMES}, got {len(themes)}")
    return ProgrammeDefinition(
        id=programme_id,
        name=name,
        kinds=kinds,
        membership=membership,
        formation=formation,
        topics=topics,
        minimum_to_meet=minimum,
        facilitation=facilitation,
        venue=_venue(table.get("venue", ONLINE_VENUE)),
        themes=themes,
        cadence=_cadence(table, settings),
        settings=settings,
    )


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{key}: expected some text, got {value!r}")
    problem = character_problem(key, value)
    if problem is not None:
        raise SettingsError(problem)
    return " ".join(value.split())


def _texts(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SettingsError(f"{key}: expected a list, got {value!r}")
    texts = [_text(key, item) for item in value]
    folded = [t.casefold() for t in texts]
    duplicates = sorted({t for t, f in zip(texts, folded, strict=True) if folded.count(f) > 1})
    if duplicates:
        raise SettingsError(f"{key}: listed twice: {', '.join(duplicates)}")
    return tuple(texts)


def _choice(key: str, value: Any, enum: type[_E]) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(f'"{member.value}"' for member in enum)
        raise SettingsError(f"{key}: expected one of {allowed}, got {value!r}") from None


def _kinds(value: Any) -> frozenset[Kind]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SettingsError('kind: expected "groups", "pairs" or both')
    return frozenset(_choice("kind", v, Kind) for v in values)


def _membership(table: Mapping[str, Any]) -> Membership:
    mode = _choice("membership", table.get("membership", MembershipMode.EVERYONE.value), MembershipMode)
    for key, needs in (("roles", MembershipMode.ROLES), ("services", MembershipMode.SERVICES)):
        if key in table and mode is not needs:
            raise SettingsError(f'{key}: only with membership = "{needs.value}"')
    if mode in (MembershipMode.ROLES, MembershipMode.SERVICES):
        values = _texts(mode.value, table.get(mode.value, []))
        if not values:
            raise SettingsError(f'{mode.value}: membership = "{mode.value}" needs a list of {mode.value}')
        return Membership(mode, values)
    return Membership(mode)


def _venue(value: Any) -> Venue:
    place = _text("venue", value)
    return Venue() if place.casefold() == ONLINE_VENUE else Venue(place)


def _cadence(table: Mapping[str, Any], settings: ProgrammeSettings) -> Cadence:
    kind = _choice("cadence", table.get("cadence", CadenceKind.MONTHLY.value), CadenceKind)
    if kind is CadenceKind.MONTHLY:
        for key in ("every_weeks", "anchor"):
            if key in table:
                raise SettingsError(f'{key}: only with cadence = "every_n_weeks"')
        return Cadence()
    if "week_of_month" in table:
        raise SettingsError('week_of_month: only with cadence = "monthly"')
    every = table.get("every_weeks")
    # Each session is keyed by its own date (its *period*, programme.sessions), so a month may hold
    # several: weekly (1) to quarterly-ish (12).
    if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= MAX_EVERY_WEEKS:
        raise SettingsError(
            f"every_weeks: expected a whole number of weeks from 1 (weekly) to {MAX_EVERY_WEEKS}, "
            f"got {every!r}"
        )
    if "anchor" not in table:
        raise SettingsError('anchor: cadence = "every_n_weeks" needs the date of the first session')
    anchor = parse_date("anchor", table["anchor"])
    if anchor.weekday() != settings.weekday:
        raise SettingsError(
            f"anchor: {anchor.isoformat()} is a {weekday_name(anchor.weekday())}, "
            f"not the programme weekday ({weekday_name(settings.weekday)})"
        )
    return Cadence(kind, every, anchor)


def choose_programme(programmes: Sequence[ProgrammeDefinition], wanted: str | None) -> ProgrammeDefinition:
    """The programme a command means: `--programme ID`, optional when the deployment has only one."""
    if wanted is None:
        if len(programmes) == 1:
            return programmes[0]
        ids = ", ".join(p.id for p in programmes)
        raise ProgrammeChoiceError(f"several programmes ({ids}): say which with --programme ID")
    for definition in programmes:
        if definition.id == wanted:
            return definition
    ids = ", ".join(p.id for p in programmes)
    raise NotFoundError(f"no programme {wanted!r} (programmes: {ids})")
