"""The store under kill -9 and under two processes writing at once (real subprocesses)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import Store
from tests import store_writer as writer

ROOT = Path(__file__).resolve().parents[1]
WRITER = Path(writer.__file__).resolve()
KILLS = 40


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), *args], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "READY\n"
    return proc


def _temp_files(store_path: Path) -> list[Path]:
    return [*store_path.parent.glob(store_path.name + ".*.tmp"), *Path(f"{store_path}.d").rglob("*.tmp")]


def _assert_every_file_is_json(store_path: Path) -> None:
    for file in [store_path, *Path(f"{store_path}.d").rglob("*.json")]:
        with file.open("rb") as handle:
            assert isinstance(json.load(handle), dict), file


@pytest.fixture
def seeded_store(tmp_path: Path) -> Path:
    """A store already holding thousands of records, so each write takes a while."""
    path = tmp_path / "programme.json"
    seed = {"run": 0, "seq": 0, "pad": writer.PAD}
    with Store(path) as store:
        store.collection(writer.CHURN_COLLECTION).put_many(
            {f"p{i}": seed for i in range(writer.SEEDED_PEOPLE)}
        )
        store.log(writer.CHURN_LOG).put_many(
            writer.CHURN_PERIOD, {f"a{i}": seed for i in range(writer.SEEDED_ANSWERS)}
        )
        store.collection(writer.CHURN_SHARDED, shards=writer.CHURN_SHARDS).put_many(
            {f"p{i}": seed for i in range(writer.SEEDED_PEOPLE)}
        )
    return path


def test_kill_9_at_random_moments_loses_no_acknowledged_write(seeded_store: Path) -> None:
    rng = random.Random(20261101)
    # (kind, key) -> (run, seq) of the latest acknowledged write
    acked: dict[tuple[str, str], tuple[int, int]] = {}
    killed_mid_write = 0
    for run in range(1, KILLS + 1):
        proc = _spawn("churn", str(seeded_store), str(run), str(rng.randrange(1 << 30)))
        time.sleep(rng.uniform(0.01, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        last_seq = 0
        for line in out.splitlines(keepends=True):
            if not line.endswith("\n"):
                continue  # cut off by the kill: not acknowledged
            _, kind, key, line_run, seq = line.split()
            acked[(kind, key)] = (int(line_run), int(seq))
            last_seq = max(last_seq, int(seq))
        killed_mid_write += bool(_temp_files(seeded_store))

        _assert_every_file_is_json(seeded_store)
        with Store(seeded_store) as store:
            assert not _temp_files(seeded_store)
            stored = {
                "c": store.collection(writer.CHURN_COLLECTION).all(),
                "l": store.log(writer.CHURN_LOG).all(writer.CHURN_PERIOD),
                "s": store.collection(writer.CHURN_SHARDED).all(),
            }
        for (kind, key), version in acked.items():
            doc = stored[kind].get(key)
            assert doc is not None, f"run {run}: acknowledged {kind} {key} {version} lost"
            # A later write that was in flight at the kill may have landed too; never an older one.
            assert (doc["run"], doc["seq"]) >= version, f"run {run}: {kind} {key} went back"
        for docs in stored.values():
            # Nothing beyond the one write that was in flight when the child died.
            assert all(doc["seq"] <= last_seq + 1 for doc in docs.values() if doc["run"] == run)
        assert len(stored["c"]) >= writer.SEEDED_PEOPLE
        assert len(stored["l"]) >= writer.SEEDED_ANSWERS
        assert len(stored["s"]) == writer.SEEDED_PEOPLE
    print(f"{killed_mid_write} of {KILLS} kills left a temp file (interrupted mid-write)")
    assert killed_mid_write > 0, "no kill landed mid-write: the test did not exercise torn writes"


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "programme.json"
    go = tmp_path / "go"
    count = 300
    procs = [_spawn("distinct", str(path), prefix, str(count), str(go)) for prefix in ("bot", "cli")]
    go.touch()
    for proc in procs:
        proc.communicate()
        assert proc.returncode == 0

    _assert_every_file_is_json(path)
    expected = {f"{prefix}-{i}" for prefix in ("bot", "cli") for i in range(count)}
    with Store(path) as store:
        assert set(store.collection(writer.SHARED_COLLECTION).all()) == expected
        assert set(store.log(writer.SHARED_LOG).all(writer.SHARED_PERIOD)) == expected
        assert set(store.collection(writer.SHARED_SHARDED).all()) == expected
    with path.open("rb") as handle:
        records = json.load(handle)[writer.SHARED_COLLECTION]
    assert len(records) == 2 * count  # distinct TinyDB doc ids: neither process reused the other's
