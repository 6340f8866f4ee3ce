"""External facilitators CSV: as strict as the roster, all or nothing, never staff."""

from __future__ import annotations

import pytest

from programme.errors import FacilitatorsError
from programme.facilitators import EXTERNAL_ROLE, ExternalFacilitator, parse_facilitators


def problems(text: str | bytes, staff: tuple[str, ...] = ()) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(FacilitatorsError) as caught:
        parse_facilitators(raw, "ext.csv", staff)
    return caught.value.problems


def test_a_good_file_in_any_column_order() -> None:
    raw = (
        "\ufeffTimezone,Name,Email,Organisation,AAD Object ID,notes\n"
        "Europe/London, Jo  Bloggs ,Jo@Partner.ORG,Reflect Ltd,5f0c2a3e-8b8e-4f5a-9c89-0f2d5f8f1e10,x\n"
        ",Sam Lee,sam@partner.org,,,\n"
    ).encode()
    jo, sam = parse_facilitators(raw, "ext.csv")
    assert jo == ExternalFacilitator(
        "jo@partner.org", "Jo Bloggs", "Reflect Ltd", "5f0c2a3e-8b8e-4f5a-9c89-0f2d5f8f1e10", "Europe/London"
    )
    assert sam == ExternalFacilitator("sam@partner.org", "Sam Lee")
    person = jo.as_person()
    assert person.facilitator and person.role == EXTERNAL_ROLE and all(person.works(d) for d in range(7))


def test_every_problem_is_reported_with_its_line_and_nothing_is_imported() -> None:
    text = (
        "email,name,aad_object_id,timezone\n"
        "a@partner.org,A,,\n"
        "not-an-email,B,,\n"
        "a@PARTNER.org,A again,,\n"
        "c@partner.org,,not-a-guid,Mars/Olympus\n"
        'd@partner.org,"D\u202eevil",,\n'
        "e@partner.org,E\x07,,\n"
        "staff@org.example,Staff,,\n"
        "f@partner.org,F\n"
    )
    assert problems(text, ("staff@org.example",)) == [
        "ext.csv:3: email: 'not-an-email' is not an email address",
        "ext.csv:4: duplicate email 'a@partner.org' (first on line 2)",
        "ext.csv:5: name: required",
        "ext.csv:5: aad_object_id: expected a GUID, got 'not-a-guid'",
        "ext.csv:5: timezone: 'Mars/Olympus' is not an IANA time zone name",
        "ext.csv:6: name: contains an invisible text-direction character (U+202E)",
        "ext.csv:7: name: contains a control character (U+0007)",
        "ext.csv:8: 'staff@org.example' is on the staff roster; external facilitators are people outside it "
        "(mark staff as facilitator=yes instead)",
        "ext.csv:9: expected 4 fields, found 2",
    ]


def test_header_and_file_level_problems() -> None:
    assert problems("") == ["ext.csv:1: empty file: expected a header row with email, name"]
    assert problems("email,organisation\n") == [
        "ext.csv:1: missing required column 'name' (header: email, organisation)"
    ]
    assert problems("email,name,Email\n") == ["ext.csv:1: column 'email' appears twice in the header"]
    assert problems("email,name\n\n") == ["ext.csv:2: no facilitators in the file"]
    assert problems(b"email,name\na@x.org,\xff\n") == ["ext.csv:2: not valid UTF-8 (byte 19)"]
    assert problems("email,name\n" + "a@x.org," + "n" * 201 + "\n") == [
        "ext.csv:2: name: too long (201 characters, at most 200)"
    ]
    # An unterminated quote swallows the rest of the file into one field: reported, not guessed at.
    assert problems('email,name\n"a@x.org,A\n') == ["ext.csv:2: expected 2 fields, found 1"]


def test_a_guest_account_is_used_once() -> None:
    guid = "5f0c2a3e-8b8e-4f5a-9c89-0f2d5f8f1e10"
    assert problems(f"email,name,aad_object_id\na@x.org,A,{guid}\nb@x.org,B,{guid.upper()}\n") == [
        f"ext.csv:3: aad_object_id {guid} already used on line 2"
    ]
