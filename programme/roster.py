"""Parse and validate an HR roster export, and work out what an import changes."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from programme.errors import RosterError
from programme.model import Person
from programme.weekdays import parse_weekday, split_weekdays

REQUIRED_COLUMNS = ("email", "name", "role")
# Every column the import reads; others in the HR export are ignored.
KNOWN_COLUMNS = (
    *REQUIRED_COLUMNS,
    "service",
    "working_days",
    "hours_per_week",
    "start_date",
    "probation_end",
    "facilitator",
    "coordinator",
    "aad_object_id",
    "timezone",
)
_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0", ""}
# Deliberately simple: one @, no spaces, a dot in the domain. HR exports fail this only on typos.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


# Longest value accepted per column; anything longer is a broken export, not a real value. Emails
# follow RFC 5321's 254-character path; IANA zone names are at most about 30 characters.
_MAX_LENGTH = {"email": 254, "timezone": 64, "aad_object_id": 64}
_DEFAULT_MAX_LENGTH = 200
# Invisible characters that reorder or hide text (Trojan Source, CVE-2021-42574): bidi embeddings,
# overrides and isolates, and the directional marks. Other format characters (Unicode category
# Cf) are refused too, except ZWNJ/ZWJ, which some scripts need in names.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_JOINERS = frozenset("\u200c\u200d")
# Line breaks and tabs (a quoted multi-line cell) are whitespace: collapsed in text, refused elsewhere.
_WHITESPACE = frozenset("\t\n\r")


def character_problem(column: str, value: str) -> str | None:
    """Why a field's value cannot be kept (control or invisible characters, absurd length), or None."""
    limit = _MAX_LENGTH.get(column, _DEFAULT_MAX_LENGTH)
    if len(value) > limit:
        return f"{column}: too long ({len(value)} characters, at most {limit})"
    for char in value:
        category = unicodedata.category(char)
        if char in _BIDI:
            return f"{column}: contains an invisible text-direction character (U+{ord(char):04X})"
        if category == "Cc" and char not in _WHITESPACE:
            return f"{column}: contains a control character (U+{ord(char):04X})"
        if category in ("Cf", "Zl", "Zp") and char not in _JOINERS:
            return f"{column}: contains an invisible formatting character (U+{ord(char):04X})"
    return None


