"""External facilitators: people outside the HR roster who run groups (reflective practice, 002/003).

They are kept on their own list so a roster import never marks them as leavers and reports never
count them as staff. The list is imported from a CSV with the same strictness as the roster:

Facilitators CSV: header row, UTF-8 (with or without BOM), columns in any order, others ignored:

- `email` (required, unique ignoring case; must not be on the staff roster)
- `name` (required)
- `organisation` (optional: who they work for, shown to the groups they run)
- `aad_object_id` (optional: their Teams guest account's object id, a GUID, unique)
- `timezone` (optional: IANA name, for the times on their cards and invites)

An import is the full current list, so a file with no facilitators is refused. A file with
any bad row imports nothing: `FacilitatorsError.problems` holds one
`FILE:LINE: message` per problem. Field values go through the roster's checks (no control or
invisible text-direction characters, bounded lengths).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from programme.errors import FacilitatorsError, RosterError
from programme.model import Person
from programme.roster import (
    EMAIL_PATTERN,
    character_problem,
    csv_records,
    decode_csv,
    header_columns,
    parse_aad_id,
    parse_timezone,
)

REQUIRED_COLUMNS = ("email", "name")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, "organisation", "aad_object_id", "timezone")
EXTERNAL_ROLE = "External facilitator"
# An external facilitator is booked for the programme's sessions, whatever day they fall on.
_EVERY_DAY = frozenset(range(7))


@dataclass(frozen=True)
class ExternalFacilitator:
    """A facilitator who is not staff (emails stored lower-case)."""

    email: str
    name: str
    organisation: str = ""
    aad_object_id: str | None = None
    timezone: str | None = None

    def as_person(self) -> Person:
        """The facilitator in the shape `programme.facilitation` assigns; never a roster member."""
        return Person(
            email=self.email,
            name=self.name,
            role=EXTERNAL_ROLE,
            service=self.organisation,
            working_days=_EVERY_DAY,
            facilitator=True,
            aad_object_id=self.aad_object_id,
            timezone=self.timezone,
        )


def _facilitator(fields: Mapping[str, str]) -> tuple[ExternalFacilitator | None, list[str]]:
    problems = [
        problem
        for column in KNOWN_COLUMNS
        if (problem := character_problem(column, fields.get(column, ""))) is not None
    ]
    if problems:
        return None, problems  # not parsed further: that would only echo the bad value
    email = fields.get("email", "").strip().lower()
    if not email:
        problems.append("email: required")
    elif not EMAIL_PATTERN.match(email):
        problems.append(f"email: {email!r} is not an email address")
    if not fields.get("name", "").strip():
        problems.append("name: required")
    facilitator = ExternalFacilitator(
        email=email,
        name=" ".join(fields.get("name", "").split()),
        organisation=" ".join(fields.get("organisation", "").split()),
        aad_object_id=parse_aad_id(fields.get("aad_object_id", ""), problems),
        timezone=parse_timezone(fields.get("timezone", ""), problems),
    )
    return (None if problems else facilitator), problems


def parse_facilitators(
    raw: bytes, filename: str, staff_emails: Collection[str] = ()
) -> list[ExternalFacilitator]:
    """External facilitators from a CSV, or FacilitatorsError with one `FILE:LINE: message` each.

    `staff_emails` (lower-case) are the roster's people: someone on the roster is staff, and
    listing them here too would make them both, so it is an error.
    """
    try:
        text = decode_csv(raw, filename)
    except RosterError as error:
        raise FacilitatorsError(error.problems) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    facilitators: list[ExternalFacilitator] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise FacilitatorsError(
                [f"{filename}:1: empty file: expected a header row with {', '.join(REQUIRED_COLUMNS)}"]
            )
        index, header_problems = header_columns(header, REQUIRED_COLUMNS)
        if header_problems:
            raise FacilitatorsError([f"{filename}:1: {message}" for message in header_problems])
        first_line: dict[str, int] = {}
        first_aad: dict[str, int] = {}
        for start_line, fields in csv_records(reader, header, index, filename, problems):
            facilitator, row_problems = _facilitator(fields)
            problems.extend(f"{filename}:{start_line}: {message}" for message in row_problems)
            if facilitator is None:
                continue
            email = facilitator.email
            if email in first_line:
                problems.append(
                    f"{filename}:{start_line}: duplicate email {email!r} (first on line {first_line[email]})"
                )
                continue
            if email in staff_emails:
                problems.append(
                    f"{filename}:{start_line}: {email!r} is on the staff roster; "
                    "external facilitators are people outside it (mark staff as facilitator=yes instead)"
                )
                continue
            aad = facilitator.aad_object_id
            if aad and aad in first_aad:
                problems.append(
                    f"{filename}:{start_line}: aad_object_id {aad} already used on line {first_aad[aad]}"
                )
                continue
            first_line[email] = start_line
            if aad:
                first_aad[aad] = start_line
            facilitators.append(facilitator)
    except csv.Error as error:
        raise FacilitatorsError([f"{filename}:{reader.line_num}: unreadable CSV: {error}"]) from None
    if problems:
        raise FacilitatorsError(problems)
    if not facilitators:
        # An import is the full list; an empty one would drop every facilitator, so it is refused.
        raise FacilitatorsError([f"{filename}:2: no facilitators in the file"])
    return facilitators
