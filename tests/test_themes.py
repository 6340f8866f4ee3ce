"""Themes for the organisation: only the programme's themes, no names, suppressed below 3 groups."""

from __future__ import annotations

from datetime import date

import pytest

from programme.errors import ThemeError
from programme.programmes import ProgrammeDefinition
from programme.themes import ALL_PROGRAMMES, ThemeRecord, drop_expired_notes, quarter_themes, record_themes

REFLECTION = ProgrammeDefinition(
    "reflection", "Peer reflection", themes=("Workload", "Referrals", "Training")
)
PRACTICE = ProgrammeDefinition("practice", "Reflective practice", themes=("Workload", "Supervision"))
ON = date(2027, 2, 12)


def test_a_record_keeps_the_programmes_spelling_and_order() -> None:
    record = record_themes(
        REFLECTION, "thu-1", "2027-02", [" training", "WORKLOAD", "Workload"], "  Too many\nreferrals ", ON
    )
    assert record == ThemeRecord(
        "reflection", "thu-1", "2027-02", ("Workload", "Training"), "Too many referrals", ON
    )


@pytest.mark.parametrize(
    ("chosen", "note", "message"),
    [
        (["Parking"], None, "'Parking' is not one of the Peer reflection programme's themes"),
        ([], "  ", "choose at least one theme or write a note"),
        (["Workload"], "x" * 201, "note: too long (201 characters, at most 200)"),
        (["Workload"], "fine\u202etext", "note: contains an invisible text-direction character"),
        (["Workload"], "ask ann.smith@example.org", "remove the email address"),
        (["Workload"], "Ann Smith raised rotas", "remove the person's name"),
        (["Workload"], "as ann said", "remove the person's name"),
    ],
)
def test_bad_records_are_refused(chosen: list[str], note: str | None, message: str) -> None:
    with pytest.raises(ThemeError) as caught:
        record_themes(REFLECTION, "thu-1", "2027-02", chosen, note, ON, names=["Ann Smith"])
    assert message in str(caught.value)
    assert "Ann" not in str(caught.value) and "ann" not in str(caught.value).replace("annot", "")


def test_names_are_matched_as_whole_words_only() -> None:
    record = record_themes(REFLECTION, "g", "2027-02", [], "annual leave cover", ON, names=["Ann Smith"])
    assert record.note == "annual leave cover"


def test_a_programme_without_themes_and_a_bad_month_are_refused() -> None:
    with pytest.raises(ThemeError, match="has no themes"):
        record_themes(ProgrammeDefinition("peers", "Peers"), "g", "2027-02", ["Workload"], None, ON)
    with pytest.raises(ThemeError, match="month: expected a month"):
        record_themes(REFLECTION, "g", "2027-13", ["Workload"], None, ON)


def records(
    programme: ProgrammeDefinition, month: str, groups: int, themes: tuple[str, ...], note: str | None = None
) -> list[ThemeRecord]:
    return [record_themes(programme, f"g{i}", month, themes, note, ON) for i in range(groups)]


def test_quarters_are_suppressed_below_three_groups() -> None:
    quarter_one = [
        *records(REFLECTION, "2027-01", 4, ("Workload",), "Rotas change at short notice"),
        *records(REFLECTION, "2027-02", 3, ("Training",)),
        *records(REFLECTION, "2027-03", 1, ("Referrals",)),
        *records(PRACTICE, "2027-03", 2, ("Workload", "Supervision")),
    ]
    # The same group raising a theme twice in a quarter counts once.
    quarter_one += records(REFLECTION, "2027-03", 1, ("Workload",))
    quarter_two = records(PRACTICE, "2027-04", 2, ("Supervision",), "Needs a quiet room")
    summary = {
        (q.quarter, q.programme_id): q
        for q in quarter_themes([*quarter_one, *quarter_two], [REFLECTION, PRACTICE])
    }
    assert list(summary) == [
        ("2027-Q1", "reflection"),
        ("2027-Q1", "practice"),
        ("2027-Q1", ALL_PROGRAMMES),
        ("2027-Q2", "practice"),
        ("2027-Q2", ALL_PROGRAMMES),
    ]
    reflection = summary[("2027-Q1", "reflection")]
    assert reflection.groups_recording.value == 4
    assert [(t.theme, t.groups.value, t.groups.suppressed) for t in reflection.themes] == [
        ("Workload", 4, False),
        ("Referrals", None, True),  # one group
        # Three groups, but hidden with Referrals so that together the hidden cells are about
        # 3 groups, exactly as the report's complementary suppression does.
        ("Training", None, True),
    ]
    assert reflection.notes == ("Rotas change at short notice",) * 4
    practice = summary[("2027-Q1", "practice")]
    assert practice.groups_recording.suppressed and practice.notes == ()
    assert all(t.groups.suppressed for t in practice.themes)
    everyone = summary[("2027-Q1", ALL_PROGRAMMES)]
    assert everyone.groups_recording.value == 6  # group ids repeat across programmes but are distinct groups
    assert [(t.theme, t.groups.value) for t in everyone.themes] == [
        ("Workload", 6),
        ("Referrals", None),
        ("Training", 3),
        ("Supervision", None),  # two groups, hidden with Referrals: together 3
    ]
    assert summary[("2027-Q2", ALL_PROGRAMMES)].groups_recording.suppressed
    assert summary[("2027-Q2", ALL_PROGRAMMES)].notes == ()


def test_notes_follow_the_retention_setting() -> None:
    old = record_themes(REFLECTION, "g", "2026-01", ["Workload"], "old note", date(2026, 1, 20))
    new = record_themes(REFLECTION, "g", "2027-01", ["Workload"], "new note", date(2027, 1, 20))
    kept = drop_expired_notes([old, new], date(2027, 2, 1), 365)
    assert [r.note for r in kept] == [None, "new note"] and kept[0].themes == ("Workload",)
    assert drop_expired_notes([old, new], date(2027, 2, 1), 0) == [old, new]
