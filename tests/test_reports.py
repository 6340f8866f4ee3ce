"""Coordinator reports: figures from a generated programme year, small-number suppression, outputs.

The year 2025 is written straight into a temporary store in the shapes the services write. Most
months come from a seeded generator; March 2025 (every log), July 2025 (peer records), the goals
and the escalations are written literally, so their figures can be worked out by hand below.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cards.reports import build_report_card, report_card_view
from cli.report import report_csv
from programme.errors import NotAllowedError
from programme.model import Allocation, Group, Pair, PairRound, Person
from programme.policies import Actor
from programme.reports import (
    SUPPRESSED_MARK,
    Count,
    EscalationRecord,
    PeerRecord,
    Rate,
    Register,
    Report,
    RsvpRecord,
    absence_figures,
    attendance_figures,
    escalation_figures,
    month_range,
    pairs_figures,
    rsvp_figures,
    suppress_row,
)
from programme.settings import ProgrammeSettings
from repositories import answers as answer_logs
from repositories import escalations as escalation_docs
from repositories.answers import RegistersRepository, answers_log
from repositories.groups import GroupsRepository
from repositories.pairs import PairRoundsRepository
from service.programme_service import ProgrammeService
from service.reports import Reports, programme_report
from store import Store
from tests.cli_run import data_files, run
from tests.test_cards_schema import serialised_size, validate_card

YEAR = month_range("2025-12", 12)
REPORT_NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)  # after the year: escalations as of 31 Dec 2025

GROUPS: dict[str, dict[str, Any]] = {
    "g-a": {"name": "Health Coaches A", "weekday": 3, "facilitator": "fa@example.org", "n": 8, "p": "a"},
    "g-b": {"name": "Nurses B", "weekday": 3, "facilitator": "fb@example.org", "n": 6, "p": "b"},
    "g-c": {"name": "Pharmacists C", "weekday": 1, "facilitator": "fc@example.org", "n": 5, "p": "c"},
    "g-d": {"name": "Tiny D", "weekday": 1, "facilitator": None, "n": 2, "p": "d"},
}
RETIRED = {"g-old": {"name": "Old Group", "weekday": 3, "facilitator": "fa@example.org", "n": 4, "p": "o"}}
REASONS = ["annual_leave", "sickness", "other", None]


def e(name: str) -> str:
    return f"{name}@example.org"


def members(spec: dict[str, Any]) -> list[str]:
    return [e(f"{spec['p']}{i}") for i in range(1, spec["n"] + 1)]


ROUND_1 = [["a1", "b1"], ["a2", "b2"], ["a3", "b3"], ["c1", "c2", "c3"], ["a4", "b4"]]
ROUND_2 = [["a1", "b2"], ["a2", "b3"], ["a3", "b1"], ["c1", "a4"], ["b4", "c2", "c3"]]


def register(present: list[str], absent: list[str]) -> dict[str, Any]:
    return {
        "present": sorted(e(p) for p in present),
        "absent": sorted(e(a) for a in absent),
        "recorded_by": "fa@example.org",
        "recorded_at": "2025-03-13T11:40:00+00:00",
    }


def rsvp(answer: str, reason: str | None = None) -> dict[str, Any]:
    return {"answer": answer, "reason": reason, "note": "", "answered_at": "2025-03-10T09:00:00+00:00"}


# March 2025, by hand. Registers: g-a 6/8, g-b 5/6, g-c 3/5, g-d 1/2 (fewer than 3 registered).
MARCH_REGISTERS = {
    "g-a": register(["a1", "a2", "a3", "a4", "a5", "a6"], ["a7", "a8"]),
    "g-b": register(["b1", "b2", "b3", "b4", "b5"], ["b6"]),
    "g-c": register(["c1", "c2", "c3"], ["c4", "c5"]),
    "g-d": register(["d1"], ["d2"]),
}
# RSVPs: 18 of 21 invited answered (b5, c3 and d1 did not). Can't attend: annual leave a7 b6 c4 d2
# (4 people), sickness a6 a8 c2 (3), other c5 (1), not given nobody (0): 8 in all.
MARCH_RSVPS = {
    **{f"g-a:{e(f'a{i}')}": rsvp("attending") for i in range(1, 6)},
    f"g-a:{e('a6')}": rsvp("not_attending", "sickness"),
    f"g-a:{e('a7')}": rsvp("not_attending", "annual_leave"),
    f"g-a:{e('a8')}": rsvp("not_attending", "sickness"),
    **{f"g-b:{e(f'b{i}')}": rsvp("attending") for i in range(1, 5)},
    f"g-b:{e('b6')}": rsvp("not_attending", "annual_leave"),
    f"g-c:{e('c1')}": rsvp("maybe"),
    f"g-c:{e('c2')}": rsvp("not_attending", "sickness"),
    f"g-c:{e('c4')}": rsvp("not_attending", "annual_leave"),
    f"g-c:{e('c5')}": rsvp("not_attending", "other"),
    f"g-d:{e('d2')}": rsvp("not_attending", "annual_leave"),
}
# Peers in March (round 1): a1-b1 met (a1 said so), a2-b2 met (b2), a3-b3 did not (both said no),
# the trio c1-c2-c3 met (c2), a4-b4 recorded nothing: 3 of 5 pairs met.
MARCH_PEERS = {
    "1:" + e("a1"): True,
    "1:" + e("b2"): True,
    "1:" + e("a3"): False,
    "1:" + e("b3"): False,
    "1:" + e("c2"): True,
}
# July (round 2 from 7 July): only a2-b3 met; a stale round-1 record does not count for round 2.
JULY_PEERS = {"2:" + e("b3"): True, "2:" + e("b4"): False, "1:" + e("a1"): True}
# Goals: Q1 a1 b1 c1 c2 of 11 people in pairs (x1 is in no pair); Q3 a1 b2 of 11; Q2 none.
GOALS = {"2025-Q1": ["a1", "b1", "c1", "c2", "x1"], "2025-Q3": ["a1", "b2"]}
# Escalations as of 31 Dec 2025 23:59: 0-7 days: a1 (1 person); 8-30: a2 b1 b2 (3); 31+: c1 (1);
# resolved c2 and the January one about c3 do not count. Total open 5.
ESCALATIONS = [
    ("a1", "2025-12-28T10:00:00+00:00", "open"),
    ("a2", "2025-12-20T10:00:00+00:00", "acknowledged"),
    ("b1", "2025-12-10T10:00:00+00:00", "open"),
    ("b2", "2025-12-05T10:00:00+00:00", "open"),
    ("c1", "2025-10-01T09:00:00+00:00", "open"),
    ("c2", "2025-09-01T09:00:00+00:00", "resolved"),
    ("c3", "2026-01-15T09:00:00+00:00", "open"),
]


def group_of(gid: str, spec: dict[str, Any]) -> Group:
    cohort = spec["name"].split()[0]
    return Group(gid, spec["name"], spec["weekday"], cohort, spec["facilitator"], tuple(members(spec)))


def round_of(number: int, started: str, pairs: list[list[str]]) -> PairRound:
    return PairRound(
        number, date.fromisoformat(started), tuple(Pair(tuple(e(p) for p in pair)) for pair in pairs)
    )


def generate_year(store: Store, seed: int = 2025) -> None:
    """A deterministic programme year: every log of every month, March written by hand.

    Written through the repositories, as the use cases write it, so the report is tested against
    what the programme stores however that is laid out.
    """
    rng = random.Random(seed)
    groups_repo, started = GroupsRepository(store), datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
    # The old group ran in January and February, then an allocation retired it.
    groups_repo.save_allocation(
        Allocation(tuple(group_of(g, s) for g, s in (GROUPS | RETIRED).items()), ()), started
    )
    groups_repo.save_allocation(Allocation(tuple(group_of(g, s) for g, s in GROUPS.items()), ()), started)
    rounds = PairRoundsRepository(store)
    rounds.save(round_of(1, "2025-01-06", ROUND_1))
    rounds.save(round_of(2, "2025-07-07", ROUND_2))
    # Written as the stored documents the service has always written (the reports read them back).
    attendance, rsvps = answers_log(store, answer_logs.ATTENDANCE), answers_log(store, answer_logs.RSVPS)
    peer_records, goals = answers_log(store, answer_logs.PEER_MEETINGS), answers_log(store, answer_logs.GOALS)
    for month in YEAR:
        number = int(month[5:])
        groups = dict(GROUPS) | (RETIRED if number <= 2 else {})
        if month == "2025-03":
            registers, answers = MARCH_REGISTERS, MARCH_RSVPS
            peers = MARCH_PEERS
        else:
            registers, answers = {}, {}
            for gid, spec in groups.items():
                present = [m for m in members(spec) if rng.random() < 0.8]
                absent = [m for m in members(spec) if m not in present]
                registers[gid] = {
                    "present": present,
                    "absent": absent,
                    "recorded_by": "fa@example.org",
                    "recorded_at": f"{month}-14T11:40:00+00:00",
                }
                for email in members(spec):
                    if rng.random() < 0.85:
                        if email in present:
                            answers[f"{gid}:{email}"] = rsvp("attending")
                        else:
                            answers[f"{gid}:{email}"] = rsvp("not_attending", rng.choice(REASONS))
            pairs = ROUND_1 if number < 7 else ROUND_2
            round_number = 1 if number < 7 else 2
            peers = {f"{round_number}:{e(p)}": rng.random() < 0.6 for pair in pairs for p in pair}
            if month == "2025-07":
                peers = JULY_PEERS
        for gid, doc in registers.items():
            attendance.put(month, gid, doc)
        for key, doc in answers.items():
            rsvps.put(month, key, doc)
        for key, met in peers.items():
            doc = {"met": met, "flags": [], "at": f"{month}-25T12:00:00+00:00"}
            peer_records.put(month, key, doc)
    for quarter, people in GOALS.items():
        for p in people:
            doc = {"goals": [], "training_needs": "", "capacity_now": 80, "capacity_plan": "", "at": "x"}
            goals.put(quarter, e(p), doc)
    escalations = store.collection(escalation_docs.ESCALATIONS, shards=4)
    for i, (about, created, status) in enumerate(ESCALATIONS):
        escalations.put(
            f"esc-{i}",
            {
                "id": f"esc-{i}",
                "raised_by": e(about),
                "about": e(about),
                "source": "checkout",
                "flags": ["stressed"],
                "created_at": created,
                "status": status,
                "handled_by": None,
            },
        )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reflect.json"
    with Store(path) as store:
        generate_year(store)
    return path


@pytest.fixture
def service(db: Path) -> Iterator[ProgrammeService]:
    with Store(db) as store:
        yield ProgrammeService(store, ProgrammeSettings())


@pytest.fixture
def report(service: ProgrammeService) -> Report:
    return programme_report(service, now=REPORT_NOW, months=12, until="2025-12")


# ---- figures of the generated year, against the hand-worked ones ----------------------------------


def test_attendance_by_hand_with_a_small_group_and_complementary_suppression(report: Report) -> None:
    march = {row.group_id: row.attendance for row in report.attendance if row.month == "2025-03"}
    assert march["g-a"] == Rate(6, 8)
    assert march["g-a"].value == 0.75 and march["g-a"].text() == "6/8 75%"
    assert march["g-b"] == Rate(5, 6)
    # g-d has 2 registered: no figure. g-c (the smallest other group) is hidden with it, since the
    # month's total is shown and g-d's 1/2 would be the total less g-a and g-b.
    assert march["g-d"] == Rate(None, None, suppressed=True) and march["g-d"].text() == SUPPRESSED_MARK
    assert march["g-c"].suppressed and march["g-c"].value is None
    total = {t.month: t.rate for t in report.attendance_total}["2025-03"]
    assert total == Rate(15, 21)


def test_every_month_hides_the_two_member_group_and_totals_add_up(report: Report, db: Path) -> None:
    # Tiny D always has 2 registered, so it is never shown; Jan and Feb also have the retired group.
    for month in YEAR:
        rows = [row for row in report.attendance if row.month == month]
        assert {r.group_id for r in rows} == {"g-a", "g-b", "g-c", "g-d"} | (
            {"g-old"} if month <= "2025-02" else set()
        )
        by_group = {r.group_id: r.attendance for r in rows}
        assert by_group["g-d"].suppressed
        assert sum(1 for r in rows if r.attendance.suppressed) == 2  # g-d and one complementary
    names = dict(report.groups)
    assert names["g-old"] == "Old Group"  # a retired group keeps its name in the history
    with Store(db) as store:
        for month in YEAR:
            registers = RegistersRepository(store).of_month(month)
            present = sum(len(r.present) for r in registers.values())
            registered = sum(len(r.present) + len(r.absent) for r in registers.values())
            assert {t.month: t.rate for t in report.attendance_total}[month] == Rate(present, registered)


def test_rsvp_response_rate_by_hand(report: Report) -> None:
    rates = {r.month: r.rate for r in report.rsvp}
    assert rates["2025-03"] == Rate(18, 21)
    assert set(rates) == set(YEAR)
    assert all(0 < (r.value or 0) <= 1 for r in rates.values())


def test_absence_reasons_by_hand_with_complementary_suppression(report: Report) -> None:
    march = {a.month: a for a in report.absences}["2025-03"]
    counts = dict(march.counts)
    assert counts["annual_leave"] == Count(4)
    # "other" (1 person) and "not given" (0) are small; together they are about 1 person, so the
    # smallest shown reason (sickness, 3) is hidden too: 8 - 4 = 4 can't be split back.
    assert counts["other"] == Count(None, suppressed=True)
    assert counts["not_given"].suppressed
    assert counts["sickness"].suppressed and counts["sickness"].value is None
    assert march.total == Count(8)


def test_pairs_met_vs_not_by_hand(report: Report) -> None:
    pairs = {p.month: p for p in report.pairs}
    march = pairs["2025-03"]
    assert (march.round, march.pairs, march.met, march.not_met) == (1, Count(5), Count(3), Count(2))
    assert march.rate == Rate(3, 5)
    july = pairs["2025-07"]
    assert (july.round, july.met, july.not_met) == (2, Count(1), Count(4))
    assert [p.round for p in report.pairs] == [1] * 6 + [2] * 6


def test_goal_setting_by_hand(report: Report) -> None:
    goals = {g.quarter: g.rate for g in report.goals}
    assert goals == {
        "2025-Q1": Rate(4, 11),
        "2025-Q2": Rate(0, 11),
        "2025-Q3": Rate(2, 11),
        "2025-Q4": Rate(0, 11),
    }


def test_escalations_by_age_all_hidden_but_the_total(report: Report) -> None:
    ages = report.escalations
    assert ages.as_of.date() == date(2025, 12, 31)
    # 0-7 (a1) and 31+ (c1) are one person each: together 2, so 8-30 (3 people) is hidden as well.
    assert all(count.suppressed for _, count in ages.buckets)
    assert ages.total == Count(5)


def test_reading_a_report_changes_no_file(db: Path) -> None:
    with Store(db) as store:
        ProgrammeService(store, ProgrammeSettings())  # the first open moves collections to their own files
    before = data_files(db)
    with Store(db) as store:
        programme_report(ProgrammeService(store, ProgrammeSettings()), now=REPORT_NOW, until="2025-12")
    assert data_files(db) == before


# ---- the suppression rule on its own -------------------------------------------------------------


def people(*names: str) -> frozenset[str]:
    return frozenset(names)


def test_suppress_row_rules() -> None:
    big, other = people("a", "b", "c", "d"), people("e", "f", "g")
    assert suppress_row([big, other]) == ((False, False), False)
    # One small cell: the smallest shown cell goes with it.
    assert suppress_row([big, people("x"), other]) == ((False, True, True), False)
    # Two small cells that together cover 3 people need nobody else hidden.
    assert suppress_row([big, people("x", "y"), people("z")]) == ((False, True, True), False)
    # An empty cell is hidden too ("<3" must not mean "one or two").
    assert suppress_row([big, people(), other]) == ((False, True, True), False)
    # A total about fewer than 3 people hides everything.
    assert suppress_row([people("x"), people("y")]) == ((True, True), True)


def test_small_populations_hide_rates_and_counts() -> None:
    registers = [Register("2025-01", "g", people("a", "b"), people())]
    rows, totals = attendance_figures(["2025-01"], registers, {"g": "G"})
    assert rows[0].attendance.suppressed and totals[0].rate.suppressed
    invited = {("2025-01", "g"): people("a", "b")}
    answers = [RsvpRecord("2025-01", "g", "a", "attending", None)]
    assert rsvp_figures(["2025-01"], invited, answers)[0].rate.suppressed
    one_pair = [PairRound(1, date(2025, 1, 6), (Pair(("a", "b")),))]
    pairs = pairs_figures(["2025-01"], one_pair, [PeerRecord("2025-01", 1, "a", True)])[0]
    assert pairs.met.suppressed and pairs.not_met.suppressed and pairs.rate.suppressed
    absences = absence_figures(["2025-01"], [RsvpRecord("2025-01", "g", "a", "not_attending", "sickness")])
    assert absences[0].total.suppressed and all(c.suppressed for _, c in absences[0].counts)
    as_of = datetime(2025, 2, 1, tzinfo=UTC)
    shown = escalation_figures(
        [EscalationRecord(x, datetime(2025, 1, 30, tzinfo=UTC), "open") for x in "abc"]
        + [EscalationRecord(x, datetime(2025, 1, 10, tzinfo=UTC), "open") for x in "def"]
        + [EscalationRecord(x, datetime(2024, 11, 1, tzinfo=UTC), "acknowledged") for x in "ghi"],
        as_of,
    )
    assert [c for _, c in shown.buckets] == [Count(3), Count(3), Count(3)] and shown.total == Count(9)


# ---- the command: tables, JSON, CSV, PNG ----------------------------------------------------------


def report_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run(capsys, "report", *args)


def test_terminal_tables(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report_cli(capsys, "--db", str(db), "--until", "2025-12")
    assert code == 0
    # A v1 deployment's report is as before, under the name of its one programme.
    assert out.startswith(
        "Programme: Peer reflection (main)\nProgramme report: 2025-01 to 2025-12 (12 months)"
    )
    lines = out.splitlines()
    tiny = next(line for line in lines if line.startswith("Tiny D"))
    assert tiny.split()[2:] == [SUPPRESSED_MARK] * 12  # "Tiny D" then 12 hidden months
    health = next(line for line in lines if line.startswith("Health Coaches A"))
    assert "75%" in health.split()  # March
    header = next(line for line in lines if line.startswith("Group "))
    assert header.index("2025-03") + len("2025-03") == health.index("75%") + len("75%")  # aligned
    march = next(line for line in lines if line.startswith("2025-03") and "RSVP" not in line)
    assert "15/21 71%" in march and "18/21 86%" in march


def test_json_output(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report_cli(capsys, "--db", str(db), "--until", "2025-12", "--months", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["months"] == ["2025-10", "2025-11", "2025-12"]
    tiny = [row for row in data["attendance"] if row["group"] == "g-d"]
    assert len(tiny) == 3
    assert all(r["suppressed"] and r["present"] is None and r["rate"] is None for r in tiny)


def test_csv_parses_back(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "report.csv"
    target.parent.mkdir()
    code, out, _ = report_cli(capsys, "--db", str(db), "--until", "2025-12", "--csv", str(target))
    assert code == 0 and f"CSV written to {target}" in out
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["section", "period", "group", "measure", "value", "suppressed"]
    index = {(r["section"], r["period"], r["group"], r["measure"]): r for r in rows}
    assert index[("attendance", "2025-03", "g-a", "rate")]["value"] == "0.75"
    assert index[("attendance", "2025-03", "g-a", "present")]["value"] == "6"
    tiny = index[("attendance", "2025-03", "g-d", "present")]
    assert tiny["value"] == "" and tiny["suppressed"] == "true"
    assert index[("absence_reasons", "2025-03", "all", "annual_leave")]["value"] == "4"
    assert index[("absence_reasons", "2025-03", "all", "other")]["suppressed"] == "true"
    assert index[("escalations", "2025-12-31", "all", "open_total")]["value"] == "5"
    # A suppressed row never carries a value, and every shown one does.
    assert all((r["value"] == "") == (r["suppressed"] == "true") for r in rows)
    assert not list(target.parent.glob(".*"))  # no temporary file left behind
    assert target.stat().st_mode & 0o777 == 0o600  # figures about people: readable by the owner only


def test_csv_cells_that_look_like_formulas_are_neutralised(report: Report) -> None:
    hostile = ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)")
    rows = tuple(
        dataclasses.replace(row, group_id=hostile[i % len(hostile)])
        for i, row in enumerate(report.attendance[: len(hostile)])
    )
    parsed = list(csv.reader(io.StringIO(report_csv(dataclasses.replace(report, attendance=rows)))))
    groups = {row[2] for row in parsed[1:] if row[0] == "attendance"}
    # Kept as data, but a spreadsheet shows them as text instead of running them.
    assert {"'" + value for value in hostile} <= groups
    assert not [cell for row in parsed[1:] for cell in row[:4] if cell[:1] in ("=", "+", "-", "@")]


def test_csv_to_stdout(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report_cli(capsys, "--db", str(db), "--until", "2025-12", "--csv", "-")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "period", "group", "measure", "value", "suppressed"]
    assert ["rsvp", "2025-03", "all", "answered", "18", "false"] in rows


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_png_charts(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    charts = tmp_path / "charts"  # created by the command
    code, out, _ = report_cli(capsys, "--db", str(db), "--until", "2025-12", "--png", str(charts))
    assert code == 0
    names = sorted(p.name for p in charts.iterdir())
    assert names == ["attendance.png", "escalations.png", "pairs.png", "rsvp.png"]
    for name in names:
        data = (charts / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1024
        assert (charts / name).stat().st_mode & 0o777 == 0o600
        assert f"Chart written to {charts / name}" in out


def test_unwritable_paths_are_clear_errors(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-dir" / "report.csv"
    code, _, err = report_cli(capsys, "--db", str(db), "--until", "2025-12", "--csv", str(missing))
    assert code == 1 and f"reflect: cannot write {missing}" in err
    assert not missing.parent.exists()
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    code, _, err = report_cli(capsys, "--db", str(db), "--until", "2025-12", "--png", str(a_file / "charts"))
    assert code == 1 and "reflect: cannot write charts into" in err
    code, _, err = report_cli(capsys, "--db", str(db), "--csv", "-", "--json")
    assert code == 2 and "choose one" in err


def test_an_empty_programme_reports_nothing_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = report_cli(
        capsys, "--db", str(tmp_path / "empty.json"), "--months", "2", "--until", "2025-12"
    )
    assert code == 0
    assert "No register taken in these months." in out
    assert "No pairing round in these months." in out


# ---- the coordinators' card ----------------------------------------------------------------------


def test_report_card_validates_and_suppresses_the_same_way(service: ProgrammeService, report: Report) -> None:
    coordinator = Actor(Person("cora@x.org", "Cora", "Coordinator", coordinator=True))
    reports = Reports(service, lambda: datetime(2025, 12, 20, 12, 0, tzinfo=UTC))
    with pytest.raises(NotAllowedError):
        reports.by_programme(Actor(Person("ann@x.org", "Ann", "Nurse")))
    (section,) = reports.by_programme(coordinator)  # a v1 deployment: its one programme
    assert (section.programme_id, section.name) == ("main", "Peer reflection")
    card = build_report_card(report_card_view(section.report, section.name))
    assert validate_card(card) == []
    assert serialised_size(card) < 80 * 1024
    dumped = json.dumps(card)
    assert "@" not in dumped  # counts and group names only, never a person
    assert "October 2025 to December 2025" in dumped
    full = build_report_card(report_card_view(report))
    assert validate_card(full) == [] and serialised_size(full) < 80 * 1024
    tables = [node for node in full["body"] if node["type"] == "Table"]
    absence_rows = tables[1]["rows"]
    march = next(r for r in absence_rows if r["cells"][0]["items"][0]["text"] == "Mar 2025")
    values = [cell["items"][0]["text"] for cell in march["cells"][1:]]
    assert values == ["4", SUPPRESSED_MARK, SUPPRESSED_MARK, SUPPRESSED_MARK, "8"]
    facts = {
        f["title"]: f["value"] for node in full["body"] if node["type"] == "FactSet" for f in node["facts"]
    }
    assert facts["Tiny D"] == SUPPRESSED_MARK
    assert facts["Total open"] == "5" and facts["0-7 days"] == SUPPRESSED_MARK
