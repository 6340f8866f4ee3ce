"""Roster CSV parsing: every column's rules, and line-numbered problems."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from programme.errors import RosterError
from programme.model import Person
from programme.roster import apply_roster, parse_roster

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample-roster.csv"
HEADER = (
    "email,name,role,service,working_days,hours_per_week,start_date,probation_end,"
    "facilitator,coordinator,aad_object_id,timezone"
)
GOOD = "ann@example.org,Ann Lee,Health Coach,North,Mon Tue Thu,37.5,2024-01-02,,no,no,,Europe/London"


def problems_of(text: str, name: str = "r.csv") -> list[str]:
    with pytest.raises(RosterError) as caught:
        parse_roster(text.encode(), name)
    return caught.value.problems


def test_sample_roster_parses() -> None:
    people = parse_roster(SAMPLE.read_bytes(), "sample.csv")
    assert len(people) == 60
    assert all(p.email == p.email.lower() for p in people)
    assert sum(p.facilitator for p in people) == 9


def test_columns_in_any_order_bom_and_optional_columns_missing() -> None:
    text = "\ufeffRole,Name,EMAIL\r\nHealth Coach,Ann Lee,Ann@Example.ORG\r\n"
    (person,) = parse_roster(text.encode("utf-8"), "r.csv")
    assert person == Person(email="ann@example.org", name="Ann Lee", role="Health Coach")


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("Mon Tue Thu", {0, 1, 3}),
        ("monday, WEDNESDAY,fri", {0, 2, 4}),
        ("Tues Thurs", {1, 3}),
        ("sat,sun", {5, 6}),
        ("", set()),
    ],
)
def test_working_days_are_tolerant(days: str, expected: set[int]) -> None:
    text = f'email,name,role,working_days\nann@example.org,Ann,Coach,"{days}"\n'
    (person,) = parse_roster(text.encode(), "r.csv")
    assert person.working_days == frozenset(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("YES", True),
        ("true", True),
        ("1", True),
        ("no", False),
        ("False", False),
        ("0", False),
        ("", False),
    ],
)
def test_booleans(value: str, expected: bool) -> None:
    text = f"email,name,role,facilitator,coordinator\nann@example.org,Ann,Coach,{value},{value}\n"
    (person,) = parse_roster(text.encode(), "r.csv")
    assert person.facilitator is expected and person.coordinator is expected


def test_every_optional_column_is_read() -> None:
    text = (
        "email,name,role,service,working_days,hours_per_week,start_date,probation_end,facilitator,"
        "coordinator,aad_object_id,timezone\n"
        "ann@example.org,Ann Lee,Health Coach,North,Thu,22.5,2026-09-01,2027-03-01,yes,no,"
        "0A1B2C3D-0000-4000-8000-000000000001,Europe/Dublin\n"
    )
    (p,) = parse_roster(text.encode(), "r.csv")
    assert (p.service, p.working_days, p.hours_per_week) == ("North", frozenset({3}), 22.5)
    assert (p.start_date, p.probation_end) == (date(2026, 9, 1), date(2027, 3, 1))
    assert (p.facilitator, p.coordinator, p.timezone) == (True, False, "Europe/Dublin")
    assert p.aad_object_id == "0a1b2c3d-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("not-an-email,Ann,Coach,,,,,,,,,", "email: 'not-an-email' is not an email address"),
        (",Ann,Coach,,,,,,,,,", "email: required"),
        ("ann@example.org,,Coach,,,,,,,,,", "name: required"),
        ("ann@example.org,Ann,  ,,,,,,,,,", "role: required"),
        ("ann@example.org,Ann,Coach,,Mon Funday,,,,,,,", "working_days: 'Funday' is not a weekday"),
        ("ann@example.org,Ann,Coach,,,lots,,,,,,", "hours_per_week: expected a number, got 'lots'"),
        (
            "ann@example.org,Ann,Coach,,,0,,,,,,",
            "hours_per_week: must be more than 0 and at most 60, got '0'",
        ),
        (
            "ann@example.org,Ann,Coach,,,61,,,,,,",
            "hours_per_week: must be more than 0 and at most 60, got '61'",
        ),
        (
            "ann@example.org,Ann,Coach,,,nan,,,,,,",
            "hours_per_week: must be more than 0 and at most 60, got 'nan'",
        ),
        ("ann@example.org,Ann,Coach,,,,31/01/2024,,,,,", "start_date: expected an ISO date like 2026-01-31"),
        ("ann@example.org,Ann,Coach,,,,,2024-02-30,,,,", "probation_end: expected an ISO date"),
        ("ann@example.org,Ann,Coach,,,,2024-05-01,2024-04-01,,,,", "probation_end: is before start_date"),
        (
            "ann@example.org,Ann,Coach,,,,,,maybe,,,",
            "facilitator: expected yes/no/true/false/1/0, got 'maybe'",
        ),
        ("ann@example.org,Ann,Coach,,,,,,,y,,", "coordinator: expected yes/no/true/false/1/0, got 'y'"),
        ("ann@example.org,Ann,Coach,,,,,,,,xyz,", "aad_object_id: expected a GUID, got 'xyz'"),
        (
            "ann@example.org,Ann,Coach,,,,,,,,,Mars/Olympus",
            "timezone: 'Mars/Olympus' is not an IANA time zone name",
        ),
        ("ann@example.org,Ann,Coach", "expected 12 fields, found 3"),
    ],
)
def test_each_bad_value_names_file_line_and_column(row: str, message: str) -> None:
    problems = problems_of(f"{HEADER}\n{GOOD}\n{row}\n")
    assert len(problems) == 1
    assert problems[0].startswith("r.csv:3: ")
    assert message in problems[0]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("ann@example.org,\x00,Coach,,,,,,,,,", "name: contains a control character (U+0000)"),
        ("ann@example.org,Ann\x07,Coach,,,,,,,,,", "name: contains a control character (U+0007)"),
        ("ann@example.org,Ann,Coach\x7f,,,,,,,,,", "role: contains a control character (U+007F)"),
        (
            "ann\u202e@example.org,Ann,Coach,,,,,,,,,",
            "email: contains an invisible text-direction character (U+202E)",
        ),
        (
            "ann@example.org,\u2067Ann\u2069,Coach,,,,,,,,,",
            "name: contains an invisible text-direction character (U+2067)",
        ),
        (
            "ann@example.org,Ann,Coach,North\u200f,,,,,,,,",
            "service: contains an invisible text-direction character (U+200F)",
        ),
        (
            "ann@example.org,Ann\u200b,Coach,,,,,,,,,",
            "name: contains an invisible formatting character (U+200B)",
        ),
        ("ann@example.org," + "A" * 201 + ",Coach,,,,,,,,,", "name: too long (201 characters, at most 200)"),
        ("a" * 250 + "@example.org,Ann,Coach,,,,,,,,,", "email: too long (262 characters, at most 254)"),
        (
            "ann@example.org,Ann,Coach,,,,,,,,," + "A" * 300,
            "timezone: too long (300 characters, at most 64)",
        ),
        (
            "ann@example.org,Ann,Coach,,,,,,,,,Europe/" + "x" * 57,
            "timezone: 'Europe/" + "x" * 57 + "' is not an IANA time zone name",
        ),
    ],
)
def test_control_and_invisible_characters_and_absurd_lengths_are_refused(row: str, message: str) -> None:
    problems = problems_of(f"{HEADER}\n{GOOD}\n{row}\n")
    assert problems == [f"r.csv:3: {message}"]


def test_a_timezone_too_long_for_a_file_name_is_a_clean_error() -> None:
    # ZoneInfo raises OSError (file name too long) for names over 255 characters.
    from programme.roster import parse_timezone

    problems: list[str] = []
    assert parse_timezone("x" * 300, problems) is None
    assert problems and "is not an IANA time zone name" in problems[0]


def test_joiners_in_names_and_formula_like_names_are_kept_as_data() -> None:
    rows = ("ann@example.org,Mehr\u200cnaz,Coach,,,,,,,,,", "bo@example.org,=HYPERLINK(1),@Coach,,,,,,,,,")
    text = "\n".join((HEADER, *rows)) + "\n"
    people = parse_roster(text.encode(), "r.csv")
    assert [p.name for p in people] == ["Mehr\u200cnaz", "=HYPERLINK(1)"]
    assert people[1].role == "@Coach"


def test_every_problem_is_reported_with_its_own_line() -> None:
    text = (
        f"{HEADER}\n{GOOD}\n\nbad,Ann,Coach,,,,,,,,,\n{GOOD.replace('ann@', 'bo@')}\nx@y.org,X,C,,,99,,,,,,\n"
    )
    problems = problems_of(text)
    assert [p.split(": ")[0] for p in problems] == ["r.csv:4", "r.csv:6"]


def test_one_row_with_two_problems_gives_two_lines() -> None:
    problems = problems_of(f"{HEADER}\nann@example.org,,Coach,,Mon,99,,,,,,\n")
    assert problems == [
        "r.csv:2: name: required",
        "r.csv:2: hours_per_week: must be more than 0 and at most 60, got '99'",
    ]


def test_duplicate_emails_ignoring_case() -> None:
    text = f"{HEADER}\n{GOOD}\nbo@example.org,Bo,Coach,,,,,,,,,\n{GOOD.replace('ann@', 'ANN@')}\n"
    assert problems_of(text) == ["r.csv:4: duplicate email 'ann@example.org' (first on line 2)"]


def test_duplicate_aad_object_id() -> None:
    guid = "00000000-0000-4000-8000-00000000000a"
    text = f"email,name,role,aad_object_id\na@x.org,A,C,{guid}\nb@x.org,B,C,{guid.upper()}\n"
    assert problems_of(text) == [f"r.csv:3: aad_object_id {guid} already used on line 2"]


def test_line_numbers_count_multiline_quoted_fields() -> None:
    text = 'email,name,role\na@x.org,"Ann\nLee",C\nbad,B,C\n'
    assert problems_of(text) == ["r.csv:4: email: 'bad' is not an email address"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "r.csv:1: empty file"),
        ("\n\n", "r.csv:1: empty file"),
        ("email,name\na@x.org,A\n", "r.csv:1: missing required column 'role'"),
        ("mail,name,role\na@x.org,A,C\n", "r.csv:1: missing required column 'email'"),
        ("email,name,role,email\na@x.org,A,C,a@x.org\n", "r.csv:1: column 'email' appears twice"),
        ("email,name,role\n", "r.csv:2: no people in the file"),
    ],
)
def test_header_and_empty_files(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert problems[0].startswith(expected)


def test_invalid_utf8_names_its_line() -> None:
    raw = b"email,name,role\na@x.org,A,C\nb@x.org,B\xff\xfe,C\n"
    with pytest.raises(RosterError) as caught:
        parse_roster(raw, "r.csv")
    assert caught.value.problems[0].startswith("r.csv:3: not valid UTF-8")


def test_apply_roster_adds_updates_and_marks_leavers() -> None:
    ann = Person("ann@x.org", "Ann", "Coach")
    bo = Person("bo@x.org", "Bo", "Coach")
    cy = Person("cy@x.org", "Cy", "Coach", left_on=date(2026, 1, 1))
    change = apply_roster(
        {p.email: p for p in (ann, bo, cy)},
        [
            Person("ann@x.org", "Ann", "Lead"),
            cy.__class__("cy@x.org", "Cy", "Coach"),
            Person("di@x.org", "Di", "C"),
        ],
        date(2026, 11, 23),
    )
    assert change.added == ("cy@x.org", "di@x.org")  # a returning leaver is added again
    assert change.updated == ("ann@x.org",)
    assert change.left == ("bo@x.org",)
    assert change.people["bo@x.org"].left_on == date(2026, 11, 23)
    assert change.people["cy@x.org"].active
    assert change.unchanged == 0
