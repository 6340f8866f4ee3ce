"""`reflect run-due` end to end with the pickup mailer: invites once, updates, concurrent runs."""

from __future__ import annotations

import email
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import icalendar
import pytest

from cli.main import main
from repositories.jobs import JobRunsRepository
from repositories.meetings import MeetingsRepository
from service.outbox import Outbox
from store import Store
from tests.worlds import Row, place_groups, roster_csv

ROOT = Path(__file__).resolve().parents[1]
ROSTER = (
    Row("fay", facilitator=True),
    Row("ann"),
    Row("bo"),
    Row("cy", coordinator=True),
    Row("di"),
)
# December 2026 sessions: Thursday 10th; invites are due 14 days before, on 26 November.
INVITE_TIME = "2026-11-26T09:00:00+00:00"


def programme_on(tmp_path: Path, today: str) -> tuple[Path, Path, Path]:
    """A data file with ROSTER imported and allocated on `today`; settings that mail to a folder."""
    db, settings, mail = tmp_path / "reflect.json", tmp_path / "reflect.toml", tmp_path / "mail"
    settings.write_text(f'[mail]\nbackend = "pickup"\npickup_dir = "{mail}"\nmailbox = "reflect@x.org"\n')
    roster = tmp_path / "roster.csv"
    roster.write_bytes(roster_csv(ROSTER))
    assert main(["roster", "import", str(roster), "--db", str(db), "--today", today]) == 0
    assert main(["groups", "allocate", "--db", str(db), "--today", today]) == 0
    return db, settings, mail


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    return programme_on(tmp_path, "2026-11-20")


