"""The append-only journal: durable appends, torn tails, positions, and the outbox's use of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.outbox import OutboundMessage, Outbox, Status
from store import Store
from support.journal import Journal

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


def test_appends_read_back_in_order_and_from_a_position(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "j"))
    assert journal.read("2026-11") == ([], None)
    journal.append("2026-11", [{"key": "a", "n": 1}, {"key": "b", "n": 2}])
    records, position = journal.read("2026-11")
    assert records == [{"key": "a", "n": 1}, {"key": "b", "n": 2}]
    journal.append("2026-11", [{"key": "a", "n": 3}])
    assert journal.read("2026-11", position)[0] == [{"key": "a", "n": 3}]
    assert journal.periods() == ["2026-11"]
    assert oct((tmp_path / "j" / "2026-11.jsonl").stat().st_mode & 0o777) == "0o600"


def test_a_torn_last_line_is_skipped_and_cut_off_by_the_next_append(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "j"))
    journal.append("p", [{"key": "a"}])
    with (tmp_path / "j" / "p.jsonl").open("ab") as handle:
        handle.write(b'{"key": "half')  # a writer killed mid-append
    assert journal.read("p")[0] == [{"key": "a"}]
    journal.append("p", [{"key": "b"}])
    assert journal.read("p")[0] == [{"key": "a"}, {"key": "b"}]
    assert (tmp_path / "j" / "p.jsonl").read_bytes().count(b"half") == 0


def test_clearing_restarts_readers_at_the_beginning(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "j"))
    journal.append("p", [{"key": "a"}])
    _, position = journal.read("p")
    journal.clear("p")
    journal.append("p", [{"key": "b"}])
    assert journal.read("p", position)[0] == [{"key": "b"}]


_CHILD = """
import sys
from support.journal import Journal
journal = Journal(sys.argv[1])
print("READY", flush=True)
n = 0
while True:
    journal.append("p", [{"key": f"r{sys.argv[2]}-k{n + i}", "pad": "x" * 400} for i in range(20)])
    n += 20
    print(f"ACK {n}", flush=True)
"""


def test_kill_9_during_appends_loses_no_acknowledged_record(tmp_path: Path) -> None:
    directory = str(tmp_path / "j")
    acked = 0
    for run in range(15):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, directory, str(run)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert child.stdout is not None and child.stdout.readline() == "READY\n"
        time.sleep(0.02 + run * 0.01)
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate()
        lines = [line for line in out.splitlines(keepends=True) if line.endswith("\n")]
        run_acked = int(lines[-1].split()[1]) if lines else 0
        records, _ = Journal(directory).read("p")
        keys = {record["key"] for record in records}
        # Every acknowledged append of this run (and of the runs before) is on disk.
        assert {f"r{run}-k{i}" for i in range(run_acked)} <= keys
        acked += run_acked
    assert acked > 0


def _message(i: int) -> OutboundMessage:
    return OutboundMessage(
        key=f"announcement:2026-11:a1:p{i}@x.org",
        period="2026-11",
        recipient=f"p{i}@x.org",
        kind="announcement",
        text="hello",
        batch="a1",
    )


def test_outcomes_are_journalled_seen_by_another_outbox_and_folded_into_the_entries(tmp_path: Path) -> None:
    with Store(tmp_path / "db.json") as store:
        outbox = Outbox(store)
        outbox.enqueue([_message(i) for i in range(10)], T0)
        entries = outbox.due(T0, 10)
        outbox.record([e.sent(f"act-{i}", T0) for i, e in enumerate(entries[:6])])
        outbox.record([entries[6].retry(T0 + timedelta(minutes=5), "http 503")])
        other = Outbox(store)  # as another process would see it
        assert other.batch_counts("a1") == {"sent": 6, "pending": 4, "failed": 0, "unreachable": 0}
        assert len(other.due(T0, 10)) == 3  # the retry waits for its time
        assert (tmp_path / "db.json.d" / "outbox_outcomes" / "2026-11.jsonl").exists()
        outbox.fold_outcomes()
        assert (tmp_path / "db.json.d" / "outbox_outcomes" / "2026-11.jsonl").read_bytes() == b""
        for reader in (outbox, Outbox(store)):
            assert reader.batch_counts("a1") == {"sent": 6, "pending": 4, "failed": 0, "unreachable": 0}
            retried = reader.get("2026-11", entries[6].message.key)
            assert retried is not None and retried.status is Status.PENDING and retried.attempts == 1
            assert len(reader.due(T0 + timedelta(minutes=6), 10)) == 4
