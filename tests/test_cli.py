"""The `reflect` CLI end to end on a real data file: the JSON contract of PRODUCT.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.cli_run import data_files, run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample-roster.csv"


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "reflect.json"
    code, out, _ = run(capsys, "roster", "import", str(SAMPLE), "--db", str(path), "--today", "2026-11-23")
    assert code == 0 and "60 added" in out
    return path


def test_import_summary_and_reimport(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = SAMPLE.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    changed = rows[1].replace("Health Coach", "Senior Health Coach")
    smaller = tmp_path / "next.csv"
    smaller.write_text(
        "\n".join(
            [header, rows[0], changed, *rows[3:], "new.person@example.org,New Person,Health Coach,,,,,,,,,"]
        )
        + "\n"
    )
    code, out, _ = run(
        capsys, "roster", "import", str(smaller), "--db", str(db), "--json", "--today", "2026-12-01"
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["added"] == ["new.person@example.org"]
    assert summary["updated"] == [rows[1].split(",")[0]]
    assert summary["left"] == [rows[2].split(",")[0]]
    assert summary["unchanged"] == 58
    code, out, _ = run(capsys, "roster", "list", "--all", "--json", "--db", str(db))
    people = {p["email"]: p for p in json.loads(out)["people"]}
    assert people[rows[2].split(",")[0]]["left_on"] == "2026-12-01"  # history kept


def test_bad_roster_changes_nothing(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = data_files(db)
    bad = tmp_path / "bad.csv"
    text = SAMPLE.read_text().splitlines()
    fields = text[5].split(",")
    fields[5] = "70"
    text[5] = ",".join(fields)
    first, rest = text[3].split(",", 1)
    text[9] = f"{first.upper()},{rest}"  # a duplicate by case of line 4
    bad.write_text("\n".join(text) + "\n")
    code, out, err = run(capsys, "roster", "import", str(bad), "--db", str(db))
    assert code == 1 and out == ""
    problems = err.strip().splitlines()
    assert problems[0].startswith(f"{bad}:6: hours_per_week")
    assert problems[1].startswith(f"{bad}:10: duplicate email")
    assert problems[-1].endswith("nothing was imported")
    assert data_files(db) == before


def test_groups_allocate_and_show_contract(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "groups", "allocate", "--json", "--db", str(db))
    assert code == 0
    allocation = json.loads(out)
    assert set(allocation) >= {"groups", "unplaced"}
    emails = set()
    for group in allocation["groups"]:
        assert set(group) == {"id", "name", "weekday", "facilitator", "cohort", "members", "programme"}
        assert group["programme"] == "main"  # a v1 deployment's one programme
        assert group["weekday"] in {"Thursday", "Tuesday"}
        assert 3 <= len(group["members"]) <= 8
        assert all(m == m.lower() for m in group["members"])
        emails.update(group["members"])
    for entry in allocation["unplaced"]:
        assert set(entry) == {"email", "reason", "programme"} and entry["reason"]
        emails.add(entry["email"])
    assert len(emails) == 60 - 9  # every non-facilitator exactly once
    code, shown, _ = run(capsys, "groups", "show", "--json", "--db", str(db))
    assert json.loads(shown) == allocation
    code, again, _ = run(capsys, "groups", "allocate", "--json", "--db", str(db))
    assert json.loads(again) == allocation  # stable


def test_pairs_rotate_contract(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pairs", "rotate", "--json", "--db", str(db), "--today", "2026-11-23")
    assert code == 0
    first = json.loads(out)
    assert first["round"] == 1
    seen = [e for p in first["pairs"] for e in p["peers"]] + [u["email"] for u in first["unpaired"]]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 60
    for pair in first["pairs"]:
        assert 2 <= len(pair["peers"]) <= 3
        assert set(pair["receives_only"]) < set(pair["peers"])
    code, out, _ = run(capsys, "pairs", "rotate", "--json", "--db", str(db), "--today", "2026-11-23")
    second = json.loads(out)
    assert second["round"] == 2
    before = {frozenset(p["peers"]) for p in first["pairs"]}
    for pair in second["pairs"]:
        for a in pair["peers"]:
            for b in pair["peers"]:
                assert a == b or not any({a, b} <= group for group in before)
    code, shown, _ = run(capsys, "pairs", "show", "--json", "--db", str(db))
    assert json.loads(shown) == second


def test_probation_members_receive_only(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    in_probation = {
        line.split(",")[0]
        for line in SAMPLE.read_text().splitlines()[1:]
        if line.split(",")[7] and line.split(",")[7] > "2026-11-23"
    }
    assert in_probation
    _, out, _ = run(capsys, "pairs", "rotate", "--json", "--db", str(db), "--today", "2026-11-23")
    receives = {e for p in json.loads(out)["pairs"] for e in p["receives_only"]}
    assert receives == in_probation


def test_schedule_contract(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "groups", "allocate", "--db", str(db))
    code, out, _ = run(capsys, "schedule", "--months", "2", "--from", "2027-03", "--json", "--db", str(db))
    assert code == 0
    sessions = json.loads(out)["sessions"]
    groups = json.loads(run(capsys, "groups", "show", "--json", "--db", str(db))[1])["groups"]
    assert len(sessions) == 2 * len(groups)
    by_month = {s["start"][:7] for s in sessions}
    assert by_month == {"2027-03", "2027-04"}
    assert {s["start"][-6:] for s in sessions if s["start"].startswith("2027-03")} == {"+00:00"}
    assert {s["start"][-6:] for s in sessions if s["start"].startswith("2027-04")} == {"+01:00"}


def test_settings_file_changes_the_programme(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "reflect.toml"
    settings.write_text(
        '[programme]\nweekday = "Wednesday"\nfallback_weekdays = ["Monday"]\nmax_group_size = 5\n'
    )
    code, out, _ = run(capsys, "groups", "allocate", "--json", "--db", str(db), "--settings", str(settings))
    assert code == 0
    groups = json.loads(out)["groups"]
    assert {g["weekday"] for g in groups} <= {"Wednesday", "Monday"}
    assert max(len(g["members"]) for g in groups) <= 5


def test_errors_are_clear_and_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "roster", "import", str(tmp_path / "missing.csv"), "--db", str(tmp_path / "x.json")
    )
    assert code == 1 and "cannot read" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[programme]\nweekday = 'Someday'\n")
    code, _, err = run(capsys, "groups", "show", "--db", str(tmp_path / "x.json"), "--settings", str(bad))
    assert code == 1 and "weekday" in err
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_uses_reflect_db(db: Path) -> None:
    env = {**os.environ, "REFLECT_DB": str(db)}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "groups", "show", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(result.stdout)["groups"] == []
