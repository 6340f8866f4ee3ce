"""Long commands show a progress bar on a terminal, and nothing extra otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROSTER = "email,name,role\n" + "".join(f"p{i}@x.org,Person {i},Coach\n" for i in range(300))


def _run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal, as a coordinator would."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", *args], stdout=follower, stderr=follower, cwd=ROOT, env=env
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(60), b"".join(chunks).decode(errors="replace")


def test_roster_import_on_a_terminal_shows_counts_and_rate(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    status, screen = _run_on_terminal(["roster", "import", str(roster), "--db", str(tmp_path / "r.json")])
    assert status == 0, screen
    assert "importing" in screen and "300/300" in screen and "person/s" in screen
    assert "300 added" in screen


def test_no_bar_with_json_or_without_a_terminal(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    status, screen = _run_on_terminal(
        ["roster", "import", str(roster), "--db", str(tmp_path / "a.json"), "--json"]
    )
    assert status == 0 and "importing" not in screen and "/s" not in screen
    piped = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "roster",
            "import",
            str(roster),
            "--db",
            str(tmp_path / "b.json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    assert piped.stderr == "" and piped.stdout.startswith("Imported")


def test_run_due_on_a_terminal_shows_jobs_and_delivery(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    db = str(tmp_path / "r.json")
    settings = tmp_path / "reflect.toml"
    settings.write_text(f'[mail]\nbackend = "pickup"\npickup_dir = "{tmp_path}/mail"\n')
    common = ["--db", db, "--settings", str(settings)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (
        ["roster", "import", str(roster), "--today", "2026-11-02"],
        ["groups", "allocate", "--today", "2026-11-02"],
    ):
        subprocess.run(
            [sys.executable, "-m", "cli", *args, *common],
            check=True,
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
    status, screen = _run_on_terminal(["run-due", "--now", "2026-11-26T09:30:00+00:00", *common])
    assert status == 0, screen
    assert "programme jobs" in screen and "job/s" in screen
    assert "delivering" in screen and "msg/s" in screen