class _RowProblems(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def header_columns(header: list[str], required: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """Column index by canonical name (case and spaces ignored), and header problems (a column
    twice, a `required` one missing): shared by every CSV the product imports."""
    problems: list[str] = []
    index: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = raw.strip().lower().replace(" ", "_")
        if not name:
            continue
        if name in index:
            problems.append(f"column {name!r} appears twice in the header")
        index[name] = position
    for name in required:
        if name not in index:
            problems.append(f"missing required column {name!r} (header: {', '.join(header)})")
    return index, problems


def _parse_bool(column: str, value: str, problems: list[str]) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word not in _FALSE:
        problems.append(f"{column}: expected yes/no/true/false/1/0, got {value!r}")
    return False


def parse_date(column: str, value: str, problems: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{column}: expected an ISO date like 2026-01-31, got {value!r}")
        return None


def _parse_hours(value: str, problems: list[str]) -> float | None:
    if not value.strip():
        return None
    try:
        hours = float(value.strip())
    except ValueError:
        problems.append(f"hours_per_week: expected a number, got {value!r}")
        return None
    if not 0 < hours <= 60:  # also rejects nan
        problems.append(f"hours_per_week: must be more than 0 and at most 60, got {value!r}")
        return None
    return hours


def _parse_days(value: str, problems: list[str]) -> frozenset[int]:
    days: set[int] = set()
    for token in split_weekdays(value):
        day = parse_weekday(token)
        if day is None:
            problems.append(f"working_days: {token!r} is not a weekday")
        else:
            days.add(day)
    return frozenset(days)


def parse_aad_id(value: str, problems: list[str]) -> str | None:
    if not value.strip():
        return None
    try:
        return str(UUID(value.strip()))
    except ValueError:
        problems.append(f"aad_object_id: expected a GUID, got {value!r}")
        return None


def parse_timezone(value: str, problems: list[str]) -> str | None:
    if not value.strip():
        return None
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        problems.append(f"timezone: {value!r} is not an IANA time zone name")
        return None
    return value.strip()


def _person_from_row(fields: Mapping[str, str]) -> Person:
    # Fields that cannot be stored safely are reported alone: parsing them would only echo them.
    problems = [
        problem
        for column in KNOWN_COLUMNS
        if (problem := character_problem(column, fields.get(column, ""))) is not None
    ]
    if problems:
        raise _RowProblems(problems)
    email = fields.get("email", "").strip().lower()
    if not email:
        problems.append("email: required")
    elif not EMAIL_PATTERN.match(email):
        problems.append(f"email: {email!r} is not an email address")
    for column in ("name", "role"):
        if not fields.get(column, "").strip():
            problems.append(f"{column}: required")
    start = parse_date("start_date", fields.get("start_date", ""), problems)
    probation_end = parse_date("probation_end", fields.get("probation_end", ""), problems)
    if start and probation_end and probation_end < start:
        problems.append("probation_end: is before start_date")
    person = Person(
        email=email,
        name=" ".join(fields.get("name", "").split()),
        role=" ".join(fields.get("role", "").split()),
        service=" ".join(fields.get("service", "").split()),
        working_days=_parse_days(fields.get("working_days", ""), problems),
        hours_per_week=_parse_hours(fields.get("hours_per_week", ""), problems),
        start_date=start,
        probation_end=probation_end,
        facilitator=_parse_bool("facilitator", fields.get("facilitator", ""), problems),
        coordinator=_parse_bool("coordinator", fields.get("coordinator", ""), problems),
        aad_object_id=parse_aad_id(fields.get("aad_object_id", ""), problems),
        timezone=parse_timezone(fields.get("timezone", ""), problems),
    )
    if problems:
        raise _RowProblems(problems)
    return person


def decode_csv(raw: bytes, filename: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise RosterError([f"{filename}:{line}: not valid UTF-8 (byte {error.start})"]) from None


class CsvRows(Protocol):
    """What `csv.reader` returns: rows, and the line the last one ended on."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def csv_records(
    reader: CsvRows, header: list[str], index: Mapping[str, int], filename: str, problems: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Each non-blank data row after the header as (the line it starts on, its fields by column
    name); a row with the wrong number of fields goes to `problems` instead."""
    line = reader.line_num + 1
    for row in reader:
        start_line, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"{filename}:{start_line}: expected {len(header)} fields, found {len(row)}")
            continue
        yield start_line, {name: row[position] for name, position in index.items()}


def parse_roster(raw: bytes, filename: str) -> list[Person]:
    """People from a roster CSV, or RosterError with one `FILE:LINE: message` per problem."""
    text = decode_csv(raw, filename)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise RosterError(
                [f"{filename}:1: empty file: expected a header row with {', '.join(REQUIRED_COLUMNS)}"]
            )
        index, problems = header_columns(header, REQUIRED_COLUMNS)
        problems = [f"{filename}:1: {message}" for message in problems]
        if problems:
            raise RosterError(problems)
        people: list[Person] = []
        first_line: dict[str, int] = {}
        first_aad: dict[str, int] = {}
        for start_line, fields in csv_records(reader, header, index, filename, problems):
            try:
                person = _person_from_row(fields)
            except _RowProblems as bad:
                problems.extend(f"{filename}:{start_line}: {message}" for message in bad.messages)
                continue
            if person.email in first_line:
                problems.append(
                    f"{filename}:{start_line}: duplicate email {person.email!r} "
                    f"(first on line {first_line[person.email]})"
                )
                continue
            if person.aad_object_id and person.aad_object_id in first_aad:
                problems.append(
                    f"{filename}:{start_line}: aad_object_id {person.aad_object_id} already used "
                    f"on line {first_aad[person.aad_object_id]}"
                )
                continue
            first_line[person.email] = start_line
            if person.aad_object_id:
                first_aad[person.aad_object_id] = start_line
            people.append(person)
    except csv.Error as error:
        raise RosterError([f"{filename}:{reader.line_num}: unreadable CSV: {error}"]) from None
    if problems:
        raise RosterError(problems)
    if not people:
        raise RosterError([f"{filename}:2: no people in the file (an import is the full roster)"])
    return people


@dataclass(frozen=True)
class RosterChange:
    """What an import does: the new state of everyone known, and who was added/updated/left."""

    people: dict[str, Person]
    added: tuple[str, ...]
    updated: tuple[str, ...]
    left: tuple[str, ...]
    unchanged: int


def apply_roster(current: Mapping[str, Person], incoming: list[Person], today: date) -> RosterChange:
    """Merge a full roster into the known people: missing people leave, their history kept."""
    people = dict(current)
    added: list[str] = []
    updated: list[str] = []
    unchanged = 0
    seen = set()
    for person in incoming:
        seen.add(person.email)
        before = current.get(person.email)
        if before is None or not before.active:
            added.append(person.email)  # a returning leaver counts as added again
        elif before != person:
            updated.append(person.email)
        else:
            unchanged += 1
        people[person.email] = person
    left = sorted(email for email, person in current.items() if person.active and email not in seen)
    for email in left:
        people[email] = replace(current[email], left_on=today)
    return RosterChange(people, tuple(sorted(added)), tuple(sorted(updated)), tuple(left), unchanged)
