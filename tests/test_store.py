"""Unit tests of the store's API: documents, names, schema versions, caches shared across handles."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import SCHEMA_VERSION, Store, StoreError, migrations

BAD_NAMES = [
    "",
    ".",
    "..",
    "a/b",
    "/abs",
    "../up",
    ".hidden",
    "_meta",
    "-x",
    "a b",
    "a\x00b",
    "a.b",
    "x" * 101,
]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "programme.json"


@pytest.fixture
def store(path: Path) -> Any:
    with Store(path) as opened:
        yield opened


def _raw(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def test_collection_put_get_and_copies(store: Store) -> None:
    people = store.collection("people")
    doc: dict[str, Any] = {"name": "Alice", "tags": ["a"], "nested": {"n": 1}}
    people.put("alice@x.org", doc)
    doc["tags"].append("mutated after put")
    got = people.get("alice@x.org")
    assert got == {"name": "Alice", "tags": ["a"], "nested": {"n": 1}}
    assert got is not None
    got["nested"]["n"] = 99
    people.all()["alice@x.org"]["tags"].append("mutated after all")
    assert people.get("alice@x.org") == {"name": "Alice", "tags": ["a"], "nested": {"n": 1}}
    assert people.get("bob@x.org") is None


def test_put_replaces_and_put_many_inserts_and_replaces(store: Store) -> None:
    people = store.collection("people")
    people.put("a", {"v": 1, "old": True})
    people.put("a", {"v": 2})
    assert people.get("a") == {"v": 2}
    people.put_many({"a": {"v": 3}, "b": {"v": 1}, "c": {"v": 1}})
    assert people.all() == {"a": {"v": 3}, "b": {"v": 1}, "c": {"v": 1}}
    assert len(people) == 3


def test_replace_all_makes_the_table_exactly_docs(store: Store) -> None:
    groups = store.collection("groups")
    groups.put_many({"g1": {"n": 1}, "g2": {"n": 2}})
    groups.replace_all({"g2": {"n": 20}, "g3": {"n": 3}})
    assert groups.all() == {"g2": {"n": 20}, "g3": {"n": 3}}
    groups.put("g4", {"n": 4})
    groups.replace_all({})
    assert groups.all() == {}
    assert len(groups) == 0


def test_delete(store: Store) -> None:
    people = store.collection("people")
    people.put_many({"a": {}, "b": {}})
    assert people.delete("a") is True
    assert people.delete("a") is False
    assert people.delete("never") is False
    assert people.all() == {"b": {}}


def test_keys_are_arbitrary_strings(store: Store) -> None:
    keys = ["2026-11:g3:alice@x.org", "../../etc/passwd", "a/b", "", "ünï cödé", "{}"]
    people = store.collection("people")
    people.put_many({key: {"k": key} for key in keys})
    answers = store.log("answers")
    answers.put_many("2026-11", {key: {"k": key} for key in keys})
    for key in keys:
        assert people.get(key) == {"k": key}
        assert answers.get("2026-11", key) == {"k": key}


@pytest.mark.parametrize("doc", [{"when": object()}, {"s": {1, 2}}, {1: "non-string key"}, {"big": 2**64}])
def test_non_json_documents_are_refused_and_change_nothing(store: Store, doc: Any) -> None:
    people = store.collection("people")
    people.put("a", {"ok": True})
    with pytest.raises(StoreError):
        people.put("a", doc)
    with pytest.raises(StoreError):
        store.log("answers").put("2026-11", "a", doc)
    with pytest.raises(StoreError):
        people.put("\ud800", {})  # a lone surrogate cannot be written as JSON
    assert people.all() == {"a": {"ok": True}}


def test_log_put_get_delete_all_and_periods(store: Store) -> None:
    answers = store.log("answers")
    assert answers.periods() == []
    answers.put("2026-11", "alice", {"a": 1})
    answers.put_many("2026-10", {f"person{i}": {"i": i} for i in range(50)})
    answers.put("2026-10", "person3", {"i": 300})
    assert answers.periods() == ["2026-10", "2026-11"]
    assert answers.get("2026-11", "alice") == {"a": 1}
    assert answers.get("2026-10", "alice") is None
    assert answers.get("2027-01", "alice") is None
    october = answers.all("2026-10")
    assert len(october) == 50
    assert october["person3"] == {"i": 300}
    assert answers.delete("2026-10", "person3") is True
    assert answers.delete("2026-10", "person3") is False
    assert len(answers.all("2026-10")) == 49
    assert answers.all("2027-01") == {}
    got = answers.get("2026-11", "alice")
    assert got is not None
    got["a"] = 2
    assert answers.get("2026-11", "alice") == {"a": 1}


def test_log_spreads_records_over_shard_files(store: Store, path: Path) -> None:
    answers = store.log("answers", shards=4)
    answers.put_many("2026-11", {f"person{i}@x.org": {"i": i} for i in range(200)})
    shard_files = sorted(p.name for p in Path(f"{path}.d/answers/2026-11").iterdir())
    assert shard_files == ["0.json", "1.json", "2.json", "3.json"]
    sizes = [len(_raw(Path(f"{path}.d/answers/2026-11/{name}"))["_default"]) for name in shard_files]
    assert sum(sizes) == 200
    assert min(sizes) > 20


def test_log_shard_count_is_fixed_per_log(store: Store) -> None:
    store.log("answers", shards=4)
    assert store.log("answers", shards=4).name == "answers"
    with pytest.raises(StoreError, match="4 shards"):
        store.log("answers", shards=8)
    with pytest.raises(StoreError):
        store.log("other", shards=0)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_that_could_escape_or_collide_are_refused(store: Store, name: str) -> None:
    with pytest.raises(StoreError):
        store.collection(name)
    with pytest.raises(StoreError):
        store.log(name)
    answers = store.log("answers")
    with pytest.raises(StoreError):
        answers.put(name, "key", {})
    with pytest.raises(StoreError):
        answers.all(name)


def test_collection_and_log_names(store: Store) -> None:
    assert store.collection_names() == []
    assert store.log_names() == []
    store.collection("people").put("a", {})
    store.collection("groups").put("g", {})
    store.collection("never-written")
    store.log("outbox")
    store.log("answers").put("2026-11", "a", {})
    assert store.collection_names() == ["groups", "people"]
    assert store.log_names() == ["answers", "outbox"]


def test_reopened_store_sees_data(path: Path) -> None:
    with Store(path) as store:
        store.collection("people").put("a", {"v": 1})
        store.log("answers").put("2026-11", "a", {"v": 2})
    with Store(path) as store:
        assert store.collection("people").get("a") == {"v": 1}
        assert store.log("answers").get("2026-11", "a") == {"v": 2}


def test_two_handles_see_each_others_writes_and_never_share_ids(path: Path) -> None:
    # Two Store objects stand in for two processes: each caches files, indexes and TinyDB state.
    with Store(path) as one, Store(path) as two:
        one.collection("people").put("a", {"by": "one"})
        assert two.collection("people").get("a") == {"by": "one"}
        two.collection("people").put("b", {"by": "two"})
        one.collection("people").put("c", {"by": "one"})
        two.collection("people").put("a", {"by": "two"})  # update of a key the other inserted
        one.collection("people").put("b", {"by": "one"})
        one.log("answers").put("2026-11", "x", {"by": "one"})
        two.log("answers").put("2026-11", "x", {"by": "two"})
        expected = {"a": {"by": "two"}, "b": {"by": "one"}, "c": {"by": "one"}}
        assert one.collection("people").all() == expected
        assert two.collection("people").all() == expected
        assert one.log("answers").all("2026-11") == {"x": {"by": "two"}}
    records = _raw(path)["people"]
    assert sorted(record["key"] for record in records.values()) == ["a", "b", "c"]


def test_transactions_serialise_read_modify_write_across_handles(path: Path) -> None:
    def bump(store: Store) -> None:
        counter = store.collection("counter")
        for _ in range(40):
            with store.transaction():
                current = counter.get("n") or {"n": 0}
                with store.transaction():  # re-entrant
                    counter.put("n", {"n": current["n"] + 1})

    with Store(path) as one, Store(path) as two:
        threads = [threading.Thread(target=bump, args=(handle,)) for handle in (one, two, one)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert one.collection("counter").get("n") == {"n": 120}


def test_threads_share_one_store(store: Store) -> None:
    def write(prefix: str) -> None:
        for i in range(30):
            store.collection("people").put(f"{prefix}{i}", {"i": i})
            store.log("answers").put("2026-11", f"{prefix}{i}", {"i": i})

    threads = [threading.Thread(target=write, args=(prefix,)) for prefix in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.collection("people")) == 120
    assert len(store.log("answers").all("2026-11")) == 120


def test_schema_version_is_stamped_in_the_file(store: Store, path: Path) -> None:
    assert store.schema_version == SCHEMA_VERSION == migrations.SCHEMA_VERSION
    stamps = [record for record in _raw(path)["_meta"].values() if record["key"] == "schema"]
    assert stamps == [{"key": "schema", "doc": {"version": SCHEMA_VERSION}}]


def test_migration_hook_runs_once_and_bumps_the_version(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(path) as store:
        store.collection("people").put("a", {"fullname": "Alice A"})
    calls: list[int] = []

    def rename_fullname(store: Store) -> None:
        calls.append(store.schema_version)
        people = store.collection("people")
        people.put_many({key: {"name": doc.pop("fullname")} for key, doc in people.all().items()})

    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(migrations, "MIGRATIONS", {SCHEMA_VERSION: rename_fullname})
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        assert store.collection("people").get("a") == {"name": "Alice A"}
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
    assert calls == [SCHEMA_VERSION]


def test_missing_migration_step_is_an_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(path).close()
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="no migration"):
        Store(path)


def test_data_from_a_newer_schema_is_refused(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as newer:
        newer.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
        newer.setattr(migrations, "MIGRATIONS", {SCHEMA_VERSION: lambda store: None})
        Store(path).close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Store(path)


def test_a_running_store_stops_when_another_migrates_the_data(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(path) as old:
        with monkeypatch.context() as newer:
            newer.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
            newer.setattr(migrations, "MIGRATIONS", {SCHEMA_VERSION: lambda store: None})
            Store(path).close()
        with pytest.raises(StoreError, match="changed schema version"):
            old.collection("people").put("a", {})


def test_data_without_a_schema_stamp_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"people": {"1": {"key": "a", "doc": {}}}}))
    with pytest.raises(StoreError, match="no schema version"):
        Store(path)


def test_unreadable_files_raise_store_error(path: Path) -> None:
    with Store(path) as store:
        store.log("answers", shards=1).put("2026-11", "a", {})
    shard = Path(f"{path}.d/answers/2026-11/0.json")
    shard.write_text('{"_default": {"1": {"key": "a", "doc"')
    with Store(path) as store, pytest.raises(StoreError, match="not valid JSON"):
        store.log("answers", shards=1).get("2026-11", "a")
    path.write_text("[1, 2]")
    with pytest.raises(StoreError, match="not a TinyDB file"):
        Store(path)


def test_stray_temp_files_are_removed_on_open(path: Path) -> None:
    with Store(path) as store:
        store.log("answers").put("2026-11", "a", {})
    strays = [
        path.parent / f"{path.name}.0123456789abcdef.tmp",
        Path(f"{path}.d/answers/2026-11/3.json.fedcba9876543210.tmp"),
    ]
    unrelated = [path.parent / "other.json.0123456789abcdef.tmp", path.parent / f"{path.name}.notes.tmp"]
    for file in strays + unrelated:
        file.write_text('{"_default": {"1": ')
    with Store(path) as store:
        assert store.log("answers").get("2026-11", "a") == {}
    assert [file.exists() for file in strays] == [False, False]
    assert [file.exists() for file in unrelated] == [True, True]


def test_a_failed_write_keeps_the_old_data_and_leaves_no_temp_file(
    store: Store, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = store.collection("people")
    people.put("a", {"v": 1})

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "simulated disk error")

    with monkeypatch.context() as broken:
        broken.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError):
            people.put("a", {"v": 2})
        with pytest.raises(OSError):
            people.put("b", {"v": 2})
    assert people.all() == {"a": {"v": 1}}
    assert not list(path.parent.glob("*.tmp"))
    people.put("b", {"v": 3})
    assert people.all() == {"a": {"v": 1}, "b": {"v": 3}}


def test_closed_store_refuses_use(path: Path) -> None:
    store = Store(path)
    people = store.collection("people")
    with store.transaction(), pytest.raises(StoreError, match="inside its own transaction"):
        store.close()
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        people.get("a")


_keys = st.sampled_from(["a", "b", "c", "d", "2026-11:g1:e@x.org"])
_values = st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5) | st.none()  # orjson: 64-bit ints
_docs = st.dictionaries(st.text(max_size=3), _values, max_size=3)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _keys, _docs),
        st.tuples(st.just("delete"), _keys, st.none()),
        st.tuples(st.just("put_many"), st.dictionaries(_keys, _docs, max_size=3), st.none()),
        st.tuples(st.just("replace_all"), st.dictionaries(_keys, _docs, max_size=3), st.none()),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(_ops)
def test_collection_behaves_like_a_dict_and_survives_reopen(ops: list[tuple[str, Any, Any]]) -> None:
    model: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "programme.json"
        with Store(path) as store:
            table = store.collection("people")
            for op, arg, doc in ops:
                if op == "put":
                    table.put(arg, doc)
                    model[arg] = doc
                elif op == "delete":
                    assert table.delete(arg) == (model.pop(arg, None) is not None)
                elif op == "put_many":
                    table.put_many(arg)
                    model.update(arg)
                else:
                    table.replace_all(arg)
                    model = dict(arg)
                assert table.all() == model
        with Store(path) as store:
            assert store.collection("people").all() == model
            assert len(store.collection("people")) == len(model)