def invites(mail: Path) -> list[tuple[Message, icalendar.Calendar]]:
    found = []
    for path in sorted(mail.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                found.append((message, icalendar.Calendar.from_ical(part.get_payload(decode=True))))
    return found


def run_due(db: Path, settings: Path, now: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "run-due",
            "--now",
            now,
            "--db",
            str(db),
            "--settings",
            str(settings),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_dry_run_lists_and_changes_nothing(setup: tuple[Path, Path, Path]) -> None:
    db, settings, mail = setup
    result = run_due(db, settings, INVITE_TIME, "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    due = [job["job"] for job in json.loads(result.stdout)["due"]]
    assert "invites:2026-12" in due
    assert not mail.exists()
    with Store(db) as store:
        assert not JobRunsRepository(store).has_run("2026-12", "invites:2026-12")
        assert MeetingsRepository(store).all() == {}
        assert Outbox(store).due(datetime(2027, 1, 1, tzinfo=UTC), 10) == []


def test_invites_go_out_once_and_changes_update_them(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db, settings, mail = setup
    first = run_due(db, settings, INVITE_TIME)
    assert first.returncode == 0, first.stderr
    assert "invites:2026-12: 1 message(s) queued" in first.stdout
    sent = invites(mail)
    assert len(sent) == 1
    message, calendar = sent[0]
    event = next(iter(calendar.walk("VEVENT")))
    assert calendar["METHOD"] == "REQUEST" and int(event["SEQUENCE"]) == 0
    attendees = sorted(str(a).removeprefix("mailto:").lower() for a in event.get("ATTENDEE"))
    assert attendees == ["ann@x.org", "bo@x.org", "cy@x.org", "di@x.org", "fay@x.org"]
    assert event["DTSTART"].dt.isoformat() == "2026-12-10T10:00:00+00:00"

    # Same moment again: nothing new.
    again = run_due(db, settings, INVITE_TIME)
    assert again.returncode == 0 and "0 job(s) run" in again.stdout
    assert len(invites(mail)) == 1

    # Di leaves: the next run updates the meeting (higher SEQUENCE, Di no longer invited).
    roster = tmp_path / "next.csv"
    roster.write_bytes(roster_csv(row for row in ROSTER if row.key != "di"))
    assert main(["roster", "import", str(roster), "--db", str(db), "--today", "2026-11-27"]) == 0
    assert main(["groups", "allocate", "--db", str(db), "--today", "2026-11-27"]) == 0
    update = run_due(db, settings, "2026-11-27T09:00:00+00:00")
    assert update.returncode == 0, update.stderr
    versions = [(m, c) for m, c in invites(mail) if c["METHOD"] == "REQUEST"]
    assert len(versions) == 2
    # Di is taken off the meeting as Exchange does it: a CANCEL for her attendance only, to her
    # only, at the update's SEQUENCE, without STATUS:CANCELLED (the meeting goes on for the others).
    (uninvite,) = [(m, c) for m, c in invites(mail) if c["METHOD"] == "CANCEL"]
    assert uninvite[0]["To"] == "di@x.org"
    removal = next(iter(uninvite[1].walk("VEVENT")))
    assert str(removal.get("ATTENDEE")).lower() == "mailto:di@x.org"  # one ATTENDEE: not a list
    assert int(removal["SEQUENCE"]) == 1 and "STATUS" not in removal
    events = sorted((next(iter(c.walk("VEVENT"))) for _, c in versions), key=lambda e: int(e["SEQUENCE"]))
    latest = events[-1]
    event = latest
    assert int(event["SEQUENCE"]) == 1
    assert "mailto:di@x.org" not in [str(a).lower() for a in event.get("ATTENDEE")]
    assert str(event["UID"]) == str(next(iter(sent[0][1].walk("VEVENT")))["UID"])


def test_two_concurrent_runs_send_each_invite_once(setup: tuple[Path, Path, Path]) -> None:
    db, settings, mail = setup
    command = [
        sys.executable,
        "-m",
        "cli",
        "run-due",
        "--now",
        INVITE_TIME,
        "--db",
        str(db),
        "--settings",
        str(settings),
        "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    jobs = [job["job"] for out, _ in outputs for job in json.loads(out)["jobs"]]
    assert sorted(jobs).count("invites:2026-12") == 1  # one process ran it, the other found it done
    assert len(invites(mail)) == 1


TWELVE = ROSTER + tuple(
    Row(e, name=f"{e.title()} Person") for e in ("ed", "flo", "gus", "hal", "ida", "jo", "kim")
)


def recipients(mail: Path) -> list[tuple[str, list[str]]]:
    """(subject, To addresses) of every file written."""
    found = []
    for path in sorted(mail.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        found.append((str(message["Subject"]), [a.strip().lower() for a in str(message["To"]).split(",")]))
    return found


def test_leavers_get_no_goals_mail_invites_or_prompts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, settings, mail = tmp_path / "reflect.json", tmp_path / "reflect.toml", tmp_path / "mail"
    settings.write_text(f'[mail]\nbackend = "pickup"\npickup_dir = "{mail}"\nmailbox = "reflect@x.org"\n')
    roster, after = tmp_path / "roster.csv", tmp_path / "after.csv"
    roster.write_bytes(roster_csv(TWELVE))
    after.write_bytes(roster_csv(row for row in TWELVE if row.key != "di"))
    common = ("--db", str(db), "--settings", str(settings))
    assert main(["roster", "import", str(roster), "--today", "2027-01-05", *common]) == 0
    assert main(["groups", "allocate", "--today", "2027-01-05", *common]) == 0
    assert main(["pairs", "rotate", "--today", "2027-01-05", *common]) == 0
    assert main(["roster", "import", str(after), "--today", "2027-03-10", *common]) == 0
    capsys.readouterr()
    assert main(["pairs", "show", *common]) == 0 and main(["groups", "show", *common]) == 0
    shown = capsys.readouterr().out
    assert "di@x.org (left)" in shown and shown.count("(left)") == 2  # in her pair and her group
    result = run_due(db, settings, "2027-04-01T09:30:00+00:00")
    assert result.returncode == 0, result.stderr
    assert "goals:2027-Q2" in result.stdout and "invites:2027-04" in result.stdout
    sent = recipients(mail)
    assert any(subject.startswith("Quarterly goal-setting") for subject, _ in sent)
    assert any(subject.startswith("Peer reflection") for subject, _ in sent)
    assert not [(subject, to) for subject, to in sent if "di@x.org" in to]
    # Nor any Teams prompt queued for her: peer checks, nudges, goal cards, check-outs, registers.
    with Store(db) as store:
        outbox = Outbox(store)
        queued = [e.message for e in outbox.due(datetime(2027, 12, 1, tzinfo=UTC), 10_000)]
        for key, doc in outbox.records().items():
            assert "di@x.org" not in doc["recipient"].split(","), key
    assert all("di@x.org" not in m.recipient for m in queued)


def test_a_retired_groups_cancellation_does_not_go_to_a_leaver(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    db, settings, mail = setup
    assert run_due(db, settings, INVITE_TIME).returncode == 0
    roster = tmp_path / "next.csv"
    roster.write_bytes(roster_csv(row for row in ROSTER if row.key != "di"))
    assert main(["roster", "import", str(roster), "--db", str(db), "--today", "2026-11-27"]) == 0
    # The group is dissolved before any run took Di off its meeting: the whole meeting is cancelled.
    with Store(db) as store:
        place_groups(store, [], datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    result = run_due(db, settings, "2026-11-27T09:00:00+00:00")
    assert result.returncode == 0, result.stderr
    (cancel,) = [(m, c) for m, c in invites(mail) if c["METHOD"] == "CANCEL"]
    event = next(iter(cancel[1].walk("VEVENT")))
    assert event["STATUS"] == "CANCELLED"
    assert "di@x.org" not in str(cancel[0]["To"])
    assert "mailto:di@x.org" not in [str(a).lower() for a in event.get("ATTENDEE")]


def test_groups_allocated_after_the_invite_day_get_their_invites_at_once(tmp_path: Path) -> None:
    # December's invite day (26 November) has passed when the first groups are allocated.
    db, settings, mail = programme_on(tmp_path, "2026-11-30")
    result = run_due(db, settings, "2026-11-30T09:30:00+00:00")
    assert result.returncode == 0, result.stderr
    assert "invites:2026-12: 1 message(s) queued" in result.stdout
    (sent,) = invites(mail)
    assert sent[1]["METHOD"] == "REQUEST"
    # The RSVP reminder that follows points to a meeting request that exists.
    reminder = run_due(db, settings, "2026-12-09T09:30:00+00:00")
    assert "rsvp_reminder:2026-12:thu-coach-1" in reminder.stdout and len(invites(mail)) == 1


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_backend_that_cannot_be_reached_fails_the_run_visibly(setup: tuple[Path, Path, Path]) -> None:
    db, settings, _ = setup
    port = closed_port()
    settings.write_text(
        '[mail]\nbackend = "graph"\nmailbox = "reflect@x.org"\ntenant_id = "contoso.example"\n'
        f'client_id = "app"\ngraph_url = "http://127.0.0.1:{port}/v1.0"\nlogin_url = "https://127.0.0.1:{port}"\n'
    )
    command = [sys.executable, "-m", "cli", "run-due", "--now", INVITE_TIME]
    result = subprocess.run(
        [*command, "--db", str(db), "--settings", str(settings)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "REFLECT_MAIL_CLIENT_SECRET": "not-a-real-secret"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "invites:2026-12: 1 message(s) queued" in result.stdout
    assert "1 outbox message(s) processed: 0 sent" in result.stdout
    assert "reflect: 1 outbox message(s) not sent" in result.stderr and "Graph sign-in" in result.stderr
    assert "not-a-real-secret" not in result.stdout + result.stderr
    with Store(db) as store:
        (entry,) = Outbox(store).records().values()  # the outcome as recorded, journal included
    assert entry["status"] in ("pending", "failed") and entry["attempts"] == 1
